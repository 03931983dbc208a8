import Backend
import Logging
import Proxy
import XCTest

/// Transaction pooling: clients share a few shard connections, and nothing of one client's
/// session reaches another.
final class PoolingTests: XCTestCase {
    var cluster: TestCluster!
    var server: ProxyServer!

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
    }

    override func tearDown() {
        server?.stop()
    }

    /// A proxy of one worker whose pools hold `size` connections per shard.
    private func startProxy(size: Int, mode: String = "transaction", wait: String = "30s") throws {
        let shards = cluster.shards.enumerated().map {
            "  - { name: s\($0.offset), primary: \"\($0.element.conninfo(database: TestCluster.database)) application_name=pooltest\" }"
        }
        var yaml = TestCluster.yaml(shards: cluster.shards, port: 0,
                                    extra: "workers: 1\npool: { mode: \(mode), size: \(size), query_wait_timeout: \(wait) }")
        // The same shards, with an application_name that tells this proxy's connections apart.
        for (index, line) in shards.enumerated() {
            yaml = yaml.replacingOccurrences(of: "  - { name: s\(index), primary: \"\(cluster.shards[index].conninfo(database: TestCluster.database))\" }", with: line)
        }
        var logger = Logger(label: "pgshard.test.pool")
        logger.logLevel = .warning
        server = ProxyServer(config: try ProxyConfig.parse(yaml: yaml), logger: logger)
        try server.start()
    }

    private func client() throws -> BlockingConnection {
        try TestCluster.proxyConnection(port: server.port)
    }

    private func backendCount(shard: Int) throws -> Int {
        let rows = try cluster.shardConnection(shard).query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pooltest' OR query LIKE '%pooltest-marker%'")
        return Int(rows[0][0]!)!
    }

    func testManyClientsShareFewConnections() throws {
        try startProxy(size: 2)
        let clients = try (0..<10).map { _ in try client() }
        let id = 960_001
        let shard = HashPlacement.shard(of: id, shardCount: cluster.shards.count)
        for round in 0..<3 {
            for (n, c) in clients.enumerated() {
                XCTAssertEqual(try c.query("SELECT \(round * 100 + n) FROM users WHERE id = \(id)").count, 0)
                XCTAssertEqual(try c.query("SELECT id FROM users WHERE id = $1", parameters: [Array(String(id).utf8)]).count, 0)
            }
        }
        XCTAssertLessThanOrEqual(try backendCount(shard: shard), 2)
    }

    func testSettingsDoNotLeakBetweenClients() throws {
        try startProxy(size: 1)
        let a = try client()
        let b = try client()
        try a.query("SET statement_timeout = '1234ms'")
        for _ in 0..<3 {
            XCTAssertEqual(try b.query("SHOW statement_timeout"), [["0"]])
            XCTAssertEqual(try a.query("SHOW statement_timeout"), [["1234ms"]])
        }
        // A transaction's SET LOCAL ends with it.
        try b.query("BEGIN; SET LOCAL statement_timeout = '5s'")
        XCTAssertEqual(try b.query("SHOW statement_timeout"), [["5s"]])
        try b.query("COMMIT")
        XCTAssertEqual(try b.query("SHOW statement_timeout"), [["0"]])
    }

    func testStartupOptionsAndSetConfigReachEveryShard() throws {
        try startProxy(size: 2)
        let a = try TestCluster.proxyConnection(port: server.port, extra: "options='-c search_path=pg_catalog,public'")
        XCTAssertEqual(try a.query("SELECT current_schema()"), [["pg_catalog"]])
        XCTAssertEqual(try a.query("SELECT set_config('application_name', 'first', false)"), [["first"]])
        // The extended protocol with the value as a parameter, as asyncpg does.
        XCTAssertEqual(try a.query("\n   SELECT\n  set_config('application_name', $1, false)\n", parameters: [Array("from-set-config".utf8)]),
                       [["from-set-config"]])
        // Every shard the session uses sees both, whatever connection serves it.
        for id in [960_201, 960_202, 960_203, 960_204, 960_205] {
            XCTAssertEqual(try a.query("SELECT current_setting('application_name'), current_schema(), count(*) FROM users WHERE id = \(id)"),
                           [["from-set-config", "pg_catalog", "0"]])
        }
    }

    func testPreparedStatementsFollowTheClientAcrossConnections() throws {
        try startProxy(size: 1)
        let a = try client()
        let b = try client()
        try a.prepare("p", "SELECT $1::int + 1")
        try b.prepare("p", "SELECT $1::int + 2")
        for n in 0..<5 {
            XCTAssertEqual(try a.executePrepared("p", [String(n)]), [[String(n + 1)]])
            XCTAssertEqual(try b.executePrepared("p", [String(n)]), [[String(n + 2)]])
        }
    }

    func testWaitingTooLongForAConnectionGives53300() throws {
        try startProxy(size: 1, wait: "500ms")
        let id = 960_101
        let holder = try client()
        try holder.query("BEGIN")
        try holder.query("SELECT id FROM users WHERE id = \(id)")
        let waiter = try client()
        XCTAssertSQLError("53300") { try waiter.query("SELECT id FROM users WHERE id = \(id)") }
        try holder.query("COMMIT")
        XCTAssertEqual(try waiter.query("SELECT id FROM users WHERE id = \(id)").count, 0)
    }

    func testSessionModeKeepsConnectionsPerClient() throws {
        try startProxy(size: 4, mode: "session")
        let a = try client()
        try a.query("SET statement_timeout = '777ms'")
        try a.query("CREATE TEMP TABLE pooltest_scratch (x int)")
        XCTAssertEqual(try a.query("SHOW statement_timeout"), [["777ms"]])
    }

    func testSessionAdvisoryLockPinsTheClientUnderTransactionPooling() throws {
        try startProxy(size: 2)
        let a = try client()
        XCTAssertEqual(try a.query("SELECT pg_advisory_lock(960042)"), [[""]])
        let b = try client()
        for _ in 0..<3 {
            // Were a's connection back in the pool, b could get it and take the lock again.
            XCTAssertEqual(try b.query("SELECT pg_try_advisory_lock(960042)"), [["f"]])
        }
        XCTAssertEqual(try a.query("SELECT pg_advisory_unlock(960042)"), [["t"]])
    }

    /// LISTEN pins the client under transaction pooling; a NOTIFY from another client (or
    /// `pg_notify`) reaches it while it is idle and inside its own statements.
    func testListenNotifyReachesTheListener() throws {
        try startProxy(size: 2)
        let listener = try RawClient(port: server.port)
        listener.login()
        listener.send(RawClient.message("Q", RawClient.cString("LISTEN pgshard_test_channel")))
        // (ParameterStatus: this test's shard connections carry their own application_name.)
        XCTAssertEqual(listener.readUntilReady().map(\.type).filter { $0 != "S" }, ["C", "Z"])
        // Other clients use the pool meanwhile; the listener keeps its connection.
        let other = try client()
        for n in 0..<3 { _ = try other.query("NOTIFY pgshard_test_channel, 'idle \(n)'") }
        for n in 0..<3 {
            let message = try XCTUnwrap(listener.readMessage(), "no notification \(n)")
            XCTAssertEqual(message.type, "A")
            XCTAssertTrue(String(decoding: message.body, as: UTF8.self).hasSuffix("pgshard_test_channel\u{0}idle \(n)\u{0}"))
        }
        _ = try other.query("SELECT pg_notify('pgshard_test_channel', 'by function')")
        XCTAssertEqual(listener.readMessage()?.type, "A")
        // Its own NOTIFY comes back before its ReadyForQuery, as from PostgreSQL.
        listener.send(RawClient.message("Q", RawClient.cString("NOTIFY pgshard_test_channel, 'self'")))
        XCTAssertEqual(listener.readUntilReady().map(\.type), ["C", "A", "Z"])
        listener.send(RawClient.message("Q", RawClient.cString("UNLISTEN *")))
        XCTAssertEqual(listener.readUntilReady().map(\.type), ["C", "Z"])
    }
}
