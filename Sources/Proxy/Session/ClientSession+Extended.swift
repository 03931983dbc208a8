import Backend
import Merge
import PGWire
import SQLRouter

// The extended query protocol. Parse is checked and routed by pgshard and answered at once;
// the statement is prepared on a shard connection when a Bind or Describe first needs it
// there (so a server-side error in its text, such as an unknown column, is reported at that
// message). Bind routes with the bound values when the shard key is a parameter. Messages go to
// the shards as they arrive; answers reach the client in the order of its messages (a shard
// whose answers are not next is not read until they are). After an error every message up to
// Sync is skipped, as PostgreSQL does; a batch outside a transaction that failed on one shard
// is rolled back on the others before Sync.

extension ClientSession {
    var ext: ExtendedState { extended }

    func parseReceived(_ parse: Parse) {
        guard !ext.skipping else { return }
        notePinning(parse.query)
        if !parse.name.isEmpty, ext.statements[parse.name] != nil {
            return failBatch(.error(.duplicatePreparedStatement, "prepared statement \"\(parse.name)\" already exists"))
        }
        let routed: RoutedStatement?
        let routingContext = self.routingContext
        let (outcome, parameterized) = context.router.prepare(parse.query, context: routingContext, parameterCount: parse.parameterTypeOIDs.count)
        switch outcome {
        case .failure(let error):
            return failBatch(clientError(error))
        case .statements(let statements):
            guard statements.count <= 1 else {
                return failBatch(.error(.syntaxError, "cannot insert multiple commands into a prepared statement"))
            }
            routed = statements.first
        }
        // Generated keys: the shards prepare the text with the keys as extra parameters.
        let (sql, types) = routed?.generatedKeys.map { Self.generatedKeyParse($0, types: parse.parameterTypeOIDs) }
            ?? (parse.query, parse.parameterTypeOIDs)
        let backendName = parse.name.isEmpty ? "" : context.statementNames.name(sql: sql, types: types)
        let statement = ClientStatement(
            sql: sql, parameterTypes: types, routed: routed, parameterized: parameterized,
            backendName: backendName, routingContext: routingContext)
        statement.generation = context.generation
        ext.statements[parse.name] = statement
        owe(.local(.parseComplete))
    }

    func describeReceived(_ describe: Describe) {
        let ext = extended
        guard !ext.skipping else { return }
        switch describe.kind {
        case .statement:
            guard let statement = ext.statements[describe.name] else {
                return failBatch(.error(.invalidSQLStatementName, "prepared statement \"\(describe.name)\" does not exist"))
            }
            guard !statement.isEmpty else {
                return owe(.local(.emptyStatementDescription))
            }
            if describeLocalStatement(statement) || describeCopyStatement(statement) { return }
            let link = links[batchShard()]
            withLinks(soleLinks[link.index]) { [self] in
                guard let backend = link.connection else { return }
                ensurePrepared(statement, on: link)
                backend.send { $0.describe(.statement, name: statement.backendName) }
                owe(.shard(link, .describeStatement(silent: false, hiddenParameters: statement.generatedKeys?.count ?? 0)))
            }
        case .portal:
            guard let portal = ext.portals[describe.name] else {
                if let cursor = cursors[describe.name] { return describeCursor(cursor) }
                return failBatch(.error(.invalidCursorName, "portal \"\(describe.name)\" does not exist"))
            }
            // (Only a portal without links can be `pgshard.next_id`'s: no call for the others.)
            if portal.links.isEmpty, answerNextIDPortal(portal, execute: false) { return }
            if let fetch = portal.shardedFetch { return describeShardedFetch(portal, fetch) }
            guard let link = portal.links.first, let backend = link.connection else {
                return owe(.local(.noData))
            }
            touch(link)
            backend.send { $0.describe(.portal, name: describe.name) }
            if portal.merger != nil {
                portal.mergeDescribed = true
                return owe(.shard(link, .describeMerge(portal, silent: false)))
            }
            owe(.shard(link, .describePortal(silent: false)))
        }
    }

