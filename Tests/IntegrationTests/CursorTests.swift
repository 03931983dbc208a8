import Backend
import XCTest

/// What the cursor tests share: the cluster, raw clients, and rows seeded on chosen shards.
class CursorTestCase: XCTestCase {
    var cluster: TestCluster!

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
    }

    func shard(_ user: Int) -> Int { HashPlacement.shard(of: user, shardCount: cluster.shards.count) }

    func client(port: Int? = nil) throws -> RawClient {
        let client = try RawClient(port: port ?? cluster.proxy.port)
        client.login()
        return client
    }

    /// One order per user, `perShard[s]` users on shard `s` (keys from `base` up), every order
    /// with amount `marker`; removed when the test ends. Returns the users in shard order.
    @discardableResult
    func seed(marker: String, perShard: [Int], base: Int) throws -> [Int] {
        var missing = perShard
        var byShard: [[Int]] = Array(repeating: [], count: perShard.count)
        var user = base
        while missing.contains(where: { $0 > 0 }) {
            let s = shard(user)
            if missing[s] > 0 {
                byShard[s].append(user)
                missing[s] -= 1
            }
            user += 1
        }
        let proxy = try cluster.proxyConnection()
        let users = byShard.flatMap { $0 }
        for user in users { try proxy.query("INSERT INTO orders (id, user_id, amount) VALUES (1, \(user), \(marker))") }
        addTeardownBlock { _ = try? proxy.query("DELETE FROM orders WHERE amount = \(marker)") }
        return users
    }

    /// The shard of each row's first column (a user id).
    func shards(_ reply: ProtocolReply) -> [Int] {
        reply.textRows.map { shard(Int($0[0]!)!) }
    }
}

/// SQL cursors through pgshard with the simple protocol: a cursor on one shard runs there
/// unchanged, a cursor across shards reads the shards one after the other; the transaction
/// rules are PostgreSQL's.
final class CursorTests: CursorTestCase {

    func testOneShardCursorRunsThereInEveryDirection() throws {
        let user = 970_001
        let proxy = try cluster.proxyConnection()
        for id in 1...5 { try proxy.query("INSERT INTO orders (id, user_id, amount) VALUES (\(id), \(user), 970.01)") }
        // A row with the same key on a shard that does not own it: only a scattered cursor sees it.
        let wrong = try cluster.shardConnection((shard(user) + 1) % cluster.shards.count)
        try wrong.query("INSERT INTO orders (id, user_id, amount) VALUES (99, \(user), 970.01)")
        addTeardownBlock {
            _ = try? proxy.query("DELETE FROM orders WHERE user_id = \(user)")
            _ = try? wrong.query("DELETE FROM orders WHERE user_id = \(user)")
        }
        let c = try client()
        XCTAssertEqual(c.simpleQuery("BEGIN").tags, ["BEGIN"])
        let declared = c.simpleQuery("DECLARE one SCROLL CURSOR FOR SELECT id FROM orders WHERE user_id = \(user) ORDER BY id")
        XCTAssertEqual(declared.types, ["C", "Z"])
        XCTAssertEqual(declared.tags, ["DECLARE CURSOR"])
        var reply = c.simpleQuery("FETCH 2 FROM one")
        XCTAssertEqual(reply.types, ["T", "D", "D", "C", "Z"])
        XCTAssertEqual(reply.textRows, [["1"], ["2"]])
        XCTAssertEqual(reply.tags, ["FETCH 2"])
        reply = c.simpleQuery("FETCH PRIOR FROM one")
        XCTAssertEqual(reply.textRows, [["1"]])
        XCTAssertEqual(c.simpleQuery("MOVE FORWARD 2 IN one").tags, ["MOVE 2"])
        reply = c.simpleQuery("FETCH ALL FROM one")
        XCTAssertEqual(reply.textRows, [["4"], ["5"]])
        XCTAssertEqual(reply.tags, ["FETCH 2"])
        XCTAssertEqual(c.simpleQuery("FETCH LAST FROM one").textRows, [["5"]])
        XCTAssertEqual(c.simpleQuery("CLOSE one").tags, ["CLOSE CURSOR"])
        reply = c.simpleQuery("FETCH 1 FROM one")
        XCTAssertEqual(reply.sqlState, "34000")
        XCTAssertEqual(reply.error?["M"], "cursor \"one\" does not exist")
        XCTAssertEqual(c.simpleQuery("ROLLBACK").tags, ["ROLLBACK"])
    }

