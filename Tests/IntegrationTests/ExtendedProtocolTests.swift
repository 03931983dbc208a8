import Backend
import XCTest

/// The extended query protocol through pgshard: libpq's PQexecParams/PQprepare for the usual
/// flows, a raw client for the protocol's corners and errors.
final class ExtendedProtocolTests: XCTestCase {
    var cluster: TestCluster!
    var proxy: BlockingConnection!

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
        proxy = try cluster.proxyConnection()
    }

    private func owner(_ id: Int) -> Int { HashPlacement.shard(of: id, shardCount: cluster.shards.count) }

    /// Plants a row with key `id` on a shard that does not own it: a statement routed by the
    /// key never sees it, a scattered one would. Removed when the test ends (other tests check
    /// that every row is where it belongs).
    private func plantDecoy(_ id: Int) throws {
        let wrong = try cluster.shardConnection((owner(id) + 1) % cluster.shards.count)
        try wrong.query("INSERT INTO users (id, name) VALUES (\(id), 'decoy')")
        addTeardownBlock { _ = try? wrong.query("DELETE FROM users WHERE id = \(id) AND name = 'decoy'") }
    }

    func testKeyAsTextParameterRoutesToTheOwningShard() throws {
        try proxy.query("INSERT INTO users (id, name) VALUES ($1, $2)", parameters: [Array("905001".utf8), Array("ext-text".utf8)])
        try plantDecoy(905001)
        XCTAssertEqual(try proxy.query("SELECT name FROM users WHERE id = $1", parameters: [Array("905001".utf8)]), [["ext-text"]])
        XCTAssertEqual(try cluster.shardConnection(owner(905001)).query("SELECT name FROM users WHERE id = 905001"), [["ext-text"]])
    }

    func testKeyAsBinaryParameterRoutesToTheOwningShard() throws {
        try proxy.query("INSERT INTO users (id, name) VALUES (905002, 'ext-binary')")
        try plantDecoy(905002)
        let int8: [UInt8] = withUnsafeBytes(of: Int64(905002).bigEndian, Array.init)
        XCTAssertEqual(try proxy.query("SELECT name FROM users WHERE id = $1", parameters: [int8], types: [20], binary: true), [["ext-binary"]])
        // A binary int4 for a bigint key (declared type int4) is decoded by its own type.
        let int4: [UInt8] = withUnsafeBytes(of: Int32(905002).bigEndian, Array.init)
        XCTAssertEqual(try proxy.query("SELECT name FROM users WHERE id = $1", parameters: [int4], types: [23], binary: true), [["ext-binary"]])
        // A binary value of the wrong size is the server's error, not a crash or a guess.
        XCTAssertSQLError("08P01") { try proxy.query("SELECT name FROM users WHERE id = $1", parameters: [[1, 2, 3]], types: [20], binary: true) }
        XCTAssertEqual(try proxy.query("SELECT 1"), [["1"]])
    }

    func testNamedStatementReusedAcrossShards() throws {
        let ids = Array(905101...905112)
        for id in ids { try proxy.query("INSERT INTO users (id, name) VALUES (\(id), 'n\(id)')") }
        XCTAssertGreaterThan(Set(ids.map(owner)).count, 1)
        try proxy.prepare("by_id", "SELECT name FROM users WHERE id = $1")
        for _ in 0..<2 {
            for id in ids {
                XCTAssertEqual(try proxy.executePrepared("by_id", [String(id)]), [["n\(id)"]])
            }
        }
        // A second session preparing the same text shares the shards' statements.
        let other = try cluster.proxyConnection()
        try other.prepare("mine", "SELECT name FROM users WHERE id = $1")
        XCTAssertEqual(try other.executePrepared("mine", ["905105"]), [["n905105"]])
        XCTAssertSQLError("42P05") { try proxy.prepare("by_id", "SELECT 1") }
        XCTAssertSQLError("26000") { try proxy.executePrepared("nope", []) }
    }

    func testParameterWithoutKeyScattersAndTagsAdd() throws {
        for id in 905201...905220 { try proxy.query("INSERT INTO users (id, name, score) VALUES (\(id), 'scatter', 77)") }
        let rows = try proxy.query("SELECT id FROM users WHERE score = $1 AND name = $2", parameters: [Array("77".utf8), Array("scatter".utf8)])
        XCTAssertEqual(Set(rows.map { $0[0]! }), Set((905201...905220).map(String.init)))
    }

    func testServerErrorsAndSessionGoesOn() throws {
        XCTAssertSQLError("42703") { try proxy.query("SELECT no_such_column FROM users WHERE id = $1", parameters: [Array("1".utf8)]) }
        XCTAssertSQLError("42601") { try proxy.query("SELEC 1", parameters: []) }
        XCTAssertSQLError("23505") {
            try proxy.query("INSERT INTO users (id, name) VALUES ($1, 'dup')", parameters: [Array("905301".utf8)])
            try proxy.query("INSERT INTO users (id, name) VALUES ($1, 'dup')", parameters: [Array("905301".utf8)])
        }
        XCTAssertEqual(try proxy.query("SELECT name FROM users WHERE id = $1", parameters: [Array("905301".utf8)]), [["dup"]])
    }

    func testTransactionThroughTheExtendedProtocol() throws {
        try proxy.query("BEGIN", parameters: [])
        try proxy.query("INSERT INTO users (id, name) VALUES ($1, 'rolled back')", parameters: [Array("905401".utf8)])
        XCTAssertEqual(proxy.transactionStatus, "T")
        try proxy.query("ROLLBACK", parameters: [])
        XCTAssertEqual(proxy.transactionStatus, "I")
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM users WHERE id = 905401"), [["0"]])
    }

    // MARK: - Raw protocol

    private func rawClient() throws -> RawClient {
        let client = try RawClient(port: cluster.proxy.port)
        client.login()
        return client
    }

    private func parse(_ name: String, _ sql: String) -> [UInt8] {
        RawClient.message("P", RawClient.cString(name) + RawClient.cString(sql) + [0, 0])
    }

    private func bind(_ portal: String, _ statement: String, _ params: [String] = []) -> [UInt8] {
        var body = RawClient.cString(portal) + RawClient.cString(statement) + [0, 0]
        body += [UInt8(params.count >> 8), UInt8(params.count & 0xff)]
        for p in params { body += RawClient.int32(Int32(p.utf8.count)) + Array(p.utf8) }
        return RawClient.message("B", body + [0, 0])
    }

    private func execute(_ portal: String, rows: Int32 = 0) -> [UInt8] {
        RawClient.message("E", RawClient.cString(portal) + RawClient.int32(rows))
    }

    private let sync = RawClient.message("S", [])

    func testErrorsSkipUntilSync() throws {
        let client = try rawClient()
        client.send(bind("", "missing") + execute("") + parse("", "SELECT 1") + sync)
        let replies = client.readUntilReady()
        XCTAssertEqual(replies.map(\.type), ["E", "Z"])
        XCTAssertEqual(RawClient.fields(replies[0].body)["C"], "26000")
        client.send(execute("no portal") + sync)
        let second = client.readUntilReady()
        XCTAssertEqual(second.map(\.type), ["E", "Z"])
        XCTAssertEqual(RawClient.fields(second[0].body)["C"], "34000")
        // Parameter count the statement does not take: the shard's 08P01, then the session goes on.
        client.send(parse("", "SELECT name FROM users WHERE id = $1") + bind("", "", []) + execute("") + sync)
        let third = client.readUntilReady()
        XCTAssertEqual(third.last?.type, "Z")
        XCTAssertTrue(third.contains { $0.type == "E" && RawClient.fields($0.body)["C"] == "08P01" })
        client.send(parse("", "SELECT 42") + bind("", "") + execute("") + sync)
        XCTAssertEqual(client.readUntilReady().map(\.type), ["1", "2", "D", "C", "Z"])
    }

    func testSessionCommandsDescribedBeforeBinding() throws {
        // postgres-nio's flow: Parse, Describe(S), Bind, Execute, Sync, also for BEGIN/COMMIT.
        let client = try rawClient()
        let describe = RawClient.message("D", [UInt8(ascii: "S"), 0])
        for (sql, status) in [("BEGIN", "T"), ("SELECT 2", "T"), ("COMMIT", "I")] {
            client.send(parse("", sql) + describe + bind("", "") + execute("") + sync)
            let replies = client.readUntilReady()
            XCTAssertEqual(replies.first?.type, "1", sql)
            XCTAssertEqual(replies.last?.body, Array(status.utf8), sql)
            XCTAssertFalse(replies.contains { $0.type == "E" }, sql)
        }
    }

    func testExecuteWithRowLimitSuspendsAndContinues() throws {
        for id in 905501...905510 { try proxy.query("INSERT INTO orders (id, user_id, amount) VALUES (\(id), 905500, 1)") }
        let client = try rawClient()
        client.send(RawClient.message("Q", RawClient.cString("BEGIN")))
        _ = client.readUntilReady()
        client.send(parse("q", "SELECT id FROM orders WHERE user_id = $1 ORDER BY id") + bind("c", "q", ["905500"])
                    + execute("c", rows: 4) + RawClient.message("H", []))
        var seen: [Character] = []
        while seen.last != "s", let message = client.readMessage() { seen.append(message.type) }
        XCTAssertEqual(seen, ["1", "2", "D", "D", "D", "D", "s"])
        client.send(execute("c", rows: 4) + execute("c", rows: 4) + sync)
        let rest = client.readUntilReady().map(\.type)
        XCTAssertEqual(rest, ["D", "D", "D", "D", "s", "D", "D", "C", "Z"])
        client.send(RawClient.message("Q", RawClient.cString("COMMIT")))
        XCTAssertEqual(client.readUntilReady().last?.body, [UInt8(ascii: "I")])
    }

    func testSeveralShardPortalFetchedInParts() throws {
        let users = Array(907001...907010)
        XCTAssertGreaterThan(Set(users.map(owner)).count, 2)
        for user in users { try proxy.query("INSERT INTO orders (id, user_id, amount) VALUES (1, \(user), 907.07)") }
        let client = try rawClient()
        client.send(RawClient.message("Q", RawClient.cString("BEGIN")))
        _ = client.readUntilReady()
        client.send(parse("q", "SELECT user_id FROM orders WHERE amount = $1") + bind("c", "q", ["907.07"]) + sync)
        XCTAssertEqual(client.readUntilReady().map(\.type), ["1", "2", "Z"])
        var rows = 0
        var calls = 0
        var ended = false
        while !ended && calls < 20 {
            calls += 1
            client.send(execute("c", rows: 3) + sync)
            let replies = client.readUntilReady()
            let chunk = replies.filter { $0.type == "D" }.count
            XCTAssertLessThanOrEqual(chunk, 3)
            rows += chunk
            XCTAssertFalse(replies.contains { $0.type == "E" }, "\(replies)")
            ended = replies.contains { $0.type == "C" }
            if !ended { XCTAssertEqual(chunk, 3); XCTAssertTrue(replies.contains { $0.type == "s" }) }
        }
        XCTAssertTrue(ended)
        XCTAssertEqual(rows, users.count)
        client.send(RawClient.message("Q", RawClient.cString("COMMIT")))
        _ = client.readUntilReady()
    }

    func testFailedBatchOnOneShardRollsBackTheOthers() throws {
        // Two inserts on different shards in one batch outside a transaction; the second fails.
        let first = 905601
        var second = 905602
        while owner(second) == owner(first) { second += 1 }
        try proxy.query("INSERT INTO users (id, name) VALUES (\(second), 'exists')")
        let client = try rawClient()
        client.send(parse("", "INSERT INTO users (id, name) VALUES ($1, 'batch')") + bind("", "", [String(first)]) + execute("")
                    + bind("", "", [String(second)]) + execute("") + sync)
        let replies = client.readUntilReady()
        XCTAssertTrue(replies.contains { $0.type == "E" && RawClient.fields($0.body)["C"] == "23505" })
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM users WHERE id = \(first)"), [["0"]])
    }
}

