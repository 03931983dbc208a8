import Backend
import Foundation
import Sharding
import XCTest

@testable import Proxy

/// Transactions that write on several shards commit on all of them or on none: two-phase
/// commit with the decision recorded on the coordinator, and recovery of what is left prepared.
final class TwoPhaseCommitTests: XCTestCase {
    private static let hash = HashShardingFunction(shardCount: 4)
    /// `tpc_items.v` is unique per shard, checked at commit: a duplicate makes PREPARE (or the
    /// coordinator's COMMIT) fail after every statement succeeded.
    private static let table = """
        CREATE TABLE IF NOT EXISTS tpc_items (id bigint PRIMARY KEY, v int,
                                              CONSTRAINT tpc_items_v UNIQUE (v) DEFERRABLE INITIALLY DEFERRED)
        """
    nonisolated(unsafe) private static var nextKey: Int64 = 1_000

    private func cluster() throws -> TestCluster {
        let cluster = try TestCluster.shared()
        _ = try cluster.proxyConnection().query(Self.table)
        return cluster
    }

    /// A fresh key on `shard`.
    private func key(on shard: Int) -> Int64 {
        var key = Self.nextKey + 1
        while Self.hash.shardIndex(for: [.integer(key)]) != shard { key += 1 }
        Self.nextKey = key
        return key
    }

    private func ids(on shard: Int, _ cluster: TestCluster) throws -> Set<Int64> {
        Set(try cluster.shardConnection(shard).query("SELECT id FROM tpc_items").compactMap { $0[0].flatMap { Int64($0) } })
    }

    private func preparedCount(_ cluster: TestCluster) throws -> Int {
        try (0..<4).reduce(0) { sum, shard in
            sum + Int(try cluster.shardConnection(shard).query("SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'pgshard:%'")[0][0]!)!
        }
    }

    private func decisions(_ cluster: TestCluster, where condition: String = "true") throws -> Int {
        try (0..<4).reduce(0) { sum, shard in
            let rows = try cluster.shardConnection(shard).query("SELECT count(*) FROM pgshard.commit_decisions WHERE \(condition)")
            return sum + Int(rows[0][0]!)!
        }
    }

