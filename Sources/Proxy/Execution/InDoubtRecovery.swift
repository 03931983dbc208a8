import Backend
import Dispatch
import Foundation
import Logging

/// The decision table every shard holds: one row per distributed transaction that committed
/// (written by its coordinator in the transaction itself) or that recovery declared aborted.
enum CommitDecisions {
    static let table = "pgshard.commit_decisions"

    /// (Quietly: "already exists, skipping" notices would reach libpq's stderr at every start.)
    static let create = """
        SET client_min_messages = warning;
        CREATE SCHEMA IF NOT EXISTS pgshard;
        CREATE TABLE IF NOT EXISTS pgshard.commit_decisions (
            transaction text PRIMARY KEY,
            decision text NOT NULL CHECK (decision IN ('commit', 'abort')),
            participants text[] NOT NULL DEFAULT '{}',
            decided_at timestamptz NOT NULL DEFAULT now())
        """
}

/// Finds the prepared transactions this node left behind (pgshard died or lost a shard during
/// a two-phase commit) and commits or rolls back each one as its coordinator's decision table
/// says: at start, every `interval` seconds, and soon after a commit whose outcome was lost.
///
/// A transaction without a decision row gets an `abort` row first, inserted on the coordinator
/// with `ON CONFLICT DO NOTHING`: if the coordinator's own commit is still running, that insert
/// waits for it and then sees its row; if the coordinator never got that far, its later insert
/// fails on the key and it rolls back. Either way every participant ends the same way.
/// Transactions whose commit is running in this process are left alone.
final class InDoubtRecovery: @unchecked Sendable {
    private let shards: [(name: String, conninfo: String)]
    private let transactions: DistributedTransactions
    private let connectTimeout: Int
    private let interval: Double
    private let logger: Logger
    private let metrics: ProxyMetrics
    private let task = PeriodicTask(label: "pgshard.recovery")
    // Touched on the task's queue only.
    private var soon = false

    /// Decision rows older than this, whose transaction has nothing prepared on any shard, are deleted.
    static let decisionRetention: Double = 600

    init(context: ProxyContext) {
        self.shards = context.config.shards.map { ($0.name, $0.primary) }
        self.transactions = context.transactions
        self.connectTimeout = Int(context.config.backend.connectTimeout.rounded(.up))
        self.interval = context.config.transactions.recoveryInterval
        self.logger = context.logger
        self.metrics = context.metrics
    }

    func start() {
        task.start(after: interval, every: interval) { [weak self] in self?.pass() }
    }

    func stop() {
        task.stop()
    }

    /// A pass within a second (after a commit whose outcome is unknown).
    func passSoon() {
        task.queue.async { [self] in
            guard !soon, task.isRunning else { return }
            soon = true
            task.queue.asyncAfter(deadline: .now() + 1) { [weak self] in
                guard let self else { return }
                self.soon = false
                if self.task.isRunning { self.pass() }
            }
        }
    }

