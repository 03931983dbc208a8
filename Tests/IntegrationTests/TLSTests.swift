import Backend
import Foundation
import Logging
import Proxy
import XCTest

/// TLS between clients and pgshard: libpq with sslmode=require, psql, require_tls, large
/// results and statements through TLS, and clients that misbehave around the handshake.
final class TLSTests: XCTestCase {
    var cluster: TestCluster!
    var certificate: TestCertificate!

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
        certificate = try TestCertificate.make()
    }

    override func tearDown() {
        certificate?.remove()
    }

    func withTLSProxy(requireTLS: Bool, _ body: (ProxyServer) throws -> Void) throws {
        let extra = "tls: { cert: \(certificate.certificatePath), key: \(certificate.keyPath) }\nrequire_tls: \(requireTLS)"
        let config = try ProxyConfig.parse(yaml: TestCluster.yaml(shards: cluster.shards, port: 0, extra: extra))
        var logger = Logger(label: "pgshard.test.tls")
        logger.logLevel = .critical
        let server = ProxyServer(config: config, logger: logger)
        try server.start()
        defer { server.stop() }
        try body(server)
    }

    func conninfo(_ port: Int, sslmode: String) -> String {
        "host=127.0.0.1 port=\(port) dbname=\(TestCluster.database) user=app password=\(TestCluster.password) sslmode=\(sslmode)"
    }

    func testLibpqUsesTLSWhenAsked() throws {
        try withTLSProxy(requireTLS: false) { server in
            let tls = LibpqProbe(conninfo(server.port, sslmode: "require"))
            XCTAssertTrue(tls.connected, tls.error)
            XCTAssertTrue(tls.sslInUse)
            XCTAssertTrue(["TLSv1.2", "TLSv1.3"].contains(tls.sslProtocol ?? ""), "\(tls.sslProtocol ?? "none")")
            // The certificate is self-signed for localhost: verify-ca with it as the root works.
            let verified = LibpqProbe(conninfo(server.port, sslmode: "verify-full") + " sslrootcert=\(certificate.certificatePath) host=localhost hostaddr=127.0.0.1")
            XCTAssertTrue(verified.connected, verified.error)
            XCTAssertTrue(verified.sslInUse)
            // Without require_tls a plain client is still welcome.
            let plain = LibpqProbe(conninfo(server.port, sslmode: "disable"))
            XCTAssertTrue(plain.connected, plain.error)
            XCTAssertFalse(plain.sslInUse)
        }
    }

    func testQueriesThroughTLSIncludingLargeResultsAndStatements() throws {
        try withTLSProxy(requireTLS: true) { server in
            let connection = try BlockingConnection(conninfo: conninfo(server.port, sslmode: "require"))
            // Many TLS records out: 40,000 rows (about 1 MB).
            let rows = try connection.query("SELECT i, repeat('x', 20) FROM generate_series(1, 40000) AS i")
            XCTAssertEqual(rows.count, 40000)
            XCTAssertEqual(rows.last?.first, "40000")
            // Many TLS records in: a 300 kB statement.
            let long = String(repeating: "y", count: 300_000)
            XCTAssertEqual(try connection.query("SELECT length('\(long)')"), [["300000"]])
            // Routed statements and transactions behave as in plain text.
            try connection.query("BEGIN")
            try connection.query("INSERT INTO users (id, name) VALUES (7001, 'over tls')")
            XCTAssertEqual(try connection.query("SELECT name FROM users WHERE id = 7001"), [["over tls"]])
            try connection.query("ROLLBACK")
            // Several clients at once, each with its own session.
            let failures = Failures()
            let target = conninfo(server.port, sslmode: "require")
            DispatchQueue.concurrentPerform(iterations: 8) { i in
                do {
                    let c = try BlockingConnection(conninfo: target)
                    let result = try c.query("SELECT \(i), repeat('z', 100000)")
                    if result.first?.first != "\(i)" { failures.add("client \(i): \(String(describing: result.first?.first))") }
                } catch {
                    failures.add("client \(i): \(error)")
                }
            }
            XCTAssertEqual(failures.all, [])
        }
    }

    func testRequireTLSRefusesPlainClients() throws {
        try withTLSProxy(requireTLS: true) { server in
            let plain = LibpqProbe(conninfo(server.port, sslmode: "disable"))
            XCTAssertFalse(plain.connected)
            XCTAssertTrue(plain.error.contains("no encryption"), plain.error)
            let raw = try RawClient(port: server.port)
            raw.send(RawClient.startup(user: "app", database: TestCluster.database))
            let error = try XCTUnwrap(raw.readMessage())
            XCTAssertEqual(error.type, "E")
            XCTAssertEqual(RawClient.fields(error.body)["C"], "28000")
            XCTAssertTrue(raw.isClosedByServer())
            // sslmode=prefer (libpq's default) tries TLS first, and gets it.
            let prefer = LibpqProbe(conninfo(server.port, sslmode: "prefer"))
            XCTAssertTrue(prefer.connected, prefer.error)
            XCTAssertTrue(prefer.sslInUse)
        }
    }

    func testPsqlReportsTheTLSConnection() throws {
        try withTLSProxy(requireTLS: true) { server in
            let result = try runPsql(port: server.port, password: TestCluster.password, arguments: ["-c", "\\conninfo"], sslmode: "require")
            XCTAssertEqual(result.status, 0, result.err)
            XCTAssertTrue(result.out.contains("SSL connection (protocol: TLSv1."), result.out)
            let refused = try runPsql(port: server.port, password: TestCluster.password, arguments: ["-c", "SELECT 1"], sslmode: "disable")
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.err.contains("no encryption"), refused.err)
        }
    }

    func testMisbehavingClientsAroundTheHandshake() throws {
        try withTLSProxy(requireTLS: false) { server in
            // Plain bytes after 'S': the handshake fails and the connection closes.
            let plain = try RawClient(port: server.port)
            plain.send(RawClient.int32(8) + RawClient.int32(80877103))
            XCTAssertEqual(plain.read(1), [UInt8(ascii: "S")])
            plain.send(RawClient.startup(user: "app", database: TestCluster.database))
            XCTAssertTrue(plain.isClosedByServer())
            // A startup packet sent along with SSLRequest, before the answer (CVE-2021-23214).
            let pipelined = try RawClient(port: server.port)
            pipelined.send(RawClient.int32(8) + RawClient.int32(80877103) + RawClient.startup(user: "app", database: TestCluster.database))
            let error = try XCTUnwrap(pipelined.readMessage())
            XCTAssertEqual(RawClient.fields(error.body)["C"], "08P01")
            XCTAssertEqual(RawClient.fields(error.body)["M"], "received unencrypted data after SSL request")
            // A client that vanishes mid-handshake.
            let vanishing = try RawClient(port: server.port)
            vanishing.send(RawClient.int32(8) + RawClient.int32(80877103))
            XCTAssertEqual(vanishing.read(1), [UInt8(ascii: "S")])
            vanishing.send([0x16, 0x03, 0x01, 0x00, 0x40, 0x01])
            // GSSENCRequest is still declined.
            let gss = try RawClient(port: server.port)
            gss.send(RawClient.int32(8) + RawClient.int32(80877104))
            XCTAssertEqual(gss.read(1), [UInt8(ascii: "N")])
            // The proxy still serves TLS clients.
            let probe = LibpqProbe(conninfo(server.port, sslmode: "require"))
            XCTAssertTrue(probe.connected && probe.sslInUse, probe.error)
        }
    }
}

/// Failures collected from several threads.
private final class Failures: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