    func testCursorAcrossShardsReadsShardAfterShard() throws {
        let users = try seed(marker: "970.02", perShard: [3, 0, 4, 2], base: 970_100)
        let c = try client()
        _ = c.simpleQuery("BEGIN")
        XCTAssertEqual(c.simpleQuery("DECLARE spread CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.02").tags, ["DECLARE CURSOR"])
        // Two rows of shard 0; then its last row and the first of shard 2 (shard 1 has none).
        var reply = c.simpleQuery("FETCH 2 FROM spread")
        XCTAssertEqual(reply.types, ["T", "D", "D", "C", "Z"])
        XCTAssertEqual(shards(reply), [0, 0])
        var seen = reply.textRows
        reply = c.simpleQuery("FETCH FORWARD 2 FROM spread")
        XCTAssertEqual(reply.types, ["T", "D", "D", "C", "Z"], "one RowDescription for rows of two shards")
        XCTAssertEqual(reply.tags, ["FETCH 2"])
        XCTAssertEqual(shards(reply), [0, 2])
        seen += reply.textRows
        reply = c.simpleQuery("FETCH 4 FROM spread")
        XCTAssertEqual(reply.tags, ["FETCH 4"])
        XCTAssertEqual(shards(reply), [2, 2, 2, 3])
        seen += reply.textRows
        XCTAssertEqual(c.simpleQuery("MOVE 5 IN spread").tags, ["MOVE 1"])
        reply = c.simpleQuery("FETCH ALL FROM spread")
        XCTAssertEqual(reply.types, ["T", "C", "Z"])
        XCTAssertEqual(reply.tags, ["FETCH 0"])
        XCTAssertEqual(c.simpleQuery("FETCH NEXT FROM spread").tags, ["FETCH 0"])
        // Every row once: the 8 fetched and the one moved over.
        XCTAssertEqual(seen.count, 8)
        XCTAssertEqual(Set(seen.map { Int($0[0]!)! }).count, 8)
        XCTAssertTrue(Set(seen.map { Int($0[0]!)! }).isSubset(of: Set(users)))
        XCTAssertEqual(c.simpleQuery("CLOSE spread").tags, ["CLOSE CURSOR"])
        XCTAssertEqual(c.simpleQuery("COMMIT").tags, ["COMMIT"])

        // FETCH ALL from the start reads every shard; so does MOVE ALL.
        _ = c.simpleQuery("BEGIN")
        _ = c.simpleQuery("DECLARE again CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.02")
        reply = c.simpleQuery("FETCH ALL FROM again")
        XCTAssertEqual(reply.tags, ["FETCH 9"])
        XCTAssertEqual(shards(reply), [0, 0, 0, 2, 2, 2, 2, 3, 3])
        _ = c.simpleQuery("DECLARE skip CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.02")
        XCTAssertEqual(c.simpleQuery("MOVE ALL IN skip").tags, ["MOVE 9"])
        _ = c.simpleQuery("COMMIT")
    }

