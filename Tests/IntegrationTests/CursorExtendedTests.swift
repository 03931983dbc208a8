import Backend
import XCTest

/// SQL cursors through the extended protocol (psycopg's server-side cursor: DECLARE with
/// bound parameters, Describe of the cursor's portal, FETCH), and WITH HOLD cursors under
/// both pool modes.
final class CursorExtendedTests: CursorTestCase {
    /// psycopg 3's named cursor, message for message: DECLARE through Parse/Bind/Execute with
    /// its parameter, Describe of the cursor as a portal, FETCH FORWARD 10 and FORWARD ALL as
    /// simple queries, CLOSE.
    func testPsycopgNamedCursorAcrossShards() throws {
        let users = try seed(marker: "971.01", perShard: [5, 4, 3, 2], base: 971_000)
        let c = try client()
        _ = c.simpleQuery("BEGIN")
        var reply = c.extendedQuery("DECLARE \"compat_cursor\" CURSOR FOR SELECT user_id, amount FROM orders WHERE amount = $1", ["971.01"])
        XCTAssertEqual(reply.types, ["1", "2", "n", "C", "Z"])
        XCTAssertEqual(reply.tags, ["DECLARE CURSOR"])
        reply = c.exchange(RawClient.describe(portal: "compat_cursor") + RawClient.sync)
        XCTAssertEqual(reply.types, ["T", "Z"])
        XCTAssertEqual(reply.descriptions.first?.map(\.name), ["user_id", "amount"])
        reply = c.simpleQuery("FETCH FORWARD 10 FROM \"compat_cursor\"")
        XCTAssertEqual(reply.tags, ["FETCH 10"])
        XCTAssertEqual(reply.types.filter { $0 == "T" }.count, 1)
        XCTAssertEqual(shards(reply), [0, 0, 0, 0, 0, 1, 1, 1, 1, 2])
        let first = reply.textRows
        reply = c.simpleQuery("FETCH FORWARD ALL FROM \"compat_cursor\"")
        XCTAssertEqual(reply.tags, ["FETCH 4"])
        XCTAssertEqual(shards(reply), [2, 2, 3, 3])
        XCTAssertEqual(Set((first + reply.textRows).map { Int($0[0]!)! }), Set(users))
        XCTAssertEqual(c.simpleQuery("CLOSE \"compat_cursor\"").tags, ["CLOSE CURSOR"])
        XCTAssertEqual(c.simpleQuery("COMMIT").tags, ["COMMIT"])
    }

    func testOneShardCursorWithBoundKey() throws {
        let user = 971_101
        let proxy = try cluster.proxyConnection()
        for id in 1...3 { try proxy.query("INSERT INTO orders (id, user_id, amount) VALUES (\(id), \(user), 971.11)") }
        let wrong = try cluster.shardConnection((shard(user) + 1) % cluster.shards.count)
        try wrong.query("INSERT INTO orders (id, user_id, amount) VALUES (99, \(user), 971.11)")
        addTeardownBlock {
            _ = try? proxy.query("DELETE FROM orders WHERE user_id = \(user)")
            _ = try? wrong.query("DELETE FROM orders WHERE user_id = \(user)")
        }
        let c = try client()
        _ = c.simpleQuery("BEGIN")
        var reply = c.extendedQuery("DECLARE keyed CURSOR FOR SELECT id FROM orders WHERE user_id = $1 ORDER BY id", [String(user)])
        XCTAssertEqual(reply.tags, ["DECLARE CURSOR"])
        reply = c.exchange(RawClient.describe(portal: "keyed") + RawClient.sync)
        XCTAssertEqual(reply.descriptions.first?.map(\.type), [20])
        reply = c.extendedQuery("FETCH 2 FROM keyed")
        XCTAssertEqual(reply.types, ["1", "2", "T", "D", "D", "C", "Z"])
        XCTAssertEqual(reply.textRows, [["1"], ["2"]])
        reply = c.extendedQuery("FETCH ALL FROM keyed", resultFormats: [1])
        XCTAssertEqual(reply.rows, [[[0, 0, 0, 0, 0, 0, 0, 3]]])
        XCTAssertEqual(reply.tags, ["FETCH 1"])
        XCTAssertEqual(c.extendedQuery("CLOSE keyed").tags, ["CLOSE CURSOR"])
        XCTAssertEqual(c.extendedQuery("FETCH 1 FROM keyed").sqlState, "34000")
        _ = c.simpleQuery("ROLLBACK")
    }