/// A CancelRequest reaches a statement of an extended-protocol batch that touched two shards
/// (the statement described on one, run on another: pgshard holds the batch's Sync back until
/// both answered, so no shard owes a ReadyForQuery yet). asyncpg's timeout does this.
final class ExtendedCancelTests: XCTestCase {
    func testCancelReachesABatchSpanningTwoShards() throws {
        let cluster = try TestCluster.shared()
        try DifferentialData.loadOnce(into: cluster)
        let client = try RawClient(port: cluster.proxy.port)
        let answers = client.authenticate(user: "app", password: TestCluster.password)
        let key = try XCTUnwrap(answers.first { $0.type == "K" }?.body)
        func int16(_ v: Int16) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
        // A key on another shard than the first, where the Describe goes.
        let id = (0..<100).map(DifferentialData.userID).first { HashPlacement.shard(of: $0, shardCount: 4) != 0 }!
        let sql = "SELECT pg_sleep(20) FROM d_users WHERE id = \(id)"
        var batch = RawClient.message("P", RawClient.cString("") + RawClient.cString(sql) + int16(0))
        batch += RawClient.message("D", [UInt8(ascii: "S")] + RawClient.cString(""))
        batch += RawClient.message("B", RawClient.cString("") + RawClient.cString("") + int16(0) + int16(0) + int16(0))
        batch += RawClient.message("E", RawClient.cString("") + RawClient.int32(0))
        batch += RawClient.message("S", [])
        client.send(batch)
        Thread.sleep(forTimeInterval: 0.5)
        let cancel = try RawClient(port: cluster.proxy.port)
        cancel.send(RawClient.int32(16) + RawClient.int32(80877102) + key)
        let reply = client.readUntilReady()
        let error = try XCTUnwrap(reply.first { $0.type == "E" }, "\(reply.map(\.type))")
        XCTAssertEqual(RawClient.fields(error.body)["C"], "57014")
    }
}
