import Backend

/// A session's place on one shard: its backend connection, if open, and whether the client's
/// transaction has been opened there.
final class ShardLink {
    let index: Int
    let name: String
    let conninfo: String
    var connection: BackendConnection?
    /// How many of the session's settings this connection has run.
    var settingsApplied = 0
    /// BEGIN (and the transaction's savepoints) were sent on this connection.
    var inTransaction = false

    init(index: Int, name: String, conninfo: String) {
        self.index = index
        self.name = name
        self.conninfo = conninfo
    }

    var isUsable: Bool {
        guard let connection else { return false }
        return connection.isConnected && !connection.isBroken
    }

    func close() {
        connection?.close()
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
    /// A shard connection of the transaction was lost: nothing but ROLLBACK can end it.
    var lostShard = false
    /// An error happened: only ROLLBACK (TO SAVEPOINT) or COMMIT are accepted.
    var failed = false
}