    func executeReceived(_ execute: Execute) {
        let ext = extended
        guard !ext.skipping else { return }
        guard let portal = ext.portals[execute.portal] else {
            return failBatch(.error(.invalidCursorName, "portal \"\(execute.portal)\" does not exist"))
        }
        guard !portal.links.isEmpty else {
            if answerNextIDPortal(portal, execute: true) || executeCopy(portal) { return }
            guard let routed = portal.statement.routed, case .session(let command) = portal.route else {
                return owe(.local(.emptyQuery))
            }
            return runSessionPortal(command, routed: routed)
        }
        if portal.merger != nil {
            return executeMerge(execute, portal: portal)
        }
        if let fetch = portal.shardedFetch {
            return executeShardedFetch(portal, fetch, maxRows: execute.maxRows)
        }
        // Only DECLARE and CLOSE of a SQL cursor have anything to do there: told apart with a
        // switch (that function's copies the route, for every Execute).
        if portal.routeIsCursorStatement { cursorPortalExecuted(portal) }
        let links = portal.links  // (read once: each read of the portal's array retains it)
        if links.count > 1 && (execute.maxRows > 0 || portal.cursor > 0) {
            // In parts: one shard after the other, each to its end before the next starts.
            guard portal.cursor < links.count, let backend = links[portal.cursor].connection else {
                return owe(.local(.commandComplete("SELECT 0")))
            }
            if portal.cursor == 0 && portal.rowsInCall == 0 {
                portal.merge = FanOutMerge(mode: portal.mode, shards: links.map(\.index))
            }
            portal.rowsInCall = 0
            for link in links { touch(link) }
            backend.send { $0.execute(portal: execute.portal, maxRows: execute.maxRows) }
            ext.mayReadInParts = true
            return owe(.shard(links[portal.cursor], .executePart(portal, maxRows: execute.maxRows, silent: false)))
        }
        if links.count > 1 { portal.merge = FanOutMerge(mode: portal.mode, shards: links.map(\.index)) }
        if portal.route.mayWrite(textReads: portal.statement.textReads) { ext.mayHaveWritten = true }
        for (n, link) in links.enumerated() {
            guard let backend = link.connection else { continue }
            touch(link)
            backend.send { $0.execute(portal: execute.portal, maxRows: execute.maxRows) }
            owe(.shard(link, .execute(portal, last: n == links.count - 1, silent: false)))
        }
    }

    func closeReceived(_ close: Close) {
        guard !ext.skipping else { return }
        switch close.kind {
        case .statement:
            // The shard connections keep the statement under its shared name for other clients.
            ext.statements[close.name] = nil
            owe(.local(.closeComplete))
        case .portal:
            guard let portal = ext.portals.removeValue(forKey: close.name) else {
                // A SQL cursor is a portal too.
                if let cursor = cursors.close(close.name) { return closeCursorPortal(cursor) }
                return owe(.local(.closeComplete))
            }
            guard !portal.links.isEmpty, portal.shardedFetch == nil else { return owe(.local(.closeComplete)) }
            for (n, link) in portal.links.enumerated() {
                guard let backend = link.connection else { continue }
                touch(link)
                backend.send { $0.close(.portal, name: close.name) }
                owe(.shard(link, .close(silent: n > 0)))
            }
        }
    }

    func flushReceived() {
        for link in ext.touched { link.connection?.send { $0.flush() } }
        connection.scheduleFlush()
    }

    /// Sync: every shard of the batch ends it (rolling back first if the batch failed outside a
    /// transaction), then one ReadyForQuery. `then` runs instead of answering ReadyForQuery (a
    /// Query message arrived before Sync).
    func syncReceived(then next: (() -> Void)? = nil) {
        let ext = extended
        ext.skipping = false
        pauseInput()
        if ext.head < ext.owed.count && (transaction == nil && ext.touched.count > 1 || ext.readsInParts) {
            // Whether each shard commits or rolls back depends on all of them: hear every
            // answer first (a shard sends what it buffered on Flush).
            for link in ext.touched { link.connection?.send { $0.flush() } }
            ext.onIdle = { [self] in endBatch(then: next) }
            return
        }
        endBatch(then: next)
    }

