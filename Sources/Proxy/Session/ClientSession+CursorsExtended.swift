import Backend
import Merge
import PGWire
import SQLRouter

// SQL cursors in the extended protocol. DECLARE (with its query's `$n` parameters), CLOSE,
// and FETCH or MOVE of a cursor on one shard are bound and executed on their shards like any
// statement. A FETCH or MOVE of a cursor on several shards is not bound on a shard: each
// Execute runs it step by step, one shard at a time, each step its own Parse, Bind (with the
// client's result formats), Execute and Close on the shard (``ShardedFetchExecution``). A
// Describe of a SQL cursor's name describes the cursor on its first shard.

/// The portal pgshard binds on a shard for one step of a FETCH across shards; closed after
/// each step, so the client's own portals there are untouched.
let fetchStepPortal = "pgshard_cursor_fetch"

/// One Execute of a FETCH or MOVE portal on a cursor that several shards hold: the step on
/// the shard at ``ShardedFetch/position`` is in flight; when it ends short, the next shard's
/// step follows within the same owed answer.
final class ShardedFetchExecution {
    let portal: ClientPortal
    let cursor: String
    let isMove: Bool
    var fetch: ShardedFetch
    /// Rows the running step's shard reported in its command tag.
    var stepRows: Int64 = 0

    init(portal: ClientPortal, cursor: String, isMove: Bool, fetch: ShardedFetch) {
        self.portal = portal
        self.cursor = cursor
        self.isMove = isMove
        self.fetch = fetch
    }

    var link: ShardLink { portal.links[fetch.position] }
}

extension ClientSession {
    /// Bind of a cursor statement: the shards its portal is bound on and how their answers
    /// combine, or nil when the Bind was answered here (an error, or a FETCH across shards).
    func bindCursor(_ command: CursorStatement, bind: Bind, statement: ClientStatement, route: Route) -> (shards: [Int], mode: FanOutMode)? {
        switch command {
        case .declare(let declaration):
            if let error = cursorNameTaken(declaration.name) {
                failBatch(error)
                return nil
            }
            let shards = cursorShards(declaration.placement, anyShard: batchShard())
            return (shards, shards.count > 1 ? .concatenate : .single)
        case .fetch(let fetch):
            guard let cursor = cursors[fetch.name] else {
                failBatch(.cursorDoesNotExist(fetch.name))
                return nil
            }
            guard cursor.spansShards else { return (cursor.shards, .single) }
            guard fetch.forward != nil else {
                failBatch(.cursorDirectionAcrossShards(fetch, shardCount: cursor.shards.count))
                return nil
            }
            let targets = cursor.shards.map { links[$0] }
            let portal = ClientPortal(name: bind.portal, statement: statement, route: route, links: targets, mode: .concatenate)
            portal.resultFormats = bind.resultFormats
            portal.shardedFetch = fetch
            ext.portals[bind.portal] = portal
            withLinks(targets) { [self] in owe(.local(.bindComplete)) }
            return nil
        case .close(let name?):
            guard let cursor = cursors[name] else {
                failBatch(.cursorDoesNotExist(name))
                return nil
            }
            return (cursor.shards, cursor.spansShards ? .concatenate : .single)
        case .currentOf(let name):
            guard let cursor = cursors[name] else {
                failBatch(.cursorDoesNotExist(name))
                return nil
            }
            return ([cursor.currentShard], .single)
        case .close(nil):
            let usable = links.filter(\.isUsable).map(\.index)
            guard usable.isEmpty else { return (usable, .concatenate) }
            cursors.closeAll()
            ext.portals[bind.portal] = ClientPortal(name: bind.portal, statement: statement, route: .session(.acknowledge("CLOSE CURSOR ALL")),
                                                    links: [], mode: .single)
            owe(.local(.bindComplete))
            return nil
        }
    }

    /// What executing a cursor portal does to the session's cursors, at the Execute (its
    /// answer comes later; a DECLARE that fails there is forgotten with its transaction, see
    /// ``SQLCursors``).
    func cursorPortalExecuted(_ portal: ClientPortal) {
        switch portal.route {
        case .cursor(.declare(let declaration)):
            rememberCursor(declaration, shards: portal.links.map(\.index), committed: false)
        case .cursor(.close(let name?)):
            cursors.close(name)
        case .cursor(.close(nil)):
            cursors.closeAll()
            // CLOSE ALL closes the protocol-level portals too, except the one running it.
            ext.portals.removeAll(except: portal.name)
        default:
            break
        }
    }

