import Backend
import Foundation
import Logging
import PGWire
import Proxy
import XCTest

/// Client authentication through real libpq and raw sockets: SCRAM-SHA-256 (the default), md5
/// and cleartext configurations, stored verifiers, and failures that all read the same.
final class AuthenticationTests: XCTestCase {
    var cluster: TestCluster!

    /// From a live PostgreSQL 15.18 for the password `pencil-42` (see SCRAMVerifierTests).
    static let goldenVerifier = "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==$EITeZ0VJWhv6JZt2//doyHx+42MWcQ59HgeQ2j0Hv7c=:KIxq2U7NH6FRFZkauJY6gRHWk7pf1Q2CuuBYKWATeGs="

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
    }

    /// A second proxy in front of the same shards with its own authentication settings.
    func withProxy(users: String, extra: String = "", _ body: (ProxyServer) throws -> Void) throws {
        let config = try ProxyConfig.parse(yaml: TestCluster.yaml(shards: cluster.shards, port: 0, users: users, extra: extra))
        var logger = Logger(label: "pgshard.test.auth")
        logger.logLevel = .critical
        let server = ProxyServer(config: config, logger: logger, serverParameters: [("server_version", "15.0")])
        try server.start()
        defer { server.stop() }
        try body(server)
    }

    func conninfo(_ port: Int, user: String, password: String, extra: String = "") -> String {
        "host=127.0.0.1 port=\(port) dbname=\(TestCluster.database) user=\(user) password=\(password) \(extra)"
    }

    /// The first authentication request a raw client gets: 10 SASL, 5 MD5, 3 cleartext.
    func firstRequest(_ port: Int, user: String = "app") throws -> Int32? {
        let client = try RawClient(port: port)
        client.send(RawClient.startup(user: user, database: TestCluster.database))
        guard let message = client.readMessage(), message.type == "R" else { return nil }
        return RawClient.authenticationCode(message.body)
    }

    func testSCRAMIsTheDefault() throws {
        XCTAssertEqual(try firstRequest(cluster.proxy.port), 10)
        let client = try RawClient(port: cluster.proxy.port)
        client.send(RawClient.startup(user: "app", database: TestCluster.database))
        let request = try XCTUnwrap(client.readMessage())
        XCTAssertEqual(Array(request.body.dropFirst(4)), RawClient.cString("SCRAM-SHA-256") + [0], "only SCRAM-SHA-256, no -PLUS")
        XCTAssertEqual(try cluster.proxyConnection().query("SELECT 1"), [["1"]])
        let raw = try RawClient(port: cluster.proxy.port)
        let messages = raw.authenticate(user: "app", password: TestCluster.password)
        XCTAssertEqual(messages.map(\.type).prefix(4), ["R", "R", "R", "R"], "SASL, SASLContinue, SASLFinal, Ok")
        XCTAssertEqual(messages.last?.type, "Z")
    }

    func testLibpqLogsInWithEachMethod() throws {
        let users = """
              - { name: app, password: \(TestCluster.password) }
              - { name: stored, password: "\(Self.goldenVerifier)" }
              - { name: hashed, password: \(MD5Password.storedHash(password: "pencil-42", user: "hashed")) }
            """
        for (method, code) in [("md5", Int32(5)), ("password", 3)] {
            try withProxy(users: users, extra: "auth: \(method)") { server in
                XCTAssertEqual(try firstRequest(server.port), code, method)
                let app = try BlockingConnection(conninfo: conninfo(server.port, user: "app", password: TestCluster.password))
                XCTAssertEqual(try app.query("SELECT current_user IS NOT NULL"), [["t"]], method)
                // A verifier made by PostgreSQL: SCRAM under md5 (as PostgreSQL does), checked
                // against the cleartext under password.
                XCTAssertEqual(try firstRequest(server.port, user: "stored"), method == "md5" ? 10 : 3)
                _ = try BlockingConnection(conninfo: conninfo(server.port, user: "stored", password: "pencil-42"))
                _ = try BlockingConnection(conninfo: conninfo(server.port, user: "hashed", password: "pencil-42"))
                XCTAssertThrowsError(try BlockingConnection(conninfo: conninfo(server.port, user: "stored", password: "pencil-43")), method)
            }
        }
        try withProxy(users: users.split(separator: "\n").prefix(2).joined(separator: "\n")) { server in
            XCTAssertEqual(try firstRequest(server.port), 10)
            _ = try BlockingConnection(conninfo: conninfo(server.port, user: "stored", password: "pencil-42"))
            XCTAssertThrowsError(try BlockingConnection(conninfo: conninfo(server.port, user: "stored", password: "pencil-43")))
        }
    }

    /// psql, unchanged: a password from PGPASSWORD over SCRAM.
    func testPsqlLogsInWithSCRAM() throws {
        let result = try runPsql(port: cluster.proxy.port, password: TestCluster.password, arguments: ["-A", "-t", "-c", "SELECT 40 + 2"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(result.out.trimmingCharacters(in: .whitespacesAndNewlines), "42")
        let wrong = try runPsql(port: cluster.proxy.port, password: "wrong", arguments: ["-c", "SELECT 1"])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.err.contains("password authentication failed for user \"app\""), wrong.err)
    }

    /// A wrong password and an unknown user: 28P01 with the same text (but the name), under
    /// every method, through libpq and raw sockets.
    func testWrongPasswordAndUnknownUserAreIndistinguishable() throws {
        let users = "  - { name: app, password: \(TestCluster.password) }\n  - { name: other, password: other-secret }"
        for method in ["scram-sha-256", "md5", "password"] {
            try withProxy(users: users, extra: "auth: \(method)") { server in
                let wrong = LibpqProbe(conninfo(server.port, user: "app", password: "wrong"))
                let unknown = LibpqProbe(conninfo(server.port, user: "nobody", password: "wrong"))
                XCTAssertFalse(wrong.connected)
                XCTAssertFalse(unknown.connected)
                XCTAssertTrue(wrong.error.contains("password authentication failed for user \"app\""), wrong.error)
                XCTAssertEqual(wrong.error.replacingOccurrences(of: "\"app\"", with: "\"nobody\""), unknown.error, method)

                let rawWrong = try RawClient(port: server.port).authenticate(user: "app", password: "wrong")
                let rawUnknown = try RawClient(port: server.port).authenticate(user: "nobody", password: "wrong")
                // The same message types and sizes up to the error.
                XCTAssertEqual(rawWrong.map(\.type), rawUnknown.map(\.type), method)
                XCTAssertEqual(rawWrong.dropLast().map(\.body.count), rawUnknown.dropLast().map(\.body.count), method)
                let e1 = try XCTUnwrap(rawWrong.last.map { RawClient.fields($0.body) })
                let e2 = try XCTUnwrap(rawUnknown.last.map { RawClient.fields($0.body) })
                XCTAssertEqual(e1["C"], "28P01")
                XCTAssertEqual(e2["C"], "28P01")
                XCTAssertEqual(e1["S"], "FATAL")
                XCTAssertEqual(e1["M"], "password authentication failed for user \"app\"")
                XCTAssertEqual(e2["M"], "password authentication failed for user \"nobody\"")
                XCTAssertEqual(e1.count, e2.count)
            }
        }
    }

    func testMalformedSASLMessagesGetProtocolViolation() throws {
        let client = try RawClient(port: cluster.proxy.port)
        client.send(RawClient.startup(user: "app", database: TestCluster.database))
        XCTAssertEqual(client.readMessage()?.type, "R")
        let first = Array("p=tls-server-end-point,,n=,r=abcdef".utf8)
        client.send(RawClient.message("p", RawClient.cString("SCRAM-SHA-256") + RawClient.int32(Int32(first.count)) + first))
        let error = try XCTUnwrap(client.readMessage())
        XCTAssertEqual(error.type, "E")
        XCTAssertEqual(RawClient.fields(error.body)["C"], "08P01")
        XCTAssertEqual(RawClient.fields(error.body)["M"], "channel binding is not supported by pgshard")
        XCTAssertTrue(client.isClosedByServer())

        let garbage = try RawClient(port: cluster.proxy.port)
        garbage.send(RawClient.startup(user: "app", database: TestCluster.database))
        _ = garbage.readMessage()
        garbage.send(RawClient.message("p", [0xFF, 0xFF, 0xFF]))
        let reply = try XCTUnwrap(garbage.readMessage())
        XCTAssertEqual(RawClient.fields(reply.body)["C"], "08P01")
        XCTAssertTrue(garbage.isClosedByServer())
    }
}

/// Runs psql against pgshard as `app` with `password` (from PGPASSWORD).
func runPsql(port: Int, password: String, arguments: [String], sslmode: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let candidates = ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"]
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw XCTSkip("psql is not installed")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = ["-X", "-h", "127.0.0.1", "-p", String(port), "-U", "app", "-d", TestCluster.database] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["PGPASSWORD"] = password
    environment["PGCONNECT_TIMEOUT"] = "10"
    if let sslmode { environment["PGSSLMODE"] = sslmode }
    process.environment = environment
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}
