import Backend
import Logging
import Proxy
import XCTest

/// What the merge does besides answering like one server (DifferentialTests): its memory bound,
/// its place in transactions and in the extended protocol.
final class CrossShardMergeTests: XCTestCase {
    var cluster: TestCluster!
    var proxy: BlockingConnection!

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
        try DifferentialData.loadOnce(into: cluster)
        proxy = try cluster.proxyConnection()
    }

    func testGroupsBeyondMaxMemoryFailWith53200AndTheSessionGoesOn() throws {
        let server = try cluster.startProxy(extra: "merge: { max_memory: 64kB }")
        defer { server.stop() }
        let client = try TestCluster.proxyConnection(port: server.port)
        let error = XCTAssertSQLError("53200") { try client.query("SELECT id, count(*) FROM d_users GROUP BY id") }
        XCTAssertNotNil(error?.hint)
        XCTAssertSQLError("53200") { try client.query("SELECT DISTINCT id, name FROM d_users") }
        // Few groups fit.
        let cities = try client.query("SELECT city, count(*) FROM d_users GROUP BY city ORDER BY city NULLS FIRST")
        XCTAssertEqual(cities, try cluster.referenceConnection().query("SELECT city, count(*) FROM d_users GROUP BY city ORDER BY city NULLS FIRST"))
    }

    func testAMergeFailureAbortsTheTransactionLikeAnyError() throws {
        try proxy.query("BEGIN")
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM d_users"), [["20000"]])
        XCTAssertSQLError("22012") { try proxy.query("SELECT id FROM d_users ORDER BY 1 / (id - id) LIMIT 1") }
        XCTAssertSQLError("25P02") { try proxy.query("SELECT count(*) FROM d_users") }
        try proxy.query("ROLLBACK")
        XCTAssertEqual(try proxy.query("SELECT 1"), [["1"]])
    }

    func testLimitStopsTheMergeEarlyAndLeavesTheConnectionsClean() throws {
        let top = try proxy.query("SELECT id, name FROM d_users ORDER BY id DESC LIMIT 3")
        XCTAssertEqual(top, try cluster.referenceConnection().query("SELECT id, name FROM d_users ORDER BY id DESC LIMIT 3"))
        // Every shard's answer was read to its end: the next statements see nothing left over.
        XCTAssertEqual(try proxy.query("SELECT count(*), sum(score) FROM d_users"),
                       try cluster.referenceConnection().query("SELECT count(*), sum(score) FROM d_users"))
        XCTAssertEqual(try proxy.query("SELECT id FROM d_users ORDER BY id LIMIT 0"), [])
        XCTAssertEqual(try proxy.query("SELECT id FROM d_users ORDER BY id OFFSET 1000000"), [])
    }

    /// Once the LIMIT is met, a shard still working is cancelled (outside a transaction): its
    /// statement ends in a rollback, which the shard counts; the client sees only the rows.
    func testLimitCancelsTheShardsStillRunning() throws {
        let slow = cluster.shards[3]
        let rollbacks = { () throws -> Int in
            Int(try self.cluster.shardConnection(3).query("SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()")[0][0]!)!
        }
        let before = try rollbacks()
        let rows = try proxy.query("SELECT id FROM d_users WHERE CASE WHEN inet_server_port() = \(slow.port) THEN pg_sleep(20) IS NOT NULL ELSE true END LIMIT 2")
        XCTAssertEqual(rows.count, 2)
        // Statistics reach pg_stat_database within about ten seconds of the transaction end.
        var after = try rollbacks()
        for _ in 0..<150 where after == before {
            Thread.sleep(forTimeInterval: 0.1)
            after = try rollbacks()
        }
        XCTAssertGreaterThan(after, before, "the slow shard's statement was not cancelled")
        XCTAssertEqual(try proxy.query("SELECT 1"), [["1"]])
    }

    /// A merged portal read in parts (Execute with a row limit, as JDBC's setFetchSize does):
    /// PortalSuspended after each part, the rows in order, CommandComplete with the last part.
    func testAMergedPortalReadsInParts() throws {
        let client = try RawClient(port: cluster.proxy.port)
        client.login()
        func int16(_ v: Int16) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
        let sql = "SELECT id FROM d_users WHERE id > $1 ORDER BY id DESC LIMIT 25"
        var batch = RawClient.message("P", RawClient.cString("") + RawClient.cString(sql) + int16(0))
        batch += RawClient.message("B", RawClient.cString("") + RawClient.cString("") + int16(0) + int16(1)
                                   + RawClient.int32(4) + Array("-900".utf8) + int16(0))
        batch += RawClient.message("D", [UInt8(ascii: "P")] + RawClient.cString(""))
        for _ in 0..<4 { batch += RawClient.message("E", RawClient.cString("") + RawClient.int32(10)) }
        batch += RawClient.message("S", [])
        client.send(batch)
        let answers = client.readUntilReady()
        XCTAssertEqual(answers.map(\.type).filter { $0 != "D" }, ["1", "2", "T", "s", "s", "C", "C", "Z"], "\(answers.map(\.type))")
        let tags = answers.filter { $0.type == "C" }.map { String(decoding: $0.body.dropLast(), as: UTF8.self) }
        XCTAssertEqual(tags, ["SELECT 5", "SELECT 0"])
        let ids = answers.filter { $0.type == "D" }.map { row -> String in
            let length = Int(Int32(bitPattern: UInt32(row.body[2]) << 24 | UInt32(row.body[3]) << 16 | UInt32(row.body[4]) << 8 | UInt32(row.body[5])))
            return String(decoding: row.body[6..<6 + length], as: UTF8.self)
        }
        let expected = try cluster.referenceConnection().query("SELECT id FROM d_users WHERE id > -900 ORDER BY id DESC LIMIT 25").map { $0[0]! }
        XCTAssertEqual(ids, expected)
    }

    /// The extended protocol (parameters, prepared statements) merges like the simple one.
    func testTheExtendedProtocolMerges() throws {
        let reference = try cluster.referenceConnection()
        let ordered = "SELECT id, name FROM d_users WHERE score > $1 ORDER BY score DESC, id LIMIT $2 OFFSET $3"
        let values: [[UInt8]?] = [Array("500".utf8), Array("7".utf8), Array("3".utf8)]
        XCTAssertEqual(try proxy.query(ordered, parameters: values), try reference.query(ordered, parameters: values))
        let grouped = "SELECT city, count(*), avg(score), round(sum(balance) / count(*), 2) FROM d_users WHERE score > $1 GROUP BY city HAVING count(*) > 1 ORDER BY city NULLS FIRST"
        XCTAssertEqual(try proxy.query(grouped, parameters: [Array("100".utf8)]), try reference.query(grouped, parameters: [Array("100".utf8)]))
        // A prepared statement, run with different limits.
        try proxy.prepare("top", "SELECT id FROM d_users ORDER BY id DESC LIMIT $1")
        try reference.prepare("top", "SELECT id FROM d_users ORDER BY id DESC LIMIT $1")
        for limit in ["1", "5", "0"] {
            XCTAssertEqual(try proxy.executePrepared("top", [limit]), try reference.executePrepared("top", [limit]))
        }
        XCTAssertEqual(try proxy.executePrepared("top", [nil]).count, 20000, "LIMIT NULL is no limit")
        // Refused before any row, and the session goes on.
        XCTAssertSQLError("0A000") { _ = try proxy.query("SELECT city, count(*) FROM d_users GROUP BY city HAVING count(*) > $1", parameters: [Array("1".utf8)]) }
        // Routed to one shard by its key, ORDER BY and LIMIT are the shard's own.
        XCTAssertEqual(try proxy.query("SELECT id FROM d_users WHERE id = $1 ORDER BY id LIMIT 2", parameters: [Array(String(DifferentialData.userID(0)).utf8)]).count, 1)
    }
}
