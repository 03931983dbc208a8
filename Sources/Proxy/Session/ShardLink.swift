import Backend
import SQLRouter

/// A session's place on one shard: its backend connection, if open, and whether the client's
/// transaction has been opened there.
final class ShardLink {
    let index: Int
    let name: String
    /// Where the link's connections come from and go back to.
    let pool: ShardPool
    var connection: BackendConnection?
    /// BEGIN (and the transaction's savepoints) were sent on this connection.
    var inTransaction = false
    /// The `parameterFingerprint` of the connection whose parameters the client was last told
    /// about: the same again, there is nothing to report.
    var reportedFingerprint: Int?
    /// The connection's `receiverGeneration` right after the batch's handler was installed.
    var batchReceiver: Int?
    /// Reads the link's answers to the session's extended-protocol batches; made at first use.
    var answerReceiver: BatchAnswerReceiver?

    init(index: Int, name: String, pool: ShardPool) {
        self.index = index
        self.name = name
        self.pool = pool
    }

    var isUsable: Bool {
        guard let connection else { return false }
        return connection.isConnected && !connection.isBroken
    }

    /// Closes a connection that failed or carries state no other client may inherit.
    func close() {
        if let connection { pool.release(connection, reusable: false) }
        connection = nil
        inTransaction = false
    }
}

/// The client's explicit transaction.
struct TransactionState {
    /// The statement that opens the same transaction on a shard ("BEGIN ISOLATION LEVEL ...").
    var begin: String
    /// Savepoints in order, replayed on shards that join the transaction later.
    var savepoints: [String] = []
    /// SET statements issued inside the transaction, with the number of savepoints at the time:
    /// they become session settings at COMMIT and are dropped by ROLLBACK (TO).
    var pendingSettings: [(sql: String, savepointDepth: Int, isLocal: Bool)] = []
    /// `SET LOCAL pgshard.shard|key`: the transaction's routing hints (nil: reset locally).
    var localHints: [String: RoutingHint?] = [:]
    /// A shard connection of the transaction was lost: nothing but ROLLBACK can end it.
    var lostShard = false
    /// An error happened: only ROLLBACK (TO SAVEPOINT) or COMMIT are accepted.
    var failed = false
}