    func testOnlyForwardAcrossShards() throws {
        try seed(marker: "970.03", perShard: [1, 1, 1, 1], base: 970_200)
        let c = try client()
        let refused = c.simpleQuery("DECLARE s SCROLL CURSOR FOR SELECT * FROM orders WHERE amount = 970.03")
        XCTAssertEqual(refused.sqlState, "0A000")
        XCTAssertNotNil(refused.error?["H"])
        let ordered = c.simpleQuery("DECLARE o CURSOR FOR SELECT * FROM orders WHERE amount = 970.03 ORDER BY user_id")
        XCTAssertEqual(ordered.sqlState, "0A000")
        XCTAssertTrue(ordered.error?["H"]?.contains("shard key") == true, "\(ordered.error ?? [:])")
        for fetch in ["FETCH PRIOR FROM f", "FETCH ABSOLUTE 1 FROM f", "FETCH BACKWARD 2 FROM f", "MOVE RELATIVE -1 IN f", "FETCH 0 FROM f"] {
            _ = c.simpleQuery("BEGIN")
            _ = c.simpleQuery("DECLARE f CURSOR FOR SELECT * FROM orders WHERE amount = 970.03")
            let reply = c.simpleQuery(fetch)
            XCTAssertEqual(reply.sqlState, "0A000", fetch)
            XCTAssertTrue(reply.error?["H"]?.contains("forward only") == true, fetch)
            // As any error, it fails the transaction.
            XCTAssertEqual(c.simpleQuery("FETCH 1 FROM f").sqlState, "25P02")
            _ = c.simpleQuery("ROLLBACK")
        }
    }

    func testTransactionRules() throws {
        try seed(marker: "970.04", perShard: [1, 1, 1, 1], base: 970_300)
        let c = try client()
        // Outside a transaction block the shard says it, as PostgreSQL does.
        for sql in ["DECLARE nope CURSOR FOR SELECT * FROM orders WHERE user_id = 1",
                    "DECLARE nope CURSOR FOR SELECT * FROM orders WHERE amount = 970.04"] {
            let reply = c.simpleQuery(sql)
            XCTAssertEqual(reply.sqlState, "25P01", sql)
            XCTAssertEqual(reply.error?["M"], "DECLARE CURSOR can only be used in transaction blocks")
        }
        XCTAssertEqual(c.extendedQuery("DECLARE nope CURSOR FOR SELECT * FROM orders WHERE amount = $1", ["970.04"]).sqlState, "25P01")
        XCTAssertEqual(c.simpleQuery("FETCH 1 FROM nope").error?["M"], "cursor \"nope\" does not exist")
        XCTAssertEqual(c.simpleQuery("CLOSE nope").sqlState, "34000")

        // Gone after COMMIT and after ROLLBACK.
        for end in ["COMMIT", "ROLLBACK"] {
            _ = c.simpleQuery("BEGIN")
            _ = c.simpleQuery("DECLARE t CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.04")
            XCTAssertEqual(c.simpleQuery("FETCH 1 FROM t").tags, ["FETCH 1"])
            XCTAssertEqual(c.simpleQuery(end).tags, [end])
            XCTAssertEqual(c.simpleQuery("FETCH 1 FROM t").sqlState, "34000", end)
        }

        // ROLLBACK TO SAVEPOINT closes the cursors declared after the savepoint.
        _ = c.simpleQuery("BEGIN")
        _ = c.simpleQuery("DECLARE a CURSOR FOR SELECT 1")
        _ = c.simpleQuery("SAVEPOINT s")
        _ = c.simpleQuery("DECLARE b CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.04")
        XCTAssertEqual(c.simpleQuery("ROLLBACK TO SAVEPOINT s").tags, ["ROLLBACK"])
        XCTAssertEqual(c.simpleQuery("FETCH 1 FROM a").textRows, [["1"]])
        XCTAssertEqual(c.simpleQuery("FETCH 1 FROM b").sqlState, "34000")
        _ = c.simpleQuery("ROLLBACK")

        // A name once; CLOSE ALL closes every cursor.
        _ = c.simpleQuery("BEGIN")
        _ = c.simpleQuery("DECLARE d CURSOR FOR SELECT 1")
        let duplicate = c.simpleQuery("DECLARE d CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.04")
        XCTAssertEqual(duplicate.sqlState, "42P03")
        XCTAssertEqual(duplicate.error?["M"], "cursor \"d\" already exists")
        _ = c.simpleQuery("ROLLBACK")
        _ = c.simpleQuery("BEGIN")
        _ = c.simpleQuery("DECLARE d1 CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.04")
        _ = c.simpleQuery("DECLARE d2 CURSOR FOR SELECT 2")
        XCTAssertEqual(c.simpleQuery("CLOSE ALL").tags, ["CLOSE CURSOR ALL"])
        XCTAssertEqual(c.simpleQuery("FETCH 1 FROM d1").sqlState, "34000")
        _ = c.simpleQuery("ROLLBACK")
        XCTAssertEqual(c.simpleQuery("CLOSE ALL").tags, ["CLOSE CURSOR ALL"])

        // Several statements in one Query are one transaction: the cursor lives until its end.
        let both = c.simpleQuery("DECLARE m CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.04; FETCH 3 FROM m")
        XCTAssertEqual(both.tags, ["DECLARE CURSOR", "FETCH 3"])
        XCTAssertEqual(c.simpleQuery("FETCH 1 FROM m").sqlState, "34000")
    }

