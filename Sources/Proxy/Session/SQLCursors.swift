/// A SQL cursor the client declared, as the session keeps it: the shards whose connections
/// hold it, and the transaction rules that end it.
struct SQLCursor: Equatable {
    /// Its name as PostgreSQL folds it.
    let name: String
    /// The shards holding it, in the order FETCH reads them (one for most cursors).
    let shards: [Int]
    /// `WITH HOLD`: it outlives the transaction that declared it, if that transaction commits.
    let withHold: Bool
    /// For a cursor on several shards: the position in ``shards`` the next FETCH reads from
    /// (every shard before it has been read to its end).
    var current = 0
    /// Declared in the transaction in progress (a transaction block, or the implicit one of a
    /// statement or batch): how that transaction ends decides whether the cursor stays.
    var uncommitted = true
    /// The number of savepoints open when it was declared: ROLLBACK TO one of them closes it.
    var savepointDepth = 0

    init(name: String, shards: [Int], withHold: Bool, savepointDepth: Int = 0) {
        self.name = name
        self.shards = shards
        self.withHold = withHold
        self.savepointDepth = savepointDepth
    }

    /// Several shards hold it: FETCH and MOVE read them one after the other.
    var spansShards: Bool { shards.count > 1 }

    /// The shard the cursor reads now: its current row, if it stands on one, is there.
    var currentShard: Int { shards[min(max(current, 0), shards.count - 1)] }
}

/// The session's SQL cursors by name, with PostgreSQL's rules for when they end: a cursor
/// without hold ends with its transaction; a WITH HOLD cursor ends with the session, unless
/// the transaction that declared it rolls back; ROLLBACK TO SAVEPOINT closes the cursors
/// declared after the savepoint (FETCH positions and CLOSE are not undone, as in PostgreSQL).
struct SQLCursors: Equatable {
    private var byName: [String: SQLCursor] = [:]

    var isEmpty: Bool { byName.isEmpty }

    /// Every cursor's name, sorted (for tests and logs).
    var names: [String] { byName.keys.sorted() }

    subscript(name: String) -> SQLCursor? {
        get { byName[name] }
        set { byName[name] = newValue }
    }

    /// A DECLARE ran (or was sent, in an extended-protocol batch).
    mutating func declared(_ cursor: SQLCursor) {
        byName[cursor.name] = cursor
    }

    /// CLOSE name: returns the cursor that was open.
    @discardableResult
    mutating func close(_ name: String) -> SQLCursor? {
        byName.removeValue(forKey: name)
    }

    /// CLOSE ALL, DISCARD ALL.
    mutating func closeAll() {
        byName.removeAll()
    }

    /// The transaction committed: cursors without hold end, the others belong to the session.
    mutating func transactionCommitted() {
        // Most transactions declare no cursor: nothing to filter (this runs after each one).
        guard !byName.isEmpty else { return }
        byName = byName.filter { $0.value.withHold }
        for name in byName.keys {
            byName[name]?.uncommitted = false
            byName[name]?.savepointDepth = 0
        }
    }

    /// The transaction rolled back: cursors without hold end, and so do WITH HOLD cursors it declared.
    mutating func transactionRolledBack() {
        guard !byName.isEmpty else { return }
        byName = byName.filter { $0.value.withHold && !$0.value.uncommitted }
    }

    /// ROLLBACK TO the savepoint at `position` (0 for the first one open): cursors declared
    /// after it end.
    mutating func rolledBack(toSavepoint position: Int) {
        byName = byName.filter { !$0.value.uncommitted || $0.value.savepointDepth <= position }
    }

    /// RELEASE of the savepoint at `position`: cursors declared inside it now belong to the
    /// savepoint (or transaction) around it, so a later savepoint at the same position does not
    /// take them along.
    mutating func released(savepoint position: Int) {
        for (name, cursor) in byName where cursor.uncommitted && cursor.savepointDepth > position {
            byName[name]?.savepointDepth = position
        }
    }
}
