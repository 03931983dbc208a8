import Backend
import Logging
import Proxy
import XCTest

/// The admin console: database `pgshard`, admin users only, answers as result sets.
final class AdminConsoleTests: XCTestCase {
    func testAdminConsoleCommands() throws {
        let cluster = try TestCluster.shared()
        let server = try cluster.startProxy(users: TestCluster.usersWithAdmin)
        defer { server.stop() }
        let app = try TestCluster.proxyConnection(port: server.port)
        _ = try app.query("SELECT * FROM users WHERE id = 1")
        let admin = try TestCluster.adminConnection(port: server.port)

        XCTAssertTrue(try admin.query("SHOW HELP").contains { $0.first == "SHOW SHARD FOR <table> <key>" })
        XCTAssertEqual(try admin.query("SHOW VERSION"), [["pgshard \(ProxyServer.version)"]])
        let shards = try admin.query("SHOW SHARDS")
        XCTAssertEqual(shards.map { $0[0] }, ["s0", "s1", "s2", "s3"])
        XCTAssertTrue(shards.allSatisfy { $0[1] == "primary" && $0[2]?.contains("port=") == true }, "\(shards)")
        XCTAssertTrue(shards.contains { $0[3] == "connected" }, "the app's lookup left an idle connection: \(shards)")
        let tables = try admin.query("SHOW TABLES")
        XCTAssertTrue(tables.contains { $0 == ["users", "sharded", "id", "bigint", "hash"] }, "\(tables)")
        XCTAssertTrue(tables.contains { $0 == ["countries", "reference", nil, nil, nil] }, "\(tables)")
        let shard = HashPlacement.shard(of: 42, shardCount: 4)
        XCTAssertEqual(try admin.query("SHOW SHARD FOR users 42"), [["users", "42", "users.id = 42 → s\(shard) (hash)"]])
        let stats = try admin.query("SHOW STATS")
        XCTAssertTrue(stats.contains { $0 == ["pgshard_statements_total{route=\"single\"}", "1"] })
        let lookupShard = "s\(HashPlacement.shard(of: 1, shardCount: 4))"
        XCTAssertTrue(stats.contains { $0[0] == "pgshard_shard_statements_total{shard=\"\(lookupShard)\"}" && $0[1] != "0" }, "\(stats)")
        XCTAssertTrue(stats.contains { $0[0] == "pgshard_shard_statement_duration_seconds{shard=\"\(lookupShard)\",quantile=\"0.99\"}" }, "\(stats)")
        XCTAssertTrue(try admin.query("SHOW CLIENTS").contains { $0[1] == "app" && $0[2] == "app" })
        XCTAssertTrue(try admin.query("SHOW CONFIG").contains { $0 == ["pool.mode", "transaction"] })
        // The app's lookup used one connection of its key's shard, given back idle.
        let pools = try admin.query("SHOW POOLS")
        let used = "s\(HashPlacement.shard(of: 1, shardCount: 4))"
        XCTAssertTrue(pools.contains { $0[0] == used && $0[4] == "1" && $0[8] == "1" }, "\(pools)")
        try app.query("BEGIN")
        _ = try app.query("SELECT count(*) FROM users")
        let servers = try admin.query("SHOW SERVERS")
        XCTAssertEqual(servers.filter { $0[2] == "active" }.count, 4, "a transaction across every shard holds one connection each: \(servers)")
        try app.query("COMMIT")
        XCTAssertEqual(try admin.query("SHOW SERVERS").filter { $0[2] == "active" }.count, 0)
        XCTAssertSQLError("42601") { try admin.query("SHOW NOTHING") }
        XCTAssertEqual(try admin.query("RESUME"), [["resumed"]])
        XCTAssertSQLError("22P02") { try admin.query("SHOW SHARD FOR users abc") }
        // The extended protocol is refused, and the session goes on.
        XCTAssertSQLError("0A000") { _ = try admin.query("SHOW HELP", parameters: []) }
        // The session goes on after errors.
        XCTAssertEqual(try admin.query("SHOW VERSION").count, 1)

        // Not an admin: refused after authentication.
        XCTAssertThrowsError(try BlockingConnection(conninfo: "host=127.0.0.1 port=\(server.port) dbname=pgshard user=app password=\(TestCluster.password)")
            .query("SHOW HELP"))
    }

    /// PAUSE waits for running transactions and holds new ones until RESUME; with a timeout
    /// too short for them, it fails and pauses nothing.
    func testPauseHoldsNewTransactionsUntilResume() throws {
        let cluster = try TestCluster.shared()
        let server = try cluster.startProxy(users: TestCluster.usersWithAdmin)
        defer { server.stop() }
        let admin = try TestCluster.adminConnection(port: server.port)
        let inTransaction = try TestCluster.proxyConnection(port: server.port)
        let other = try TestCluster.proxyConnection(port: server.port)
        try inTransaction.query("BEGIN")
        _ = try inTransaction.query("SELECT name FROM users WHERE id = 1")

        XCTAssertSQLError("55000") { try admin.query("PAUSE 0.2") }
        XCTAssertEqual(try other.query("SELECT 1"), [["1"]], "a PAUSE that timed out holds nothing")

        let paused = Locked<Bool?>(nil)
        let adminBox = Locked(admin), otherBox = Locked(other)
        let pausing = Thread { paused.value = (try? adminBox.value.query("PAUSE 30")) != nil }
        pausing.start()
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertNil(paused.value, "PAUSE answered while a transaction was open")
        // The open transaction goes on and ends; then PAUSE answers.
        XCTAssertEqual(try inTransaction.query("SELECT 1"), [["1"]])
        try inTransaction.query("COMMIT")
        for _ in 0..<200 where paused.value == nil { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertEqual(paused.value, true)

        // A new transaction waits for RESUME.
        let answered = Locked<[[String?]]?>(nil)
        let waiting = Thread { answered.value = try? otherBox.value.query("SELECT 2") }
        waiting.start()
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertNil(answered.value, "a statement ran while paused")
        XCTAssertEqual(try admin.query("RESUME"), [["resumed"]])
        for _ in 0..<200 where answered.value == nil { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertEqual(answered.value, [["2"]])
    }

    /// SHUTDOWN stops the server as SIGTERM does: no new clients, the console's answer first.
    func testShutdownStopsTheServer() throws {
        let cluster = try TestCluster.shared()
        let server = try cluster.startProxy(users: TestCluster.usersWithAdmin)
        defer { server.stop() }
        let admin = try TestCluster.adminConnection(port: server.port)
        XCTAssertEqual(try admin.query("SHUTDOWN").count, 1)
        var refused = false
        for _ in 0..<100 where !refused {
            refused = (try? TestCluster.adminConnection(port: server.port)) == nil
            if !refused { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertTrue(refused, "the server still accepts clients after SHUTDOWN")
    }
}