    private func endBatch(then next: (() -> Void)?) {
        let ext = extended
        ext.skipping = false
        ext.syncing = true
        ext.afterSync = next
        // A batch outside a transaction block is one implicit transaction: when it wrote and
        // spans shards, BEGIN turns each shard's implicit transaction (with what the batch
        // did) into a block that stays open past Sync, to be committed atomically.
        // A COPY of the batch left its shards in transaction blocks of their own: committed
        // with the rest, even on one shard.
        // The set is read where it is, and only when it holds something (nothing below changes
        // it): a copy costs a retain and a release, for every batch.
        let outsideBlock = transaction == nil
        let blocksOpened = outsideBlock && !ext.openedBlocks.isEmpty
        ext.commitOnSync = !ext.failed && outsideBlock && (ext.mayHaveWritten && ext.touched.count > 1 || blocksOpened)
        for link in ext.touched {
            guard let backend = link.connection, !backend.isBroken else { continue }
            if ext.failed, transaction == nil, !ext.failedLinks.contains(link.index) {
                backend.send { $0.query("ROLLBACK") }
                owe(.shard(link, .query))
            } else if ext.commitOnSync, !(blocksOpened && ext.openedBlocks.contains(link.index)) {
                backend.send { $0.query("BEGIN") }
                owe(.shard(link, .query))
            }
            backend.send { $0.sync() }
            owe(.shard(link, .sync))
        }
        finishBatchIfDone()
    }

