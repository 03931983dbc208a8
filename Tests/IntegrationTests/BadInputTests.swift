import Backend
import Foundation
import Logging
import Proxy
import XCTest

/// Bad input costs its sender an error and nothing else: no crash, no other session touched.
final class BadInputTests: XCTestCase {
    var cluster: TestCluster!
    /// A session that must keep working through every test.
    var bystander: BlockingConnection!

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
        bystander = try cluster.proxyConnection()
        try bystander.query("BEGIN")
        try bystander.query("INSERT INTO users (id, name) VALUES (3001, 'bystander')")
    }

    override func tearDownWithError() throws {
        // The other session is untouched, its transaction still open.
        XCTAssertEqual(bystander.transactionStatus, "T")
        XCTAssertEqual(try bystander.query("SELECT name FROM users WHERE id = 3001"), [["bystander"]])
        try bystander.query("ROLLBACK")
    }

    private func expectProtocolViolation(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let client = try RawClient(port: cluster.proxy.port)
        client.login(file: file, line: line)
        client.send(bytes)
        let reply = client.readMessage()
        XCTAssertEqual(reply?.type, "E", file: file, line: line)
        XCTAssertEqual(reply.map { RawClient.fields($0.body)["C"] }, "08P01", file: file, line: line)
        XCTAssertTrue(client.isClosedByServer(), file: file, line: line)
    }

    func testMalformedMessagesGetProtocolViolation() throws {
        // Length below 4.
        try expectProtocolViolation([UInt8(ascii: "Q")] + RawClient.int32(2))
        // Unknown message type.
        try expectProtocolViolation(RawClient.message("z", [1, 2, 3]))
        // A Query whose body is not a NUL-terminated string.
        try expectProtocolViolation(RawClient.message("Q", Array("SELECT 1".utf8)))
        // A Terminate with a body.
        try expectProtocolViolation(RawClient.message("X", [1]))
    }

    func testOversizedMessageIsRefusedBeforeItsBodyArrives() throws {
        // Only the header is sent: the refusal must not wait for 100 MB.
        try expectProtocolViolation([UInt8(ascii: "Q")] + RawClient.int32(100 << 20))
    }

    func testTruncatedMessageAndAbruptCloseCostNothing() throws {
        for _ in 0..<5 {
            let client = try RawClient(port: cluster.proxy.port)
            client.login()
            client.send(RawClient.message("Q", RawClient.cString("SELECT 1")).dropLast(3).map { $0 })
        }
        let client = try RawClient(port: cluster.proxy.port)
        client.send(Array(RawClient.startup(user: "app", database: "app").prefix(7)))
    }

    func testBadStartupPacketsAreRefused() throws {
        let v2 = try RawClient(port: cluster.proxy.port)
        v2.send(RawClient.int32(8) + RawClient.int32(0x0002_0000))
        XCTAssertEqual(v2.readMessage()?.type, "E")
        XCTAssertTrue(v2.isClosedByServer())

        let ssl = try RawClient(port: cluster.proxy.port)
        ssl.send(RawClient.int32(8) + RawClient.int32(80877103))
        XCTAssertEqual(ssl.read(1), [UInt8(ascii: "N")])
        ssl.login()
    }

    func testGarbageSQLGetsSyntaxErrorWithPositionAndTheSessionGoesOn() throws {
        let client = try RawClient(port: cluster.proxy.port)
        client.login()
        client.send(RawClient.message("Q", RawClient.cString("SELECT 1 FROM WHERE ))) garbage")))
        let messages = client.readUntilReady()
        let error = messages.first { $0.type == "E" }.map { RawClient.fields($0.body) }
        XCTAssertEqual(error?["C"], "42601")
        XCTAssertEqual(error?["P"], "15")
        XCTAssertEqual(messages.last?.type, "Z")
        client.send(RawClient.message("Q", RawClient.cString("SELECT 42")))
        XCTAssertTrue(client.readUntilReady().contains { $0.type == "D" })
        // Bytes that are not UTF-8: 22021, and the session goes on.
        client.send(RawClient.message("Q", Array("SELECT '".utf8) + [0xff, 0xfe] + Array("'".utf8) + [0]))
        let invalid = client.readUntilReady()
        XCTAssertEqual(invalid.first { $0.type == "E" }.map { RawClient.fields($0.body)["C"] }, "22021")
        XCTAssertEqual(invalid.last?.type, "Z")
    }

    func testStatementsThatWouldOverflowTheParserStackAreRefusedNotFatal() throws {
        let proxy = try cluster.proxyConnection()
        // DESIGN §4: about 140 KB of `1+1+…` overflows an 8 MB stack inside libpg_query.
        let deep = "SELECT " + Array(repeating: "1", count: 70_000).joined(separator: "+")
        // Either PostgreSQL answers or the statement is refused as too complex; never a crash.
        let deepOutcome = Result { try proxy.query(deep) }
        if case .failure(let error) = deepOutcome {
            XCTAssertEqual((error as? BlockingQueryError)?.sqlState, "54001", "\(error)")
        } else {
            XCTAssertEqual(try deepOutcome.get(), [["70000"]])
        }
        // PostgreSQL's own parser answers this one with "memory exhausted" (42601), as the server does.
        let parentheses = "SELECT " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        let nested = Result { try proxy.query(parentheses) }
        guard case .failure(let nestedError) = nested else { return XCTFail("100,000 parentheses were accepted") }
        XCTAssertTrue(["42601", "54001"].contains((nestedError as? BlockingQueryError)?.sqlState ?? ""), "\(nestedError)")
        let huge = "SELECT " + Array(repeating: "1", count: 1_000_000).joined(separator: "+")
        XCTAssertSQLError("54001") { try proxy.query(huge) }
        XCTAssertEqual(try proxy.query("SELECT 2"), [["2"]])
    }

    func testAShardThatIsDownGivesAClearErrorNamingIt() throws {
        let dead = try LocalClusterPort.unused()
        var shards = cluster.shards.map { $0.conninfo(database: TestCluster.database) }
        shards[1] = "host=127.0.0.1 port=\(dead) dbname=app user=postgres"
        let yaml = """
            listen: { host: 127.0.0.1, port: 0 }
            auth: trust
            backend: { connect_timeout: 3s }
            shards:
            \(shards.enumerated().map { "  - { name: s\($0.offset), primary: \"\($0.element)\" }" }.joined(separator: "\n"))
            tables:
              users: { key: id, type: bigint }
            """
        var logger = Logger(label: "pgshard.test.down")
        logger.logLevel = .critical
        let server = ProxyServer(config: try ProxyConfig.parse(yaml: yaml), logger: logger)
        try server.start()
        defer { server.stop() }
        let proxy = try BlockingConnection(conninfo: "host=127.0.0.1 port=\(server.port) dbname=app user=app")
        // Find a key that lives on shard s1 and one that does not.
        let keys = (1...100).map { ($0, HashPlacement.shard(of: $0, shardCount: 4)) }
        let onDead = keys.first { $0.1 == 1 }!.0
        let onLive = keys.first { $0.1 == 0 }!.0
        let error = XCTAssertSQLError("08001") { try proxy.query("SELECT * FROM users WHERE id = \(onDead)") }
        XCTAssertTrue(error?.message.contains("\"s1\"") == true, "\(String(describing: error))")
        XCTAssertEqual(try proxy.query("SELECT id FROM users WHERE id = \(onLive) AND false"), [])
        XCTAssertSQLError("08001") { try proxy.query("SELECT * FROM users") }
    }

    func testClientThatStopsReadingHoldsTheShardBack() throws {
        // About 40 MB of rows; the client reads nothing for a while. pgshard must stop reading
        // the shard (which then waits to write: ClientWrite) instead of buffering the result.
        let client = try RawClient(port: cluster.proxy.port)
        client.login()
        client.send(RawClient.message("Q", RawClient.cString(
            "SELECT repeat('x', 200) AS backpressure_probe FROM generate_series(1, 200000)")))
        var waiting = false
        for _ in 0..<50 where !waiting {
            Thread.sleep(forTimeInterval: 0.1)
            for shard in 0..<cluster.shards.count {
                let rows = try cluster.shardConnection(shard).query(
                    "SELECT wait_event FROM pg_stat_activity WHERE query LIKE '%backpressure_probe%' AND pid <> pg_backend_pid()")
                if rows.contains(where: { $0[0] == "ClientWrite" }) { waiting = true }
            }
        }
        XCTAssertTrue(waiting, "the shard never waited for pgshard to read")
        // Reading on gets every row.
        var rows = 0
        while let message = client.readMessage(), message.type != "Z" {
            if message.type == "D" { rows += 1 }
        }
        XCTAssertEqual(rows, 200_000)
    }
}
