import Foundation
import Sharding

/// What every session's two-phase commits and the recovery pass share: the transaction ids
/// this process hands out, the ones whose commit is running now (recovery leaves those
/// alone), and the test-only failpoint.
///
/// A transaction that wrote on several shards commits like this (see docs/transactions.md):
/// every participant but one — the coordinator — runs `PREPARE TRANSACTION`; the coordinator
/// then inserts the decision row into `pgshard.commit_decisions` and commits, which makes the
/// decision durable in the same step that commits its own part; then every prepared participant
/// gets `COMMIT PREPARED`. A pgshard that dies anywhere in between leaves prepared transactions
/// whose fate the decision table says: a row means commit; no row means abort, made final by
/// recovery inserting an `abort` row (a coordinator still running would then fail on the key).
final class DistributedTransactions: @unchecked Sendable {
    /// This instance's node id: part of every transaction id, so instances never share one and
    /// recovery resolves only what this instance created.
    let nodeID: Int
    /// Where the test suite stops pgshard (SIGKILL) during a commit: `PGSHARD_FAILPOINT`.
    let failpoint: Failpoint?
    private let ids: GlobalIDGenerator
    private let lock = NSLock()
    // Guarded by `lock`.
    private var running: Set<UInt64> = []
    /// Shards known to hold the decision table (created by recovery).
    private var decisionTables: Set<String> = []
    /// Set by the server: runs a recovery pass soon (a commit whose outcome became unknown).
    private var onRecoveryNeeded: (@Sendable () -> Void)?

    init(nodeID: Int, failpoint: Failpoint? = Failpoint(environment: ProcessInfo.processInfo.environment)) {
        self.nodeID = nodeID
        self.ids = GlobalIDGenerator(nodeID: nodeID)
        self.failpoint = failpoint
    }

    /// A new transaction id — a global id (time, node, sequence), so unique across instances
    /// and restarts — marked as committing until `finished` is called.
    func begin() -> GlobalTransaction {
        let id = UInt64(ids.next().value)
        lock.withLock { _ = running.insert(id) }
        return GlobalTransaction(node: nodeID, id: id)
    }

    /// The commit of `transaction` is over: whatever it left prepared is recovery's now.
    func finished(_ transaction: GlobalTransaction, needsRecovery: Bool = false) {
        let callback = lock.withLock {
            running.remove(transaction.id)
            return needsRecovery ? onRecoveryNeeded : nil
        }
        callback?()
    }

    /// Recovery created (or found) the decision table on `shard`.
    func decisionTableReady(on shard: String) {
        lock.withLock { _ = decisionTables.insert(shard) }
    }

    func hasDecisionTable(on shard: String) -> Bool {
        lock.withLock { decisionTables.contains(shard) }
    }

    func isRunning(_ id: UInt64) -> Bool {
        lock.withLock { running.contains(id) }
    }

    func onRecoveryNeeded(_ action: @escaping @Sendable () -> Void) {
        lock.withLock { onRecoveryNeeded = action }
    }

    /// Stops the process at `point` when the test suite asked for it.
    func reached(_ point: Failpoint) {
        guard point == failpoint else { return }
        kill(getpid(), SIGKILL)
    }
}

/// The steps of a two-phase commit where a fault test kills pgshard.
enum Failpoint: String, Sendable {
    /// Every statement ran; no participant has prepared yet.
    case beforePrepare = "before-prepare"
    /// The first participant answered PREPARE TRANSACTION.
    case betweenPrepares = "between-prepares"
    /// The coordinator committed the decision; no COMMIT PREPARED sent yet.
    case afterDecision = "after-decision"
    /// The first participant answered COMMIT PREPARED.
    case betweenCommits = "between-commits"

    init?(environment: [String: String]) {
        guard let value = environment["PGSHARD_FAILPOINT"], let point = Failpoint(rawValue: value) else { return nil }
        self = point
    }
}

/// One distributed transaction: its id and how its prepared parts are named on the shards.
struct GlobalTransaction: Sendable, Equatable {
    let node: Int
    let id: UInt64

    /// The decision table's key: `node:id`.
    var key: String { "\(node):\(id)" }

    /// The `PREPARE TRANSACTION` identifier of the participant `participant`, whose decision
    /// `coordinator` holds: `pgshard:node:id:coordinator:participant`, shards by name hash.
    /// The participant's part keeps identifiers unique when two shards are databases of one
    /// server (prepared transaction names are server-wide).
    func gid(coordinator: String, participant: String) -> String {
        "pgshard:\(key):\(Self.tag(coordinator)):\(Self.tag(participant))"
    }

    /// The `LIKE` pattern of every identifier node `node` creates.
    static func pattern(node: Int) -> String { "pgshard:\(node):%" }

    /// Reads an identifier made by `gid(coordinator:participant:)`.
    static func parse(_ gid: String) -> (transaction: GlobalTransaction, coordinatorTag: String)? {
        let parts = gid.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "pgshard", let node = Int(parts[1]), let id = UInt64(parts[2]) else { return nil }
        return (GlobalTransaction(node: node, id: id), String(parts[3]))
    }

    /// A shard's short, stable tag: 32-bit FNV-1a of its name, in hex.
    static func tag(_ shardName: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in shardName.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
