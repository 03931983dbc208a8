import Backend
import Foundation
import Logging
import Proxy
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP health endpoint (`http:`): /healthz while the process serves, /readyz only when
/// every shard's primary accepts connections.
final class HealthTests: XCTestCase {
    /// `GET path` on 127.0.0.1:port: the status code and the body.
    private func get(_ path: String, port: Int) throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, String(text.split(separator: "\r\n\r\n", maxSplits: 1).last ?? ""))
    }

    private func server(shards: [String]) throws -> ProxyServer {
        let yaml = """
            listen: { host: 127.0.0.1, port: 0 }
            http: { host: 127.0.0.1, port: 0 }
            auth: trust
            backend: { connect_timeout: 2s }
            shards:
            \(shards.enumerated().map { "  - { name: s\($0.offset), primary: \"\($0.element)\" }" }.joined(separator: "\n"))
            """
        var logger = Logger(label: "pgshard.test.health")
        logger.logLevel = .critical
        let server = ProxyServer(config: try ProxyConfig.parse(yaml: yaml), logger: logger)
        try server.start()
        return server
    }

    func testHealthAndReadiness() throws {
        let cluster = try TestCluster.shared()
        let live = (0..<4).map { cluster.shards[$0].conninfo(database: TestCluster.database) }
        let up = try server(shards: live)
        defer { up.stop() }
        let port = try XCTUnwrap(up.httpPort)
        XCTAssertEqual(try get("/healthz", port: port).status, 200)
        let ready = try get("/readyz", port: port)
        XCTAssertEqual(ready.status, 200, ready.body)
        XCTAssertEqual(try get("/nope", port: port).status, 404)

        // Metrics in Prometheus' text format, counted by route.
        let client = try BlockingConnection(conninfo: "host=127.0.0.1 port=\(up.port) dbname=app user=app")
        _ = try client.query("SELECT 1")
        XCTAssertThrowsError(try client.query("SELEC"))
        let metrics = try get("/metrics", port: port)
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.body.contains("pgshard_statements_total{route=\"any\"} 1"), metrics.body)
        XCTAssertTrue(metrics.body.contains("pgshard_errors_total{class=\"42\"} 1"), metrics.body)
        XCTAssertTrue(metrics.body.contains("pgshard_statements_total{route=\"refused\"} 1"), metrics.body)
        XCTAssertTrue(metrics.body.contains("pgshard_statement_duration_seconds_count{route=\"any\"} 1"), metrics.body)
        XCTAssertTrue(metrics.body.contains("pgshard_client_connections 1.0"), metrics.body)
        XCTAssertTrue(metrics.body.contains("pgshard_statement_duration_seconds_bucket"), metrics.body)

        let dead = "host=127.0.0.1 port=\(try LocalClusterPort.unused()) dbname=app user=app"
        let down = try server(shards: [live[0], dead])
        defer { down.stop() }
        let downPort = try XCTUnwrap(down.httpPort)
        XCTAssertEqual(try get("/healthz", port: downPort).status, 200)
        let notReady = try get("/readyz", port: downPort)
        XCTAssertEqual(notReady.status, 503)
        XCTAssertEqual(notReady.body, "unreachable shards: s1\n")
    }
}