    /// `sql` with `token` at byte offset `location` replaced by `replacement` (`sql` unchanged
    /// when the token is not there).
    static func splice(_ sql: String, at location: Int, replacing token: String, with replacement: String) -> String {
        var bytes = Array(sql.utf8)
        let tokenBytes = Array(token.utf8)
        guard location >= 0, location + tokenBytes.count <= bytes.count,
              Array(bytes[location..<location + tokenBytes.count]) == tokenBytes
        else { return sql }
        bytes.replaceSubrange(location..<location + tokenBytes.count, with: Array(replacement.utf8))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether an extended-protocol batch has messages not yet ended by Sync.
    var batchIsOpen: Bool { !ext.touched.isEmpty || ext.head < ext.owed.count }

    // MARK: - Shard links

    /// The shard for statements any shard can answer: one the batch already uses, else the
    /// session's preferred one.
    func batchShard() -> Int {
        ext.touched.first?.index ?? preferredShard()
    }

    /// Makes `targets` ready (connected, settings, transaction) and then runs `body`; the
    /// client's next messages wait meanwhile.
    func withLinks(_ targets: [ShardLink], _ body: @escaping () -> Void) {
        var done = false
        var waited = false
        prepare(targets, begin: false) { [self] error in
            done = true
            if let error {
                failBatch(error)
            } else {
                for link in targets { touch(link) }
                body()
            }
            if waited { resumeInput() }
        }
        if !done {
            waited = true
            pauseInput()
        }
    }

    /// Starts reading a link's answers for the batch.
    func touch(_ link: ShardLink) {
        guard let backend = link.connection else { return }
        if ext.touched.contains(where: { $0 === link }) {
            // Already reading for the batch (Describe, then Execute): nothing to install.
            if link.batchReceiver == backend.receiverGeneration { return }
        } else {
            ext.touched.append(link)
        }
        let receiver: BatchAnswerReceiver
        if let made = link.answerReceiver {
            receiver = made  // (not stored again: a store retains it and releases the old one)
        } else {
            receiver = BatchAnswerReceiver(session: self, link: link)
            link.answerReceiver = receiver
        }
        backend.receive(forwardingTo: receiver)
        link.batchReceiver = backend.receiverGeneration
    }

    /// Sends Parse for `statement` on `link` unless its connection has it already.
    func ensurePrepared(_ statement: ClientStatement, on link: ShardLink) {
        guard let backend = link.connection else { return }
        let name = statement.backendName
        if backend.preparedStatements.use(name) { return }
        if !name.isEmpty {
            if backend.preparedStatements.count >= Self.preparedPerConnection,
               let oldest = backend.preparedStatements.leastRecentlyUsed {
                backend.preparedStatements.remove(oldest)
                backend.send { $0.close(.statement, name: oldest) }
                owe(.shard(link, .close(silent: true)))
            }
            backend.preparedStatements.insert(name)
        }
        backend.send { $0.parse(statement: name, sql: statement.sql, parameterTypes: statement.parameterTypes) }
        owe(.shard(link, .parse(name: name)))
    }

    /// Prepared statements one shard connection keeps before closing the least recently used.
    static let preparedPerConnection = 256

    // MARK: - Answers

    func owe(_ answer: consuming OwedAnswer) {
        let ext = extended
        if ext.head < ext.owed.count, ext.owed[ext.head].isShard {
            // A shard's answer is next and still owed: what `advance` would do, without looking
            // at the answers again (most messages of a batch are owed behind another).
            ext.owed.append(consume answer)
            wakeHeld()
            connection.scheduleFlush()
            return
        }
        ext.owed.append(consume answer)
        advance()
    }

    /// Sends the local answers that are next, skips consumed ones, and lets held shards go on.
    func advance() {
        let ext = extended
        while ext.head < ext.owed.count {
            // By kind first: a switch that binds a payload used past a call copies the answer
            // (its link, its portal) whatever its case, and most answers here are a shard's.
            switch ext.owed[ext.head].kind {
            case .done:
                ext.head += 1
                continue
            case .local:
                ext.head += 1
                send(ext.owed[ext.head - 1])
                continue
            case .merge:
                if let execution = ext.owed[ext.head].finishedMerge {
                    // Rows the merge read for earlier calls are enough: no shard to wait for.
                    finishMerge(execution, index: ext.head)
                    return
                }
            case .shard:
                break
            }
            wakeHeld()
            connection.scheduleFlush()
            return
        }
        wakeHeld()
        connection.scheduleFlush()
        if ext.fetchInFlight {
            // Every answer up to the FETCH across shards was given: the client may go on.
            ext.fetchInFlight = false
            connection.soon { [self] in resumeInput() }
        }
        if ext.head > 64 && ext.head == ext.owed.count {
            ext.owed.removeAll(keepingCapacity: true)
            ext.head = 0
        }
        finishBatchIfDone()
        if let idle = ext.onIdle, ext.head == ext.owed.count {
            ext.onIdle = nil
            idle()
        }
    }

    /// Lets the shards paused because their answers were not next read on (soon).
    @inline(__always)
    func wakeHeld() {
        // Mostly none is held: the test is inlined, the rest is not.
        guard !extended.held.isEmpty else { return }
        resumeHeld()
    }

    private func resumeHeld() {
        let ext = extended
        let held = ext.held
        ext.held = []
        connection.soon {
            for backend in held { backend.resumeReading() }
        }
    }

    /// Sends a local answer.
    private func send(_ owed: OwedAnswer) {
        guard case .local(let answer) = owed else { return }
        let output = connection
        switch answer {
        case .parseComplete: output.output.parseComplete()
        case .bindComplete: output.output.bindComplete()
        case .closeComplete: output.output.closeComplete()
        case .noData: output.output.noData()
        case .emptyQuery: output.output.emptyQueryResponse()
        case .emptyStatementDescription:
            output.output.parameterDescription([])
            output.output.noData()
        case .commandComplete(let tag): output.output.commandComplete(tag)
        case .error(let fields): output.output.errorResponse(fields)
        case .parameterDescription(let types): output.output.parameterDescription(types)
        case .rowDescription(let fields): output.output.rowDescription(fields)
        case .dataRow(let values): output.output.dataRow(values)
        }
    }

    /// An error in the batch: the client gets it (after what it is owed before), the rest of
    /// the batch is skipped until Sync.
    func failBatch(_ error: ErrorFields) {
        context.metrics.error(sqlState: error.sqlState?.rawValue ?? "XX000")
        transaction?.failed = true
        if !ext.syncing { ext.skipping = true }
        ext.failed = true
        owe(.local(.error(error)))
    }

    func shardMessage(_ message: BackendMessage, from link: ShardLink) -> BackendConnection.Flow {
        switch message.type {
        case BackendMessage.noticeResponse:
            forwardNotice(Diagnostics(message))
            return .proceed
        case BackendMessage.parameterStatus:
            return .proceed
        default:  // (NotificationResponse never gets here: the connection hands it to `forwardNotification`)
            break
        }
        let ext = extended
        // The next answer is mostly the link's own: no search (the first of the link's is the
        // one its message answers).
        let found = ext.nextIsShardAnswer(of: link)
            ? ext.head
            : ext.owed[ext.head...].firstIndex { answer in
                switch answer {
                case .shard(let l, _): l === link
                case .merge(let execution): execution.awaits(link)
                default: false
                }
            }
        if let index = found, ext.owed[index].isSync {
            // Checked before the answer is bound to a variable (a copy): the end of every batch.
            guard message.type == BackendMessage.readyForQuery else { return .proceed }
            ext.owed[index] = .done
            advance()
            return .proceed
        }
        if let index = found {
            // (A `switch`: `if case` would copy the answer first, whatever its case.)
            switch ext.owed[index] {
            case .merge(let execution):
                guard index == ext.head else {
                    if let backend = link.connection { ext.held.append(backend) }
                    return .hold
                }
                return mergeMessage(message, execution: execution, link: link, index: index)
            case .shard, .local, .done:
                break
            }
        }
        guard let index = found, case .shard(_, let expected) = ext.owed[index] else {
            link.connection?.close()
            shardLost(link, BackendError(.misuse, "the shard sent an answer pgshard did not ask for"))
            return .proceed
        }
        if case .sync = expected {
            guard message.type == BackendMessage.readyForQuery else { return .proceed }
            ext.owed[index] = .done
            advance()
            return .proceed
        }
        guard index == ext.head else {
            if let backend = link.connection { ext.held.append(backend) }
            return .hold
        }
        if message.type == BackendMessage.errorResponse, !expected.isQuery {
            shardError(message, link: link, expected: expected)
            return .proceed
        }
        var finished = false
        switch expected {
        case .parse:
            finished = message.type == BackendMessage.parseComplete
        case .bind(let silent):
            if !silent { connection.output.forward(message) }
            finished = true
        case .describeStatement(let silent, let hidden):
            if !silent {
                if hidden > 0, message.type == BackendMessage.parameterDescription {
                    connection.output.parameterDescription(Array(message.parameterTypes.dropLast(hidden)))
                } else {
                    connection.output.forward(message)
                }
            }
            finished = message.type != BackendMessage.parameterDescription
        case .describePortal(let silent), .close(let silent):
            if !silent { connection.output.forward(message) }
            finished = true
        case .describeMerge(let portal, let silent):
            finished = describeMergeMessage(message, portal: portal, silent: silent)
        case .execute(let portal, let last, let silent):
            finished = executeMessage(message, portal: portal, link: link, last: last, silent: silent)
        case .executePart(let portal, let maxRows, let silent):
            finished = executePartMessage(message, portal: portal, link: link, maxRows: maxRows, silent: silent, index: index)
        case .fetchStep(let run, let silent):
            finished = fetchStepMessage(message, run: run, silent: silent, index: index)
        case .query:
            finished = message.type == BackendMessage.readyForQuery
        case .sync:
            break
        }
        if finished {
            ext.owed[index] = .done
            advance()
        }
        guard let backend = link.connection else { return .proceed }
        return connection.throttle(backend)
    }

    /// One message of an Execute; true when it ends the Execute.
    private func executeMessage(_ message: BackendMessage, portal: ClientPortal, link: ShardLink, last: Bool, silent: Bool) -> Bool {
        let single = portal.links.count == 1
        switch message.type {
        case BackendMessage.dataRow:
            if !silent && (single || portal.merge.rowArrived(fromShard: link.index)) { connection.output.forward(message) }
            return false
        case BackendMessage.commandComplete:
            if single {
                if !silent { connection.output.forward(message) }
            } else {
                _ = portal.merge.completed(fromShard: link.index, tag: CommandTag(message.commandTag))
                if last && !silent, let tag = portal.merge.finalTag().tag {
                    connection.output.commandComplete(tag.description)
                }
            }
            return true
        case BackendMessage.emptyQueryResponse, BackendMessage.portalSuspended:
            if !silent && (single || last) { connection.output.forward(message) }
            return true
        case BackendMessage.copyInResponse:
            // COPY FROM runs through ``ShardCopyIn``; a statement that asks for data anyway gets none.
            link.connection?.send { $0.copyFail("pgshard sends no COPY data for this statement") }
            return false
        case BackendMessage.copyOutResponse, BackendMessage.copyData, BackendMessage.copyDone:
            if !silent && single { connection.output.forward(message) }
            return false
        default:
            return false
        }
    }

    /// One message of an Execute that reads a several-shard portal in parts; true when it ends
    /// the Execute. When a shard reaches its end, the next shard continues the same Execute.
    private func executePartMessage(
        _ message: BackendMessage, portal: ClientPortal, link: ShardLink, maxRows: Int32, silent: Bool, index: Int
    ) -> Bool {
        switch message.type {
        case BackendMessage.dataRow:
            if !silent && portal.merge.rowArrived(fromShard: link.index) { connection.output.forward(message) }
            portal.rowsInCall += 1
            return false
        case BackendMessage.portalSuspended:
            if !silent { connection.output.forward(message) }
            return true
        case BackendMessage.commandComplete:
            let tag = CommandTag(message.commandTag)
            portal.cursor += 1
            let remaining = maxRows == 0 ? 0 : maxRows - Int32(portal.rowsInCall)
            if portal.cursor < portal.links.count, maxRows == 0 || remaining > 0,
               let next = portal.links[portal.cursor].connection {
                // Flush: the client's Sync or Flush reached this shard before this Execute.
                next.send {
                    $0.execute(portal: portal.name, maxRows: remaining)
                    $0.flush()
                }
                ext.owed[index] = .shard(portal.links[portal.cursor], .executePart(portal, maxRows: maxRows, silent: silent))
                wakeHeld()
                return false
            }
            if !silent {
                if portal.cursor < portal.links.count {
                    // Exactly the rows asked for, and shards left: more rows may come.
                    connection.output.portalSuspended()
                } else {
                    connection.output.commandComplete(CommandTag(verb: tag.verb, rows: tag.rows == nil ? nil : portal.rowsInCall).description)
                }
            }
            return true
        default:
            return false
        }
    }

    private func shardError(_ message: BackendMessage, link: ShardLink, expected: ShardAnswer) {
        if case .parse(let name) = expected, !name.isEmpty {
            link.connection?.preparedStatements.remove(name)
        }
        if !ext.failed {
            connection.output.errorResponse(clientError(from: Diagnostics(message), positionOffset: 0))
        }
        ext.owed[ext.head] = .done
        ext.failedLinks.insert(link.index)
        silenceAfterError(failing: link)
        transaction?.failed = true
        if !ext.syncing { ext.skipping = true }
        ext.failed = true
        advance()
    }

    /// After an error the failing shard answers nothing until Sync; other shards' answers are
    /// still read but not forwarded; local answers are dropped.
    func silenceAfterError(failing link: ShardLink?) {
        for i in ext.head..<ext.owed.count {
            switch ext.owed[i] {
            case .local:
                ext.owed[i] = .done
            case .shard(let l, let answer):
                if answer.isSync { continue }
                if let link, l === link { ext.owed[i] = .done } else { ext.owed[i] = .shard(l, answer.silenced()) }
            case .merge(let execution):
                execution.silent = true
                // The failing shard answers nothing more until Sync.
                if let link, let stream = execution.stream(of: link) { execution.outstanding.remove(stream) }
                if execution.isFinished { ext.owed[i] = .done }
            case .done:
                break
            }
        }
    }

    func shardLost(_ link: ShardLink, _ error: BackendError) {
        let fields = shardFailure(error, link: link)
        if !ext.failed { connection.output.errorResponse(fields) }
        for i in ext.head..<ext.owed.count {
            if case .shard(let l, _) = ext.owed[i], l === link { ext.owed[i] = .done }
            if case .merge(let execution) = ext.owed[i], let stream = execution.stream(of: link) {
                execution.outstanding.remove(stream)
                execution.silent = true
                if execution.isFinished { ext.owed[i] = .done }
            }
        }
        ext.touched.removeAll { $0 === link }
        ext.failedLinks.insert(link.index)
        silenceAfterError(failing: nil)
        link.close()
        transaction?.failed = true
        if !ext.syncing { ext.skipping = true }
        ext.failed = true
        advance()
    }

    private func finishBatchIfDone() {
        let ext = extended
        guard ext.syncing, ext.head == ext.owed.count else { return }
        ext.stopReadingTouched()
        if ext.commitOnSync {
            ext.commitOnSync = false
            let open = ext.touched.filter { $0.isUsable && $0.connection?.serverTransactionStatus == .inTransaction }
            return commitAcrossShards(open) { [self] error in
                if let error {
                    fail(error)
                    ext.failed = true
                }
                finishBatchIfDone()
            }
        }
        if transaction == nil, !ext.openedBlocks.isEmpty {
            // A block a COPY opened whose shard failed a later message of the batch stays open
            // (aborted) past Sync: roll it back.
            ext.openedBlocks = []
            let open = ext.touched.filter { $0.isUsable && $0.connection?.serverTransactionStatus != .idle }
            if !open.isEmpty { return rollBack(open) { [self] in finishBatchIfDone() } }
        }
        reportParameterChanges(ext.touched)
        if transaction == nil {
            // Outside a transaction block, Sync ends the implicit transaction and its portals,
            // and its cursors unless WITH HOLD (those too if it failed).
            ext.portals.removeAll()
            if ext.failed { cursors.transactionRolledBack() } else { cursors.transactionCommitted() }
        }
        let next = ext.afterSync
        ext.resetBatch()
        let connection = self.connection
        releaseIdleLinks(connection)
        if let next {
            next()
            return
        }
        connection.output.readyForQuery(transactionStatus)
        connection.flush()
        resumeInput(connection)
    }

    /// A session command (BEGIN, COMMIT, SET, ...) bound as a portal: run once every earlier
    /// answer has been given.
    private func runSessionPortal(_ command: SessionCommand, routed: RoutedStatement) {
        runAside { [self] done in
            endOpenedBlocks(before: command) { [self] in
                runSessionCommand(command, statement: routed) { [self] ok in
                    // What the batch wrote so far was committed or rolled back with the transaction.
                    if case .commit = command { ext.mayHaveWritten = false }
                    if case .rollback = command { ext.mayHaveWritten = false }
                    if case .begin = command { adoptOpenedBlocks() }
                    done(ok)
                }
            }
        }
    }

    /// Runs a portal that pgshard carries out with the simple protocol on its shards (a session
    /// command, a COPY) once every earlier answer of the batch has been given; the batch's shards
    /// are not read meanwhile. `body` answers the client itself and reports whether it succeeded
    /// (after an error the batch skips to Sync).
    func runAside(_ body: @escaping (_ done: @escaping (Bool) -> Void) -> Void) {
        pauseInput()
        let run = { [self] in
            let touched = ext.touched
            for link in touched { link.connection?.stopReceiving() }
            ext.touched = []
            body { [self] ok in
                let added = ext.touched
                ext.touched = []
                for link in touched + added { touch(link) }
                if !ok {
                    if !ext.syncing { ext.skipping = true }
                    ext.failed = true
                }
                connection.scheduleFlush()
                resumeInput()
            }
        }
        if ext.head == ext.owed.count {
            run()
        } else {
            // The shards hold their answers until Sync or Flush: ask for them.
            for link in ext.touched { link.connection?.send { $0.flush() } }
            ext.onIdle = run
        }
    }

    func pauseInput() {
        isBusy = true
        connection.wantsInput = false
    }

    func resumeInput() {
        resumeInput(connection)
    }

    /// ``resumeInput()`` with the session's connection read already.
    private func resumeInput(_ connection: ClientConnection) {
        isBusy = false
        guard !connection.isClosed else { return }
        connection.wantsInput = true
        connection.processInput()
    }
}

extension ShardAnswer {
    var isQuery: Bool {
        switch self {
        case .query: true
        default: false
        }
    }
}


extension ClientSession {
    /// Gives back shard connections the session no longer needs: under transaction pooling,
    /// once no transaction is open and nothing pins the session to them.
    func releaseIdleLinks() {
        releaseIdleLinks(connection)
    }

    /// ``releaseIdleLinks()`` with the session's connection read already.
    func releaseIdleLinks(_ connection: ClientConnection) {
        guard context.config.pool.mode == .transaction, transaction == nil, !pinned, !connection.isClosed else { return }
        for link in links {
            guard let backend = link.connection, !backend.isBusy, backend.serverTransactionStatus == .idle else { continue }
            link.connection = nil
            link.inTransaction = false
            // Without a retain and a release of the link and of its pool around the call (every
            // transaction): the loop's copy of `links` holds the link until the loop ends, and
            // the link holds its pool (a constant).
            Unmanaged.passUnretained(link)._withUnsafeGuaranteedRef { $0.pool.release(backend, reusable: true) }
        }
    }

    /// Notes statements that tie the session to its shard connections (transaction pooling).
    func notePinning(_ sql: String) {
        guard context.config.pool.mode == .transaction, !pinned else { return }
        if PinningMarkers.mentioned(in: sql) {
            pinned = true
            logger.debug("session pinned to its shard connections")
        }
    }
}