    /// One pass over every shard, now, on the caller's thread (tests) or the timer's.
    /// Returns the number of prepared transactions it ended.
    @discardableResult
    func pass() -> Int {
        var connections: [String: BlockingConnection] = [:]
        var pending: [(shard: String, gid: String, transaction: GlobalTransaction, coordinatorTag: String)] = []
        var everyShardListed = true
        let pattern = GlobalTransaction.pattern(node: transactions.nodeID)
        for shard in shards {
            guard let connection = try? BlockingConnection(conninfo: shard.conninfo, timeout: connectTimeout) else {
                everyShardListed = false
                continue
            }
            connections[shard.name] = connection
            prepareTable(shard.name, connection)
            guard let rows = try? connection.query(
                "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE database = current_database() AND gid LIKE $1",
                parameters: [Array(pattern.utf8)])
            else {
                everyShardListed = false
                continue
            }
            for row in rows {
                guard let gid = row[0] ?? nil, let parsed = GlobalTransaction.parse(gid) else { continue }
                pending.append((shard.name, gid, parsed.transaction, parsed.coordinatorTag))
            }
        }
        var ended = 0
        var decisions: [UInt64: String] = [:]
        for item in pending where !transactions.isRunning(item.transaction.id) {
            let decision: String
            if let known = decisions[item.transaction.id] {
                decision = known
            } else {
                guard let coordinator = shards.first(where: { GlobalTransaction.tag($0.name) == item.coordinatorTag }),
                      let connection = connections[coordinator.name],
                      let decided = decide(item.transaction, on: connection)
                else {
                    logger.error("in-doubt transaction: its coordinator shard cannot be read", metadata: [
                        "transaction": "\(item.transaction.key)", "shard.name": "\(item.shard)",
                    ])
                    continue
                }
                decision = decided
                decisions[item.transaction.id] = decided
            }
            let sql = (decision == "commit" ? "COMMIT PREPARED '" : "ROLLBACK PREPARED '") + item.gid + "'"
            do {
                _ = try connections[item.shard]?.command(sql)
                ended += 1
                metrics.transactionRecovered(decision: decision)
                logger.warning("in-doubt transaction resolved", metadata: [
                    "transaction": "\(item.transaction.key)", "shard.name": "\(item.shard)", "decision": "\(decision)",
                ])
            } catch {
                // Already ended by someone else (42704), or the shard is busy: the next pass sees.
                logger.info("in-doubt transaction not ended in this pass", metadata: [
                    "transaction": "\(item.transaction.key)", "shard.name": "\(item.shard)", "error": "\(error)",
                ])
            }
        }
        if everyShardListed {
            removeOldDecisions(connections, keep: Set(pending.map(\.transaction.key)))
        }
        return ended
    }

    /// The coordinator's decision; an `abort` row is recorded when it has none.
    private func decide(_ transaction: GlobalTransaction, on connection: BlockingConnection) -> String? {
        let key = Array(transaction.key.utf8)
        _ = try? connection.query(
            "INSERT INTO \(CommitDecisions.table) (transaction, decision) VALUES ($1, 'abort') ON CONFLICT (transaction) DO NOTHING",
            parameters: [key])
        guard let rows = try? connection.query("SELECT decision FROM \(CommitDecisions.table) WHERE transaction = $1", parameters: [key]),
              let decision = rows.first?.first ?? nil
        else { return nil }
        return decision
    }

    /// Creates the decision table on a shard, once per process (a failure is retried next pass;
    /// meanwhile commits choose another coordinator, or fail cleanly without one).
    private func prepareTable(_ shard: String, _ connection: BlockingConnection) {
        guard !transactions.hasDecisionTable(on: shard) else { return }
        do {
            _ = try connection.command(CommitDecisions.create)
            transactions.decisionTableReady(on: shard)
        } catch {
            logger.warning("cannot create the commit decision table", metadata: ["shard.name": "\(shard)", "error": "\(error)"])
        }
    }

    /// Deletes this node's decision rows that no prepared transaction needs any more. Only
    /// after a pass that listed every shard, and only rows older than `decisionRetention`: a
    /// transaction's participants prepare before its row exists, so an old row whose
    /// transaction is prepared nowhere is finished.
    private func removeOldDecisions(_ connections: [String: BlockingConnection], keep: Set<String>) {
        let kept = "{" + keep.map { "\"\($0)\"" }.joined(separator: ",") + "}"
        for connection in connections.values {
            _ = try? connection.query(
                "DELETE FROM \(CommitDecisions.table) WHERE transaction LIKE $1 AND decided_at < now() - make_interval(secs => $2::float8) "
                    + "AND transaction <> ALL($3::text[])",
                parameters: [Array("\(transactions.nodeID):%".utf8), Array(String(Self.decisionRetention).utf8), Array(kept.utf8)])
        }
    }
}
