import Backend
import PGWire
import SQLRouter

// SQL cursors. A cursor lives on the shard connections that ran its DECLARE; the session
// remembers which (``SQLCursors``) and sends FETCH, MOVE and CLOSE there unchanged when one
// shard holds the cursor. A cursor on several shards reads them one after the other
// (``ShardedFetch``). The transaction rules are PostgreSQL's: a shard answers a DECLARE
// without hold outside a transaction block with its own 25P01, and the session forgets
// cursors when their transaction ends (see ``SQLCursors``). A WITH HOLD cursor pins the
// session to its shard connections under transaction pooling.

extension ClientSession {
    /// A cursor statement of a simple-protocol Query.
    func runCursorStatement(_ command: CursorStatement, statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        switch command {
        case .declare(let declaration):
            declareCursor(declaration, statement: statement, completion: completion)
        case .fetch(let fetch):
            fetchCursor(fetch, statement: statement, completion: completion)
        case .close(let name?):
            guard let cursor = cursors.close(name) else {
                fail(.cursorDoesNotExist(name))
                return completion(false)
            }
            // Closing is not undone by a rollback, in PostgreSQL either.
            runOnShards(cursor.shards, sql: statement.sql, mode: cursor.spansShards ? .concatenate : .single,
                        positionOffset: statement.characterOffset, completion: completion)
        case .currentOf(let name):
            guard let cursor = cursors[name] else {
                fail(.cursorDoesNotExist(name))
                return completion(false)
            }
            runOnShards([cursor.currentShard], sql: statement.sql, mode: .single, positionOffset: statement.characterOffset, completion: completion)
        case .close(nil):
            cursors.closeAll()
            // CLOSE ALL closes the protocol-level portals too.
            ext.portals.removeAll()
            let targets = links.filter(\.isUsable).map(\.index)
            guard !targets.isEmpty else {
                connection.output.commandComplete("CLOSE CURSOR ALL")
                return completion(true)
            }
            runOnShards(targets, sql: statement.sql, mode: .concatenate, positionOffset: statement.characterOffset, completion: completion)
        }
    }

    /// DECLARE: on the shards of its query, remembered once they all succeeded. A WITH HOLD
    /// cursor on several shards declared outside a transaction block is declared in one
    /// transaction on each, so that no shard keeps it when another refused.
    private func declareCursor(_ declaration: CursorDeclaration, statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        if let error = cursorNameTaken(declaration.name) {
            fail(error)
            return completion(false)
        }
        let shards = cursorShards(declaration.placement, anyShard: preferredShard())
        let autocommit = transaction == nil
        runOnShards(shards, sql: statement.sql, mode: shards.count > 1 ? .concatenate : .single, positionOffset: statement.characterOffset,
                    atomic: declaration.withHold) { [self] ok in
            // Outside a transaction block only WITH HOLD cursors survive the statement.
            if ok, declaration.withHold || !autocommit {
                rememberCursor(declaration, shards: shards, committed: autocommit)
            }
            completion(ok)
        }
    }

    /// FETCH and MOVE: unchanged on a cursor's one shard; across shards, forward only.
    private func fetchCursor(_ fetch: CursorFetch, statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        guard let cursor = cursors[fetch.name] else {
            fail(.cursorDoesNotExist(fetch.name))
            return completion(false)
        }
        guard cursor.spansShards else {
            return runOnShards(cursor.shards, sql: statement.sql, mode: .single, positionOffset: statement.characterOffset, completion: completion)
        }
        guard let count = fetch.forward else {
            fail(.cursorDirectionAcrossShards(fetch, shardCount: cursor.shards.count))
            return completion(false)
        }
        let targets = cursor.shards.map { links[$0] }
        prepare(targets, begin: false) { [self] error in
            if let error {
                fail(error)
                return completion(false)
            }
            let read = ShardedCursorRead(session: self, links: targets, cursor: fetch.name, isMove: fetch.isMove,
                                         fetch: ShardedFetch(count: count, shardCount: targets.count, position: cursor.current))
            read.run { [self] ok in
                // The shards moved as far as they got, error or not.
                cursors[fetch.name]?.current = read.fetch.position
                if !ok { transaction?.failed = true }
                completion(ok)
            }
        }
    }

    /// The error for a DECLARE of a name a cursor or named portal of the session has.
    func cursorNameTaken(_ name: String) -> ErrorFields? {
        cursors[name] != nil || (!name.isEmpty && ext.portals[name] != nil) ? .cursorAlreadyExists(name) : nil
    }

    /// The shards a cursor of this placement is declared on; `anyShard` for a query any
    /// shard answers.
    func cursorShards(_ placement: CursorPlacement, anyShard: Int) -> [Int] {
        switch placement {
        case .shard(let shard): [shard]
        case .anyShard: [anyShard]
        case .shards(let shards): shards
        }
    }

    /// Remembers a declared cursor. `committed`: its DECLARE ran in a transaction of its own
    /// that has committed.
    func rememberCursor(_ declaration: CursorDeclaration, shards: [Int], committed: Bool) {
        var cursor = SQLCursor(name: declaration.name, shards: shards, withHold: declaration.withHold,
                               savepointDepth: transaction?.savepoints.count ?? 0)
        cursor.uncommitted = !committed
        cursors.declared(cursor)
        guard declaration.withHold, context.config.pool.mode == .transaction, !pinned else { return }
        // The cursor lives on these connections after the transaction: they stay this client's.
        pinned = true
        logger.debug("session pinned to its shard connections", metadata: ["cursor": "\(declaration.name)"])
    }
}
