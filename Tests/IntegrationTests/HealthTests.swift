import Backend
import Foundation
import LocalCluster
import Logging
import Proxy
import XCTest

/// The HTTP health endpoint (`http:`): /healthz while the process serves, /readyz only when
/// every shard's primary accepts connections.
final class HealthTests: XCTestCase {
    /// `GET path` on 127.0.0.1:port: the status code and the body.
    private func get(_ path: String, port: Int) throws -> (status: Int, body: String) {
        try XCTUnwrap(HTTPProbe.get(host: "127.0.0.1", port: port, path: path), "no answer from port \(port)")
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

/// `/metrics` after a pgbench run: the counters the operations alerts use move.
final class MetricsAfterPgbenchTests: XCTestCase {
    func testPgbenchMovesTheCounters() throws {
        let cluster = try TestCluster.shared()
        let server = try cluster.startProxy(extra: "http: { host: 127.0.0.1, port: 0 }")
        defer { server.stop() }
        let httpPort = try XCTUnwrap(server.httpPort)

        let script = NSTemporaryDirectory() + "pgshard-metrics-\(getpid()).sql"
        try "\\set id random(1, 5000)\nSELECT name FROM users WHERE id = :id;\n".write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let pgbench = Process()
        pgbench.executableURL = URL(fileURLWithPath: try PostgresBinaries.locate().directory + "/pgbench")
        pgbench.arguments = ["-n", "-c", "2", "-t", "25", "-M", "extended", "-f", script,
                             "-h", "127.0.0.1", "-p", String(server.port), "-U", "app", TestCluster.database]
        pgbench.environment = ["PGPASSWORD": TestCluster.password, "PATH": "/usr/bin:/bin"]
        pgbench.standardOutput = FileHandle.nullDevice
        pgbench.standardError = FileHandle.nullDevice
        try pgbench.run()
        pgbench.waitUntilExit()
        XCTAssertEqual(pgbench.terminationStatus, 0)

        let client = try TestCluster.proxyConnection(port: server.port)
        _ = try client.query("SELECT count(*) FROM users")
        _ = try client.query("SELECT name FROM users WHERE id = 1")
        try client.query("ANALYZE users")
        server.refreshRowEstimates()

        let body = try XCTUnwrap(HTTPProbe.get(host: "127.0.0.1", port: httpPort, path: "/metrics")).body
        func value(_ series: String) -> Double? {
            body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        XCTAssertGreaterThanOrEqual(value("pgshard_statements_total{route=\"single\"}") ?? 0, 50, body)
        let perShard = (0..<4).map { value("pgshard_shard_statements_total{shard=\"s\($0)\"}") ?? 0 }
        XCTAssertGreaterThanOrEqual(perShard.reduce(0, +), 50, body)
        XCTAssertTrue(perShard.allSatisfy { $0 > 0 }, "every shard answered some statement: \(perShard)")
        XCTAssertGreaterThan((0..<4).map { value("pgshard_shard_rows_total{shard=\"s\($0)\"}") ?? 0 }.reduce(0, +), 0, body)
        XCTAssertNotNil(value("pgshard_shard_statement_duration_seconds_count{shard=\"s\(HashPlacement.shard(of: 1, shardCount: 4))\"}"), body)
        let ratio = try XCTUnwrap(value("pgshard_cross_shard_ratio"), body)
        XCTAssertTrue(ratio > 0 && ratio < 0.1, "one cross-shard statement among 50 and more: \(ratio)")
        XCTAssertTrue((0..<4).allSatisfy { value("pgshard_shard_table_rows{shard=\"s\($0)\",table=\"users\"}") != nil }, body)
    }
}
