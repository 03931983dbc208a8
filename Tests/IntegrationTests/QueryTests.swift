import Backend
import XCTest

/// Statements through pgshard, checked against the shards and the reference server.
final class QueryTests: XCTestCase {
    var cluster: TestCluster!
    var proxy: BlockingConnection!

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
        proxy = try cluster.proxyConnection()
    }

    /// Loads the same users (ids in `range`) through pgshard and into the reference server.
    private func load(_ range: ClosedRange<Int>) throws {
        let reference = try cluster.referenceConnection()
        for id in range {
            let sql = "INSERT INTO users (id, name, score) VALUES (\(id), 'u\(id)', \(id % 7))"
            try proxy.query(sql)
            try reference.query(sql)
        }
    }

    func testScatterSelectReturnsExactlyTheRowsOfOneServer() throws {
        try load(2001...2100)
        let sql = "SELECT id, name, score FROM users WHERE id BETWEEN 2001 AND 2100 AND score > 2"
        let sharded = try proxy.query(sql).map { $0.map { $0 ?? "NULL" } }
        let unsharded = try cluster.referenceConnection().query(sql).map { $0.map { $0 ?? "NULL" } }
        XCTAssertEqual(sharded.sorted { $0.lexicographicallyPrecedes($1) }, unsharded.sorted { $0.lexicographicallyPrecedes($1) })
        XCTAssertGreaterThan(sharded.count, 10)
    }

    func testKeyInListGoesToOwningShardsAndUpdatesSumTheirTags() throws {
        try load(2201...2220)
        let rows = try proxy.query("SELECT id FROM users WHERE id IN (2201, 2202, 2203, 2219) ")
        XCTAssertEqual(Set(rows.map { $0[0]! }), ["2201", "2202", "2203", "2219"])
        let updated = try proxy.command("UPDATE users SET score = 100 WHERE id IN (2201, 2202, 2203, 2219)")
        XCTAssertEqual(updated, "UPDATE 4")
        XCTAssertEqual(try proxy.query("SELECT score FROM users WHERE id = 2219"), [["100"]])
        XCTAssertEqual(try proxy.command("DELETE FROM users WHERE id = 2220"), "DELETE 1")
    }

    func testUnsupportedCrossShardStatementsAreRefusedWithAHint() throws {
        for sql in [
            "SELECT string_agg(name, ',') FROM users",
            "SELECT id, row_number() OVER () FROM users",
            "INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd') RETURNING id",
            "SELECT * FROM users u JOIN orders o ON o.id = u.id",
        ] {
            let error = XCTAssertSQLError("0A000") { try proxy.query(sql) }
            XCTAssertNotNil(error?.hint, sql)
        }
        // The session goes on after a refusal.
        XCTAssertEqual(try proxy.query("SELECT 1"), [["1"]])
    }

    /// Co-located tables joined on their keys run on every shard at once; UPDATE and DELETE
    /// without a key reach every shard and report the total count.
    func testColocatedJoinsAndKeylessWritesMatchOneServer() throws {
        let reference = try cluster.referenceConnection()
        try load(908101...908140)
        for id in 908101...908140 where id % 3 != 0 {
            let sql = "INSERT INTO orders (id, user_id, amount) VALUES (\(id * 10), \(id), \(id % 11).50)"
            try proxy.query(sql)
            try reference.query(sql)
        }
        func sameRows(_ sql: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let sharded = try proxy.query(sql).map { $0.map { $0 ?? "NULL" } }
            let unsharded = try reference.query(sql).map { $0.map { $0 ?? "NULL" } }
            XCTAssertEqual(sharded.sorted { $0.lexicographicallyPrecedes($1) }, unsharded.sorted { $0.lexicographicallyPrecedes($1) }, sql, file: file, line: line)
            XCTAssertFalse(sharded.isEmpty, sql, file: file, line: line)
        }
        let mine = "u.id BETWEEN 908101 AND 908140"
        try sameRows("SELECT u.id, o.amount FROM users u JOIN orders o ON o.user_id = u.id WHERE \(mine)")
        try sameRows("SELECT u.id, o.amount FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE \(mine)")
        try sameRows("SELECT u.id FROM users u WHERE \(mine) AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)")
        try sameRows("SELECT u.id, (SELECT count(*) FROM orders o WHERE o.user_id = u.id) FROM users u WHERE \(mine)")
        try sameRows("SELECT u.id FROM users u WHERE (u.id = 908101 OR u.id = 908102) OR u.id = ANY('{908103,908104}')")
        try sameRows("SELECT u.id FROM users u WHERE \(mine) UNION ALL SELECT o.user_id FROM orders o WHERE o.user_id BETWEEN 908101 AND 908140")
        XCTAssertEqual(try proxy.command("UPDATE users SET score = score + 1 WHERE name BETWEEN 'u908101' AND 'u908140'"), "UPDATE 40")
        try reference.query("UPDATE users SET score = score + 1 WHERE name BETWEEN 'u908101' AND 'u908140'")
        try sameRows("SELECT id, score FROM users u WHERE \(mine)")
        XCTAssertEqual(try proxy.command("DELETE FROM orders o USING users u WHERE u.id = o.user_id AND u.name BETWEEN 'u908101' AND 'u908110'"), "DELETE 7")
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM orders WHERE user_id BETWEEN 908101 AND 908110 AND user_id = 908102"), [["0"]])
        try reference.query("DELETE FROM orders o USING users u WHERE u.id = o.user_id AND u.name BETWEEN 'u908101' AND 'u908110'")
        // INSERT … SELECT on one shard: the key comes from the co-located users row.
        let copy = "INSERT INTO orders (id, user_id, amount) SELECT 1, u.id, 9.99 FROM users u WHERE u.id = 908111"
        XCTAssertEqual(try proxy.command(copy), "INSERT 0 1")
        try reference.query(copy)
        try sameRows("SELECT o.user_id, o.amount FROM orders o JOIN users u ON u.id = o.user_id WHERE \(mine)")
    }

    /// A multi-row INSERT across shards: each row on its own shard, one summed tag, and a
    /// failure on one shard leaves no row anywhere.
    func testMultiRowInsertIsSplitAcrossShards() throws {
        let ids = Array(908001...908012)
        let values = ids.map { "(\($0), 'm\($0)')" }.joined(separator: ", ")
        XCTAssertEqual(try proxy.command("INSERT INTO users (id, name) VALUES \(values)"), "INSERT 0 12")
        for id in ids {
            let shard = HashPlacement.shard(of: id, shardCount: 4)
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT name FROM users WHERE id = \(id)"), [["m\(id)"]], "id \(id)")
        }
        // 908001 exists: its shard fails, and the other shards' rows are rolled back too.
        let fresh = Array(908021...908030)
        let conflicting = (fresh + [908001]).map { "(\($0), 'x')" }.joined(separator: ", ")
        XCTAssertSQLError("23505") { try proxy.query("INSERT INTO users (id, name) VALUES \(conflicting)") }
        XCTAssertEqual(try proxy.query("SELECT id FROM users WHERE id IN (\(fresh.map(String.init).joined(separator: ",")))"), [])
    }

    /// EXPLAIN starts with pgshard's lines, then the plan of each shard the statement runs on.
    func testExplainShowsPgshardsLinesAndTheShardsPlans() throws {
        let point = try proxy.query("EXPLAIN SELECT * FROM users WHERE id = 42").map { $0[0] ?? "" }
        let shard = HashPlacement.shard(of: 42, shardCount: 4)
        XCTAssertEqual(point.first, "pgshard: runs on shard s\(shard)")
        XCTAssertTrue(point.contains("pgshard:   users.id (hash): id = 42 → s\(shard)"), "\(point)")
        XCTAssertTrue(point.contains { $0.contains("Index Scan") || $0.contains("Seq Scan") }, "\(point)")
        let scatter = try proxy.query("EXPLAIN SELECT * FROM users u JOIN orders o ON o.user_id = u.id").map { $0[0] ?? "" }
        XCTAssertEqual(scatter.filter { $0.hasPrefix("pgshard: plan of shard") }.count, 4, "\(scatter)")
        XCTAssertEqual(scatter.filter { $0.contains("Join") && !$0.hasPrefix("pgshard") }.count, 4, "\(scatter)")
        let merged = try proxy.query("EXPLAIN SELECT count(*) FROM users").map { $0[0] ?? "" }
        XCTAssertTrue(merged.contains { $0.hasPrefix("pgshard: merge: per-shard aggregates combined") }, "\(merged)")
        XCTAssertEqual(merged.filter { $0.contains("Aggregate") && !$0.hasPrefix("pgshard") }.count, 4, "\(merged)")
        XCTAssertSQLError("0A000") { try proxy.query("EXPLAIN SELECT string_agg(name, ',') FROM users") }
    }

    /// Hints send a statement to one shard: comments, and SET pgshard.shard for the session.
    func testHintsRouteToTheNamedShard() throws {
        let direct = try (0..<4).map { try cluster.shardConnection($0).query("SELECT count(*) FROM users")[0][0] ?? "" }
        XCTAssertEqual(try proxy.query("/* pgshard: shard=s2 */ SELECT count(*) FROM users"), [[direct[2]]])
        try proxy.query("SET pgshard.shard = 's1'")
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM users"), [[direct[1]]])
        try proxy.query("BEGIN; SET LOCAL pgshard.shard = 's3'")
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM users"), [[direct[3]]])
        try proxy.query("COMMIT")
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM users"), [[direct[1]]])
        try proxy.query("RESET pgshard.shard")
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM users"), [[String(direct.compactMap { Int($0) }.reduce(0, +))]])
        XCTAssertSQLError("22023") { try proxy.query("SET pgshard.shard = 'nowhere'") }
        // The key hint places by the table's function.
        let shard = HashPlacement.shard(of: 42, shardCount: 4)
        XCTAssertEqual(try proxy.query("/* pgshard: key=42 */ SELECT count(*) FROM users"), [[direct[shard]]])
    }

    func testSeveralStatementsInOneQueryAndTheEmptyQuery() throws {
        try proxy.query("INSERT INTO users (id, name) VALUES (2301, 'a'); INSERT INTO users (id, name) VALUES (2302, 'b'); SELECT 1")
        XCTAssertEqual(try proxy.query("SELECT name FROM users WHERE id = 2301; SELECT name FROM users WHERE id = 2302"), [["b"]])
        XCTAssertEqual(try proxy.query(""), [])
        XCTAssertEqual(try proxy.query("  ;  -- nothing\n"), [])
    }

    func testShardErrorsReachTheClientWithEveryField() throws {
        let error = XCTAssertSQLError("23505") {
            try proxy.query("INSERT INTO users (id, name) VALUES (2401, 'a')")
            try proxy.query("INSERT INTO users (id, name) VALUES (2401, 'a')")
        }
        XCTAssertEqual(error?.diagnostics["n"], "users_pkey")
        XCTAssertEqual(error?.diagnostics["t"], "users")
        XCTAssertNotNil(error?.diagnostics["D"])
        // A syntax error carries the position in the client's text.
        let syntax = XCTAssertSQLError("42601") { try proxy.query("SELECT 1; SELEC 2") }
        XCTAssertEqual(syntax?.diagnostics["P"], "11")
        // A shard's position is shifted to the statement's place in the message.
        let shifted = XCTAssertSQLError("42703") { try proxy.query("SELECT 1; SELECT nosuchcolumn FROM countries") }
        XCTAssertEqual(shifted?.diagnostics["P"], "18")
    }

    func testReferenceTablesAreWrittenEverywhereAndReadFromOne() throws {
        XCTAssertEqual(try proxy.command("INSERT INTO countries (code, name) VALUES ('nz', 'New Zealand')"), "INSERT 0 1")
        for shard in 0..<4 {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT name FROM countries WHERE code = 'nz'"), [["New Zealand"]])
        }
        XCTAssertEqual(try proxy.query("SELECT name FROM countries WHERE code = 'nz'"), [["New Zealand"]])
        // A failing reference write leaves no shard changed.
        XCTAssertSQLError("23505") { try proxy.query("INSERT INTO countries (code, name) VALUES ('nz', 'again')") }
        for shard in 0..<4 {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT count(*) FROM countries WHERE code = 'nz'"), [["1"]])
        }
    }

    func testDDLRunsOnEveryShardAndPinnedTablesOnTheirShard() throws {
        try proxy.query("CREATE TABLE ddl_probe (id bigint)")
        defer { _ = try? proxy.query("DROP TABLE ddl_probe") }
        for shard in 0..<4 {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT to_regclass('ddl_probe') IS NOT NULL"), [["t"]])
        }
        try proxy.query("INSERT INTO audit_log (id, note) VALUES (1, 'pinned')")
        XCTAssertEqual(try cluster.shardConnection(2).query("SELECT note FROM audit_log"), [["pinned"]])
        XCTAssertEqual(try cluster.shardConnection(0).query("SELECT to_regclass('audit_log') IS NULL"), [["t"]])
        XCTAssertEqual(try proxy.query("SELECT note FROM audit_log WHERE id = 1"), [["pinned"]])
        // A DDL failing on one shard changes none.
        try cluster.shardConnection(3).query("CREATE TABLE only_on_three (id int)")
        defer { _ = try? cluster.shardConnection(3).query("DROP TABLE only_on_three") }
        XCTAssertSQLError("42P07") { try proxy.query("CREATE TABLE only_on_three (id int)") }
        XCTAssertEqual(try cluster.shardConnection(0).query("SELECT to_regclass('only_on_three') IS NULL"), [["t"]])
    }

    func testTransactionsSpanShardsAndRollBackEverywhere() throws {
        try proxy.query("BEGIN")
        XCTAssertEqual(proxy.transactionStatus, "T")
        try proxy.query("INSERT INTO users (id, name) VALUES (2501, 'a')")
        try proxy.query("INSERT INTO users (id, name) VALUES (2502, 'b')")
        try proxy.query("INSERT INTO users (id, name) VALUES (2503, 'c')")
        try proxy.query("ROLLBACK")
        XCTAssertEqual(proxy.transactionStatus, "I")
        XCTAssertEqual(try proxy.query("SELECT id FROM users WHERE id IN (2501, 2502, 2503)"), [])

        try proxy.query("BEGIN; INSERT INTO users (id, name) VALUES (2501, 'a'); INSERT INTO users (id, name) VALUES (2502, 'b')")
        XCTAssertSQLError("42601") { try proxy.query("SELEC") }
        XCTAssertEqual(proxy.transactionStatus, "E")
        XCTAssertSQLError("25P02") { try proxy.query("SELECT 1") }
        XCTAssertEqual(try proxy.command("COMMIT"), "ROLLBACK")
        XCTAssertEqual(try proxy.query("SELECT id FROM users WHERE id IN (2501, 2502)"), [])

        try proxy.query("BEGIN; INSERT INTO users (id, name) VALUES (2501, 'a'); SAVEPOINT s1; INSERT INTO users (id, name) VALUES (2502, 'b')")
        try proxy.query("INSERT INTO users (id, name) VALUES (2503, 'c'); ROLLBACK TO SAVEPOINT s1; COMMIT")
        XCTAssertEqual(try proxy.query("SELECT id FROM users WHERE id IN (2501, 2502, 2503)"), [["2501"]])
    }

    func testSettingsFollowTheSessionToEveryShard() throws {
        try proxy.query("SET TimeZone = 'Asia/Tokyo'")
        XCTAssertEqual(proxy.parameterStatus("TimeZone"), "Asia/Tokyo")
        for id in [2601, 2602, 2603, 2604, 2605, 2606] {
            try proxy.query("INSERT INTO users (id, name) VALUES (\(id), current_setting('TimeZone'))")
        }
        let zones = try proxy.query("SELECT DISTINCT name FROM users WHERE id IN (2601, 2602, 2603, 2604, 2605, 2606) AND id = 2601")
        XCTAssertEqual(zones, [["Asia/Tokyo"]])
        for id in [2602, 2603, 2604, 2605, 2606] {
            XCTAssertEqual(try proxy.query("SELECT name FROM users WHERE id = \(id)"), [["Asia/Tokyo"]])
        }
    }

    func testStartupParametersReachTheClientAndTheShards() throws {
        let connection = try cluster.proxyConnection(extra: "application_name=itest options='-c search_path=public'")
        XCTAssertEqual(connection.parameterStatus("application_name"), "itest")
        XCTAssertNotNil(connection.parameterStatus("server_version"))
        XCTAssertEqual(connection.parameterStatus("integer_datetimes"), "on")
        XCTAssertEqual(try connection.query("SELECT current_setting('application_name')"), [["itest"]])
    }

    func testWrongPasswordIsRefused() throws {
        XCTAssertThrowsError(try TestCluster.proxyConnection(port: cluster.proxy.port, password: "wrong")) { error in
            XCTAssertTrue("\(error)".contains("password authentication failed"), "\(error)")
        }
        XCTAssertThrowsError(try TestCluster.proxyConnection(port: cluster.proxy.port, user: "nobody")) { error in
            XCTAssertTrue("\(error)".contains("password authentication failed"), "\(error)")
        }
    }
}
