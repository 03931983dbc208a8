import Backend
import Foundation
import LocalCluster
import Logging
import Proxy
import Sharding
import XCTest

/// Faults during a two-phase commit: `pgshard run` killed (SIGKILL) at each step and started
/// again, a shard stopped in the middle of a transaction, a shard without prepared
/// transactions. Afterwards, checked directly on every shard: each transaction is on all its
/// shards or on none, and no prepared transaction is left behind.
///
/// Three shards of their own (stopping one must not disturb the other tests).
final class TwoPhaseFaultTests: XCTestCase {
    private static let shardCount = 3
    private static let hash = HashShardingFunction(shardCount: shardCount)
    private static let node = 7
    nonisolated(unsafe) private static var started: LocalCluster?
    nonisolated(unsafe) private static var nextKey: Int64 = 0

    private var cluster: LocalCluster { Self.started! }

    override class func setUp() {
        super.setUp()
        // Named by the process ID, which comes round again: what an earlier run left there
        // (rows under the keys this run inserts) must not be reused.
        let root = NSTemporaryDirectory() + "pgshard-fault-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        let cluster = LocalCluster(
            root: root, serverNames: ["f0", "f1", "f2"],
            binaries: try! PostgresBinaries.locate(), durable: false, stopReused: true)
        do {
            try cluster.start()
            try cluster.createDatabase(TestCluster.database)
            for server in cluster.servers {
                _ = try BlockingConnection(conninfo: server.conninfo(database: TestCluster.database))
                    .query("CREATE TABLE IF NOT EXISTS items (id bigint PRIMARY KEY, note text)")
            }
        } catch {
            cluster.stop()
            XCTFail("cannot start the fault-test shards: \(error)")
            return
        }
        started = cluster
    }

    override class func tearDown() {
        if let started {
            started.stop()
            try? FileManager.default.removeItem(atPath: started.root)
        }
        started = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        try XCTSkipIf(Self.started == nil, "the fault-test shards did not start")
    }

    private func yaml(port: Int) -> String {
        let shards = cluster.servers.enumerated().map {
            "  - { name: f\($0.offset), primary: \"\($0.element.conninfo(database: TestCluster.database))\" }"
        }
        return """
            listen: { host: 127.0.0.1, port: \(port) }
            node_id: \(Self.node)
            users:
              - { name: app, password: \(TestCluster.password) }
            shards:
            \(shards.joined(separator: "\n"))
            tables:
              items: { key: id, type: bigint }
            transactions: { recovery_interval: 1s }
            """
    }

    private func shard(_ index: Int) throws -> BlockingConnection {
        try BlockingConnection(conninfo: cluster.servers[index].conninfo(database: TestCluster.database))
    }

    /// One fresh key on each shard, in shard order.
    private func keys() -> [Int64] {
        (0..<Self.shardCount).map { shard in
            var key = Self.nextKey + 1
            while Self.hash.shardIndex(for: [.integer(key)]) != shard { key += 1 }
            Self.nextKey = key
            return key
        }
    }

    /// How many of `keys` (key i on shard i) are on their shards.
    private func present(_ keys: [Int64]) throws -> Int {
        try keys.enumerated().reduce(0) { sum, item in
            sum + (try shard(item.offset).query("SELECT 1 FROM items WHERE id = \(item.element)").count)
        }
    }

    private func prepared() throws -> Int {
        try (0..<Self.shardCount).reduce(0) { sum, index in
            sum + Int(try shard(index).query("SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'pgshard:%'")[0][0]!)!
        }
    }

    /// Waits (at most 15 s) until no prepared transaction of pgshard is left.
    private func waitUntilNothingPrepared() throws {
        for _ in 0..<150 {
            if try prepared() == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("prepared transactions are still left: \(try prepared())")
    }

    /// `pgshard run` on this cluster, with `PGSHARD_FAILPOINT` when given; returns once it accepts clients.
    private func runProxy(port: Int, failpoint: String?) throws -> Process {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = cluster.root + "/pgshard-\(port).yaml"  // removed with the cluster
        try yaml(port: port).write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = repository.appendingPathComponent(".build/debug/pgshard")
        process.arguments = ["run", "--config", file]
        var environment = ProcessInfo.processInfo.environment
        environment["PGSHARD_FAILPOINT"] = failpoint
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if (try? TestCluster.proxyConnection(port: port)) != nil { return process }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        throw XCTSkip("pgshard run did not start")
    }

    /// Kills pgshard at `failpoint` during the commit of a transaction that wrote on all three
    /// shards, starts it again, and checks the transaction ended as `expected` rows (0 or 3).
    private func crash(at failpoint: String, expected: Int) throws {
        let port = try LocalCluster.freePort()
        let keys = keys()
        let doomed = try runProxy(port: port, failpoint: failpoint)
        defer { if doomed.isRunning { doomed.terminate() } }
        let client = try TestCluster.proxyConnection(port: port)
        try client.query("BEGIN")
        for key in keys { try client.query("INSERT INTO items (id, note) VALUES (\(key), '\(failpoint)')") }
        XCTAssertThrowsError(try client.query("COMMIT"), "pgshard should have died at \(failpoint)")
        doomed.waitUntilExit()
        XCTAssertEqual(doomed.terminationReason, .uncaughtSignal)
        // What the crash left: prepared parts for recovery to end (the coordinator's part is
        // never prepared: it commits with the decision).
        let left = try prepared()
        switch failpoint {
        case "before-prepare": XCTAssertEqual(left, 0)
        case "between-prepares", "between-commits": XCTAssertEqual(left, 1)
        default: XCTAssertEqual(left, Self.shardCount - 1)
        }

        let restarted = try runProxy(port: port, failpoint: nil)
        defer {
            restarted.terminate()
            restarted.waitUntilExit()
        }
        try waitUntilNothingPrepared()
        XCTAssertEqual(try present(keys), expected, "after a crash at \(failpoint)")
        // The restarted pgshard works.
        let next = self.keys()
        let again = try TestCluster.proxyConnection(port: port)
        try again.query("BEGIN")
        for key in next { try again.query("INSERT INTO items (id) VALUES (\(key))") }
        try again.query("COMMIT")
        XCTAssertEqual(try present(next), Self.shardCount)
    }

    func testCrashBeforePrepareLeavesNothing() throws {
        try crash(at: "before-prepare", expected: 0)
    }

    func testCrashBetweenPreparesRollsBackEverywhere() throws {
        try crash(at: "between-prepares", expected: 0)
    }

    func testCrashAfterTheDecisionCommitsEverywhere() throws {
        try crash(at: "after-decision", expected: Self.shardCount)
    }

    func testCrashBetweenCommitsCommitsEverywhere() throws {
        try crash(at: "between-commits", expected: Self.shardCount)
    }

    private func inProcessProxy() throws -> ProxyServer {
        var logger = Logger(label: "pgshard.test.fault")
        logger.logLevel = .critical
        let server = ProxyServer(config: try ProxyConfig.parse(yaml: yaml(port: 0)), logger: logger)
        try server.start()
        return server
    }

    /// A shard stops before COMMIT: the client gets the error, the other shards roll back.
    func testShardStoppedMidTransactionRollsBackTheOthers() throws {
        let server = try inProcessProxy()
        defer { server.stop() }
        let keys = keys()
        let client = try TestCluster.proxyConnection(port: server.port)
        try client.query("BEGIN")
        for key in keys { try client.query("INSERT INTO items (id) VALUES (\(key))") }
        cluster.stopServer("f2")
        defer { try? cluster.start() }
        XCTAssertThrowsError(try client.query("COMMIT"))
        try cluster.start()
        try waitUntilNothingPrepared()
        XCTAssertEqual(try present(keys), 0)
        // The session goes on once the shard is back.
        let next = self.keys()
        let again = try TestCluster.proxyConnection(port: server.port)
        try again.query("BEGIN")
        for key in next { try again.query("INSERT INTO items (id) VALUES (\(key))") }
        try again.query("COMMIT")
        XCTAssertEqual(try present(next), Self.shardCount)
    }

    /// A shard with max_prepared_transactions = 0: a write on several shards is refused with
    /// what to change, nothing is committed, `pgshard check` says so; one shard still works.
    func testShardWithoutPreparedTransactionsRefusesMultiShardWrites() throws {
        try shard(2).query("ALTER SYSTEM SET max_prepared_transactions = 0")
        cluster.stopServer("f2")
        try cluster.start()
        defer {
            _ = try? shard(2).query("ALTER SYSTEM RESET max_prepared_transactions")
            cluster.stopServer("f2")
            try? cluster.start()
        }
        let config = try ProxyConfig.parse(yaml: yaml(port: 0))
        let check = ConfigCheck.run(config)
        XCTAssertTrue(check.contains { !$0.ok && $0.text.contains("f2") && $0.text.contains("max_prepared_transactions is 0") },
                      check.map(\.text).joined(separator: "\n"))
        let server = try inProcessProxy()
        defer { server.stop() }
        let keys = keys()
        let client = try TestCluster.proxyConnection(port: server.port)
        try client.query("BEGIN")
        try client.query("INSERT INTO items (id) VALUES (\(keys[0]))")
        try client.query("INSERT INTO items (id) VALUES (\(keys[2]))")
        XCTAssertSQLError("55000") { try client.query("COMMIT") }
        XCTAssertEqual(try present(keys), 0)
        XCTAssertEqual(try prepared(), 0)
        try client.query("INSERT INTO items (id) VALUES (\(keys[2]))")
        XCTAssertEqual(try present(keys), 1)
    }
}