    func testWhereCurrentOfRunsWhereTheCursorStands() throws {
        let users = try seed(marker: "970.05", perShard: [2, 0, 2, 1], base: 970_400)
        let c = try client()
        _ = c.simpleQuery("BEGIN")
        // One shard, FOR UPDATE.
        _ = c.simpleQuery("DECLARE mine CURSOR FOR SELECT user_id FROM orders WHERE user_id = \(users[2]) FOR UPDATE")
        XCTAssertEqual(c.simpleQuery("FETCH 1 FROM mine").textRows, [[String(users[2])]])
        XCTAssertEqual(c.simpleQuery("UPDATE orders SET amount = 970.55 WHERE CURRENT OF mine").tags, ["UPDATE 1"])
        // Across shards: the third row is the first of shard 2.
        _ = c.simpleQuery("DECLARE spread CURSOR FOR SELECT user_id FROM orders WHERE amount = 970.05")
        let fetched = c.simpleQuery("FETCH 2 FROM spread")
        XCTAssertEqual(shards(fetched), [0, 0])
        let third = c.extendedQuery("FETCH 1 FROM spread")
        XCTAssertEqual(shards(third), [2])
        let reply = c.extendedQuery("DELETE FROM orders WHERE CURRENT OF spread RETURNING user_id")
        XCTAssertEqual(reply.tags, ["DELETE 1"])
        XCTAssertEqual(reply.textRows, third.textRows)
        XCTAssertEqual(c.simpleQuery("COMMIT").tags, ["COMMIT"])
        let proxy = try cluster.proxyConnection()
        XCTAssertEqual(try proxy.query("SELECT amount FROM orders WHERE user_id = \(users[2])"), [["970.55"]])
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM orders WHERE user_id = \(third.textRows[0][0]!)"), [["0"]])
        XCTAssertEqual(c.simpleQuery("UPDATE orders SET amount = 1 WHERE CURRENT OF spread").sqlState, "34000")
    }

    /// PostgreSQL cannot prepare a transaction that declared a WITH HOLD cursor: a
    /// transaction writing on two shards, with such a cursor on both, says so at COMMIT with a
    /// hint, and commits nothing. (The shard that decides the commit is not prepared: a cursor
    /// there alone is no obstacle.)
    func testWithHoldCursorInATwoPhaseCommit() throws {
        let users = try seed(marker: "970.06", perShard: [1, 1, 0, 0], base: 970_500)
        let c = try client()
        _ = c.simpleQuery("BEGIN")
        for user in users {
            XCTAssertEqual(c.simpleQuery("UPDATE orders SET amount = 970.66 WHERE user_id = \(user)").tags, ["UPDATE 1"])
        }
        let declared = c.simpleQuery("DECLARE held CURSOR WITH HOLD FOR SELECT user_id FROM orders WHERE amount = 970.66")
        XCTAssertEqual(declared.tags, ["DECLARE CURSOR"])
        let commit = c.simpleQuery("COMMIT")
        XCTAssertEqual(commit.sqlState, "0A000")
        XCTAssertTrue(commit.error?["H"]?.contains("WITH HOLD") == true, "\(commit.error ?? [:])")
        XCTAssertEqual(c.simpleQuery("FETCH 1 FROM held").sqlState, "34000")
        let proxy = try cluster.proxyConnection()
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM orders WHERE amount = 970.06"), [["2"]])
    }
}