    func testTransactionWritingOnTwoShardsCommitsWithItsDecisionOnTheFirst() throws {
        let cluster = try cluster()
        let (a, b) = (key(on: 1), key(on: 3))
        let client = try cluster.proxyConnection()
        try client.query("BEGIN")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(a), NULL)")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(b), NULL)")
        try client.query("COMMIT")
        XCTAssertTrue(try ids(on: 1, cluster).contains(a))
        XCTAssertTrue(try ids(on: 3, cluster).contains(b))
        XCTAssertEqual(try preparedCount(cluster), 0)
        let recorded = try cluster.shardConnection(1).query(
            "SELECT decision FROM pgshard.commit_decisions WHERE participants @> ARRAY['s1', 's3'] AND decided_at > now() - interval '1 minute'")
        XCTAssertTrue(recorded.contains(["commit"]), "\(recorded)")
    }

    func testShardsThatOnlyReadDoNotMakeItTwoPhase() throws {
        let cluster = try cluster()
        let before = try decisions(cluster)
        let client = try cluster.proxyConnection()
        try client.query("BEGIN")
        _ = try client.query("SELECT * FROM tpc_items WHERE id = \(key(on: 0))")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(key(on: 2)), NULL)")
        _ = try client.query("SELECT * FROM tpc_items WHERE id = \(key(on: 3))")
        try client.query("COMMIT")
        XCTAssertEqual(try decisions(cluster), before)
    }

    /// A participant whose PREPARE fails (deferred unique check): every shard rolls back.
    func testFailedPrepareRollsBackEveryShard() throws {
        let cluster = try cluster()
        let (a, b, c) = (key(on: 0), key(on: 2), key(on: 2))
        let client = try cluster.proxyConnection()
        try client.query("BEGIN")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(a), 1)")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(b), 70001), (\(c), 70001)")
        XCTAssertSQLError("23505") { try client.query("COMMIT") }
        XCTAssertFalse(try ids(on: 0, cluster).contains(a))
        XCTAssertTrue(try ids(on: 2, cluster).isDisjoint(with: [b, c]))
        XCTAssertEqual(try preparedCount(cluster), 0)
        XCTAssertEqual(try client.query("SELECT 1"), [["1"]])
    }

    /// The coordinator's own commit fails after the others prepared: they are rolled back.
    func testFailedDecisionRollsBackThePreparedShards() throws {
        let cluster = try cluster()
        let (a, b, c) = (key(on: 0), key(on: 0), key(on: 3))
        let client = try cluster.proxyConnection()
        try client.query("BEGIN")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(a), 70002), (\(b), 70002)")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(c), 2)")
        XCTAssertSQLError("23505") { try client.query("COMMIT") }
        XCTAssertTrue(try ids(on: 0, cluster).isDisjoint(with: [a, b]))
        XCTAssertFalse(try ids(on: 3, cluster).contains(c))
        XCTAssertEqual(try preparedCount(cluster), 0)
    }

    /// One statement across shards outside a transaction (a split INSERT, a keyless UPDATE)
    /// is atomic too.
    func testStatementsAcrossShardsCommitAtomically() throws {
        let cluster = try cluster()
        let (a, b) = (key(on: 1), key(on: 2))
        let client = try cluster.proxyConnection()
        let before = try decisions(cluster)
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(a), 70003), (\(b), 70004)")
        XCTAssertGreaterThan(try decisions(cluster), before)
        // b's shard gets a duplicate v at commit: a keeps its old value.
        let c = key(on: 2)
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(c), 70005)")
        XCTAssertSQLError("23505") { try client.query("UPDATE tpc_items SET v = 70005 WHERE id IN (\(a), \(b))") }
        XCTAssertEqual(try cluster.shardConnection(1).query("SELECT v FROM tpc_items WHERE id = \(a)"), [["70003"]])
        XCTAssertEqual(try preparedCount(cluster), 0)
        // A reference-table write changes every shard's copy in one two-phase transaction.
        let beforeReference = try decisions(cluster)
        try client.query("INSERT INTO countries (code, name) VALUES ('tp', 'Two-Phase') ON CONFLICT (code) DO NOTHING")
        XCTAssertEqual(try decisions(cluster), beforeReference + 1)
        for shard in 0..<4 {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT name FROM countries WHERE code = 'tp'"), [["Two-Phase"]])
        }
    }

    /// Prepared transactions without a process that commits them: recovery ends each one as
    /// its coordinator's decision table says — no row means abort, and the abort is recorded.
    func testRecoveryEndsPreparedTransactionsAsTheDecisionSays() throws {
        let cluster = try cluster()
        let server = try cluster.startProxy()
        defer { server.stop() }
        let (committed, aborted) = (key(on: 1), key(on: 1))
        let node = cluster.config.nodeID
        let base = UInt64(Date().timeIntervalSince1970 * 1_000_000) - 1_000_000_000
        let commitTransaction = GlobalTransaction(node: node, id: base)
        let abortTransaction = GlobalTransaction(node: node, id: base + 1)
        for (id, transaction) in [(committed, commitTransaction), (aborted, abortTransaction)] {
            let shard = try cluster.shardConnection(1)
            try shard.query("BEGIN")
            try shard.query("INSERT INTO tpc_items (id, v) VALUES (\(id), NULL)")
            try shard.query("PREPARE TRANSACTION '\(transaction.gid(coordinator: "s0", participant: "s1"))'")
        }
        try cluster.shardConnection(0).query(
            "INSERT INTO pgshard.commit_decisions (transaction, decision) VALUES ('\(commitTransaction.key)', 'commit')")
        server.recoverTransactions()
        XCTAssertEqual(try preparedCount(cluster), 0)
        let present = try ids(on: 1, cluster)
        XCTAssertTrue(present.contains(committed))
        XCTAssertFalse(present.contains(aborted))
        XCTAssertEqual(try cluster.shardConnection(0).query(
            "SELECT decision FROM pgshard.commit_decisions WHERE transaction = '\(abortTransaction.key)'"), [["abort"]])
    }

    /// DDL reaches every shard in one two-phase transaction: a failure on one shard leaves it nowhere.
    func testDDLIsAtomicAcrossShards() throws {
        let cluster = try cluster()
        // The index exists on shard 2 only: CREATE INDEX fails there, so no shard keeps it.
        try cluster.shardConnection(2).query("CREATE INDEX IF NOT EXISTS tpc_items_v_idx ON tpc_items (v)")
        defer { _ = try? cluster.shardConnection(2).query("DROP INDEX IF EXISTS tpc_items_v_idx") }
        let client = try cluster.proxyConnection()
        XCTAssertSQLError("42P07") { try client.query("CREATE INDEX tpc_items_v_idx ON tpc_items (v)") }
        for shard in [0, 1, 3] {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT to_regclass('tpc_items_v_idx') IS NULL"), [["t"]])
        }
        XCTAssertEqual(try preparedCount(cluster), 0)
    }

    /// DDL that cannot run in a transaction goes shard by shard; a failure says which shards have it.
    func testConcurrentIndexGoesShardByShardAndReportsWhereItFailed() throws {
        let cluster = try cluster()
        let client = try cluster.proxyConnection()
        try client.query("CREATE INDEX CONCURRENTLY IF NOT EXISTS tpc_items_id_v ON tpc_items (id, v)")
        for shard in 0..<4 {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT to_regclass('tpc_items_id_v') IS NOT NULL"), [["t"]])
        }
        // Shard 2 has an index of that name already: shards 0 and 1 get it, 2 fails, 3 is not reached.
        try cluster.shardConnection(2).query("CREATE INDEX tpc_items_v_only ON tpc_items (v)")
        defer {
            _ = try? client.query("DROP INDEX CONCURRENTLY IF EXISTS tpc_items_v_only")
            _ = try? client.query("DROP INDEX CONCURRENTLY IF EXISTS tpc_items_id_v")
        }
        do {
            try client.query("CREATE INDEX CONCURRENTLY tpc_items_v_only ON tpc_items (v)")
            XCTFail("CREATE INDEX CONCURRENTLY should have failed on shard 2")
        } catch {
            XCTAssertEqual(error.sqlState, "42P07")
            XCTAssertTrue(error.diagnostics["D"]?.contains("It failed on shard s2; shard(s) s0, s1 have it; not run on s3") == true, "\(error)")
        }
        let present = try (0..<4).map { try cluster.shardConnection($0).query("SELECT to_regclass('tpc_items_v_only') IS NOT NULL")[0][0]! }
        XCTAssertEqual(present, ["t", "t", "t", "f"])
    }

    /// Several statements in one Query are one transaction, as in PostgreSQL: an error in the
    /// last undoes the first on another shard; without an error they commit in two phases.
    func testAQueryWithSeveralStatementsIsOneTransaction() throws {
        let cluster = try cluster()
        let client = try cluster.proxyConnection()
        let (a, b) = (key(on: 0), key(on: 1))
        XCTAssertSQLError("22012") {
            try client.query("INSERT INTO tpc_items (id) VALUES (\(a)); INSERT INTO tpc_items (id) VALUES (\(b)); SELECT 1 / 0 FROM tpc_items WHERE id = \(b)")
        }
        XCTAssertFalse(try ids(on: 0, cluster).contains(a))
        XCTAssertFalse(try ids(on: 1, cluster).contains(b))
        let before = try decisions(cluster)
        try client.query("INSERT INTO tpc_items (id) VALUES (\(a)); INSERT INTO tpc_items (id) VALUES (\(b))")
        XCTAssertTrue(try ids(on: 0, cluster).contains(a))
        XCTAssertTrue(try ids(on: 1, cluster).contains(b))
        XCTAssertEqual(try decisions(cluster), before + 1)
        XCTAssertEqual(try client.query("SELECT 1"), [["1"]])
    }

    /// An extended-protocol batch (one Sync) outside a transaction block is one transaction:
    /// its writes on two shards commit in two phases before ReadyForQuery.
    func testAnExtendedBatchAcrossShardsCommitsAtomically() throws {
        let cluster = try cluster()
        let before = try decisions(cluster)
        let (a, b) = (key(on: 2), key(on: 3))
        let client = try RawClient(port: cluster.proxy.port)
        client.login()
        func int16(_ v: Int16) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
        var batch: [UInt8] = []
        for id in [a, b] {
            batch += RawClient.message("P", RawClient.cString("") + RawClient.cString("INSERT INTO tpc_items (id, v) VALUES (\(id), NULL)") + int16(0))
            batch += RawClient.message("B", RawClient.cString("") + RawClient.cString("") + int16(0) + int16(0) + int16(0))
            batch += RawClient.message("E", RawClient.cString("") + RawClient.int32(0))
        }
        batch += RawClient.message("S", [])
        client.send(batch)
        let answers = client.readUntilReady()
        XCTAssertEqual(answers.map(\.type), ["1", "2", "C", "1", "2", "C", "Z"])
        XCTAssertEqual(answers.last?.body, [UInt8(ascii: "I")])
        XCTAssertTrue(try ids(on: 2, cluster).contains(a))
        XCTAssertTrue(try ids(on: 3, cluster).contains(b))
        XCTAssertEqual(try decisions(cluster), before + 1)
        XCTAssertEqual(try preparedCount(cluster), 0)
    }

    /// A shard that only took part by reading (or notifying) ends with the decision: a NOTIFY
    /// of a transaction that fails to commit elsewhere is never delivered.
    func testReadOnlyShardsEndWithTheDecision() throws {
        let cluster = try cluster()
        let listener = try RawClient(port: cluster.proxy.port)
        listener.login()
        listener.send(RawClient.message("Q", RawClient.cString("LISTEN tpc_channel")))
        XCTAssertEqual(listener.readUntilReady().map(\.type).filter { $0 != "S" }, ["C", "Z"])
        let client = try cluster.proxyConnection()
        let (a, b, c) = (key(on: 1), key(on: 2), key(on: 2))
        try client.query("BEGIN")
        try client.query("NOTIFY tpc_channel, 'rolled back'")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(a), NULL)")
        try client.query("INSERT INTO tpc_items (id, v) VALUES (\(b), 70010), (\(c), 70010)")
        XCTAssertSQLError("23505") { try client.query("COMMIT") }
        try client.query("NOTIFY tpc_channel, 'committed'")
        let notification = try XCTUnwrap(listener.readMessage())
        XCTAssertEqual(notification.type, "A")
        XCTAssertTrue(String(decoding: notification.body, as: UTF8.self).hasSuffix("tpc_channel\u{0}committed\u{0}"),
                      String(decoding: notification.body, as: UTF8.self))
    }
}