    func testFetchAcrossShardsInTheExtendedProtocol() throws {
        try seed(marker: "971.21", perShard: [2, 3, 0, 1], base: 971_200)
        let c = try client()
        _ = c.simpleQuery("BEGIN")
        XCTAssertEqual(c.extendedQuery("DECLARE x CURSOR FOR SELECT user_id FROM orders WHERE amount = $1", ["971.21"]).tags, ["DECLARE CURSOR"])
        var reply = c.extendedQuery("FETCH 3 FROM x")
        XCTAssertEqual(reply.types, ["1", "2", "T", "D", "D", "D", "C", "Z"])
        XCTAssertEqual(reply.tags, ["FETCH 3"])
        XCTAssertEqual(shards(reply), [0, 0, 1])
        // Binary results: the client's result formats reach every shard's step.
        reply = c.extendedQuery("FETCH FORWARD 2 FROM x", resultFormats: [1])
        XCTAssertEqual(reply.descriptions.first?.map(\.format), [1])
        XCTAssertEqual(reply.rows.map { $0[0]?.count }, [8, 8])
        let binaryUsers = reply.rows.map { $0[0]!.reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(binaryUsers.map(shard), [1, 1])
        reply = c.extendedQuery("MOVE ALL IN x")
        XCTAssertEqual(reply.types, ["1", "2", "n", "C", "Z"])
        XCTAssertEqual(reply.tags, ["MOVE 1"])
        XCTAssertEqual(c.extendedQuery("FETCH 1 FROM x").tags, ["FETCH 0"])
        XCTAssertEqual(c.extendedQuery("FETCH BACKWARD 1 FROM x").sqlState, "0A000")
        _ = c.simpleQuery("ROLLBACK")

        // Two FETCHes in one batch, each across a shard boundary, answered in order.
        _ = c.simpleQuery("BEGIN")
        _ = c.extendedQuery("DECLARE y CURSOR FOR SELECT user_id FROM orders WHERE amount = $1", ["971.21"])
        reply = c.exchange(RawClient.parse("", "FETCH 1 FROM y") + RawClient.bind("", "") + RawClient.execute("")
                           + RawClient.parse("f", "FETCH 4 FROM y") + RawClient.bind("p", "f") + RawClient.describe(portal: "p")
                           + RawClient.execute("p") + RawClient.sync)
        XCTAssertEqual(reply.types, ["1", "2", "D", "C", "1", "2", "T", "D", "D", "D", "D", "C", "Z"])
        XCTAssertEqual(reply.tags, ["FETCH 1", "FETCH 4"])
        XCTAssertEqual(shards(reply), [0, 0, 1, 1, 1])
        // Close of the cursor as a portal closes it on every shard.
        reply = c.exchange(RawClient.closePortal("y") + RawClient.sync)
        XCTAssertEqual(reply.types, ["3", "Z"])
        XCTAssertEqual(c.simpleQuery("FETCH 1 FROM y").sqlState, "34000")
        _ = c.simpleQuery("ROLLBACK")
    }

    /// A WITH HOLD cursor outlives its transaction and keeps its shard connections: with one
    /// connection per shard, another client waits for it in vain. A cursor without hold
    /// ends with its transaction and leaves the connections to others.
    func testWithHoldCursorKeepsItsConnections() throws {
        try seed(marker: "971.31", perShard: [1, 2, 1, 2], base: 971_300)
        for mode in ["transaction", "session"] {
            let server = try cluster.startProxy(extra: "workers: 1\npool: { mode: \(mode), size: 1, query_wait_timeout: 500ms }")
            defer { server.stop() }
            do {
                let a = try client(port: server.port)
                // Outside a transaction block: declared in one transaction on every shard.
                XCTAssertEqual(a.simpleQuery("DECLARE held CURSOR WITH HOLD FOR SELECT user_id FROM orders WHERE amount = 971.31").tags,
                               ["DECLARE CURSOR"], mode)
                _ = a.simpleQuery("BEGIN")
                XCTAssertEqual(a.extendedQuery("DECLARE held2 CURSOR WITH HOLD FOR SELECT $1::int", ["7"]).tags, ["DECLARE CURSOR"], mode)
                XCTAssertEqual(a.simpleQuery("COMMIT").tags, ["COMMIT"], mode)
                let b = try TestCluster.proxyConnection(port: server.port)
                XCTAssertSQLError("53300") { try b.query("SELECT count(*) FROM orders WHERE user_id = 1") }
                var reply = a.simpleQuery("FETCH 3 FROM held")
                XCTAssertEqual(reply.tags, ["FETCH 3"], mode)
                XCTAssertEqual(shards(reply), [0, 1, 1], mode)
                XCTAssertEqual(a.extendedQuery("FETCH ALL FROM held2").textRows, [["7"]], mode)
                reply = a.extendedQuery("FETCH ALL FROM held")
                XCTAssertEqual(shards(reply), [2, 3, 3], mode)
                XCTAssertEqual(a.simpleQuery("CLOSE held").tags, ["CLOSE CURSOR"], mode)
                // Through the extended protocol outside a transaction block: its Sync commits it.
                XCTAssertEqual(a.extendedQuery("DECLARE held3 CURSOR WITH HOLD FOR SELECT user_id FROM orders WHERE amount = $1",
                                               ["971.31"]).tags, ["DECLARE CURSOR"], mode)
                XCTAssertEqual(shards(a.extendedQuery("FETCH ALL FROM held3")), [0, 1, 1, 2, 3, 3], mode)
                // A failed batch takes its WITH HOLD cursor along.
                let failed = a.exchange(RawClient.parse("", "DECLARE held4 CURSOR WITH HOLD FOR SELECT 1") + RawClient.bind("", "")
                                        + RawClient.execute("") + RawClient.parse("", "SELECT 1/0") + RawClient.bind("", "")
                                        + RawClient.execute("") + RawClient.sync)
                XCTAssertEqual(failed.sqlState, "22012", mode)
                XCTAssertEqual(a.simpleQuery("FETCH 1 FROM held4").sqlState, "34000", mode)
            }
            guard mode == "transaction" else { continue }
            // Without hold: the connections go back to the pool at COMMIT.
            let a = try client(port: server.port)
            _ = a.simpleQuery("BEGIN")
            _ = a.extendedQuery("DECLARE plain CURSOR FOR SELECT user_id FROM orders WHERE amount = $1", ["971.31"])
            XCTAssertEqual(a.simpleQuery("FETCH ALL FROM plain").tags, ["FETCH 6"])
            _ = a.simpleQuery("COMMIT")
            let b = try TestCluster.proxyConnection(port: server.port)
            XCTAssertEqual(try b.query("SELECT count(*) FROM orders WHERE amount = 971.31"), [["6"]])
        }
    }
}