    /// Execute of a FETCH or MOVE portal on a cursor across shards.
    func executeShardedFetch(_ portal: ClientPortal, _ fetch: CursorFetch, maxRows: Int32) {
        guard let cursor = cursors[fetch.name], let count = fetch.forward else {
            return failBatch(.cursorDoesNotExist(fetch.name))
        }
        guard maxRows <= 0 || fetch.isMove else { return failBatch(.fetchPortalRowLimitAcrossShards(fetch.name)) }
        let run = ShardedFetchExecution(portal: portal, cursor: fetch.name, isMove: fetch.isMove,
                                        fetch: ShardedFetch(count: count, shardCount: portal.links.count, position: cursor.current))
        for link in portal.links { touch(link) }
        guard sendFetchStep(run) else { return }
        ext.mayReadInParts = true
        owe(.shard(run.link, .fetchStep(run, silent: false)))
        // Until it ends, later messages would reach the next shard before its step.
        ext.fetchInFlight = true
        pauseInput()
    }

    /// Sends the step of `run` to its current shard; false (the batch failed) when that
    /// shard's connection is gone.
    private func sendFetchStep(_ run: ShardedFetchExecution) -> Bool {
        let link = run.link
        guard let backend = link.connection, link.isUsable else {
            failBatch(.error(.connectionFailure, "connection to shard \"\(link.name)\" was lost"))
            return false
        }
        run.stepRows = 0
        let sql = run.fetch.statement(cursor: run.cursor, isMove: run.isMove)
        let formats = run.portal.resultFormats
        // Flush: the client's Flush or Sync may have reached this shard before the step.
        backend.send {
            $0.parse(statement: "", sql: sql, parameterTypes: [])
            $0.bind(Bind(portal: fetchStepPortal, statement: "", resultFormats: formats), portal: fetchStepPortal, statement: "")
            $0.execute(portal: fetchStepPortal, maxRows: 0)
            $0.close(.portal, name: fetchStepPortal)
            $0.flush()
        }
        return true
    }

    /// One message of a step of a FETCH across shards; true when it ends the client's Execute.
    /// At the end of a step that came short, the next shard's step takes its place.
    func fetchStepMessage(_ message: BackendMessage, run: ShardedFetchExecution, silent: Bool, index: Int) -> Bool {
        switch message.type {
        case BackendMessage.dataRow:
            if !silent { connection.output.forward(message) }
            return false
        case BackendMessage.commandComplete:
            run.stepRows = Int64(CommandTag(message.commandTag).rows ?? 0)
            return false
        case BackendMessage.closeComplete:
            let continues = run.fetch.shardAnswered(rows: run.stepRows)
            cursors[run.cursor]?.current = run.fetch.position
            if continues {
                guard sendFetchStep(run) else { return true }
                ext.owed[index] = .shard(run.link, .fetchStep(run, silent: silent))
                wakeHeld()
                return false
            }
            if !silent { connection.output.commandComplete(run.fetch.tag(isMove: run.isMove)) }
            return true
        default:
            // ParseComplete, BindComplete of the step.
            return false
        }
    }

    /// Describe of a FETCH or MOVE portal across shards: the statement bound (with the
    /// client's result formats) and described on the shard the cursor reads now.
    func describeShardedFetch(_ portal: ClientPortal, _ fetch: CursorFetch) {
        guard let cursor = cursors[fetch.name], let count = fetch.forward else {
            return failBatch(.cursorDoesNotExist(fetch.name))
        }
        let position = ShardedFetch(count: count, shardCount: portal.links.count, position: cursor.current)
        let link = portal.links[position.position]
        guard let backend = link.connection, link.isUsable else {
            return failBatch(.error(.connectionFailure, "connection to shard \"\(link.name)\" was lost"))
        }
        touch(link)
        let sql = position.statement(cursor: fetch.name, isMove: fetch.isMove)
        let formats = portal.resultFormats
        backend.send {
            $0.parse(statement: "", sql: sql, parameterTypes: [])
            $0.bind(Bind(portal: fetchStepPortal, statement: "", resultFormats: formats), portal: fetchStepPortal, statement: "")
            $0.describe(.portal, name: fetchStepPortal)
            $0.close(.portal, name: fetchStepPortal)
        }
        owe(.shard(link, .parse(name: "")))
        owe(.shard(link, .bind(silent: true)))
        owe(.shard(link, .describePortal(silent: false)))
        owe(.shard(link, .close(silent: true)))
    }

    /// Describe of a SQL cursor's name (a cursor is a portal in PostgreSQL): its first shard
    /// describes it.
    func describeCursor(_ cursor: SQLCursor) {
        let link = links[cursor.shards[0]]
        withLinks([link]) { [self] in
            guard let backend = link.connection else { return }
            backend.send { $0.describe(.portal, name: cursor.name) }
            owe(.shard(link, .describePortal(silent: false)))
        }
    }

    /// Close of a SQL cursor's name as a portal: closed on every shard holding it.
    func closeCursorPortal(_ cursor: SQLCursor) {
        let targets = cursor.shards.map { links[$0] }
        withLinks(targets) { [self] in
            for (n, link) in targets.enumerated() {
                guard let backend = link.connection else { continue }
                backend.send { $0.close(.portal, name: cursor.name) }
                owe(.shard(link, .close(silent: n > 0)))
            }
        }
    }
}
