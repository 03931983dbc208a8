import Backend
import Dispatch
import Foundation
import Merge
import PGWire
import SQLRouter

extension ClientSession {
    /// A simple-protocol Query: route every statement, run them in order, stop at the first
    /// error, end with ReadyForQuery.
    func queryReceived(_ sql: String) {
        isBusy = true
        connection.wantsInput = false
        forwardedNotices = []
        let routingContext = self.routingContext
        if transaction?.failed != true, !context.logsStatements, let found = context.router.singleShardRoute(sql, context: routingContext) {
            // The common case, without the statement list (see ``Router/singleShardRoute(_:context:)``).
            if found.pins { notePinning(sql) }
            let kind: ProxyMetrics.RouteKind = found.shard == nil ? .any : .single
            context.metrics.statement(kind)
            return runWholeMessage(on: found.shard ?? preferredShard(), sql: sql, kind: kind)
        }
        notePinning(sql)
        switch context.router.route(sql, context: routingContext) {
        case .failure(let error):
            context.metrics.statement(.refused)
            fail(clientError(error))
            finishQuery()
        case .statements(let statements) where statements.isEmpty:
            connection.output.emptyQueryResponse()
            finishQuery()
        case .statements(let statements):
            logRoutes(statements, sql: sql)
            let metrics = context.metrics
            for statement in statements { metrics.statement(ProxyMetrics.kind(of: statement.route, shardCount: links.count)) }
            if let shard = wholeMessageShard(statements) {
                // One shard owns every statement: send the message as the client wrote it, so
                // PostgreSQL's implicit transaction and error positions stay exactly as they are.
                runWholeMessage(on: shard, sql: sql, kind: ProxyMetrics.kind(of: statements[0].route, shardCount: links.count))
            } else if transaction == nil, statements.count > 1, !statements.contains(where: \.route.controlsTransaction) {
                // Several statements in one Query are one implicit transaction in PostgreSQL:
                // one transaction on every shard they use, committed together.
                transaction = TransactionState(begin: "BEGIN")
                runSequence(statements, from: 0) { [self] _ in
                    endImplicitTransaction { self.finishQuery() }
                }
            } else {
                runSequence(statements, from: 0) { [self] _ in finishQuery() }
            }
        }
    }

    /// At debug level, one line per routing decision with the tables, keys and shards, so
    /// "which shard did user 123 go to" can be answered from the log (the explanation costs a
    /// parse: only when debug logging is on).
    private func logRoutes(_ statements: [RoutedStatement], sql: String) {
        guard logger.logLevel <= .debug else { return }
        let explained: [RoutedStatement]
        if case .statements(let routed) = context.router.explain(sql, context: routingContext) { explained = routed } else { explained = [] }
        for (index, statement) in statements.enumerated() {
            let lines = index < explained.count ? (explained[index].explanation ?? []) : []
            logger.debug("statement routed", metadata: [
                "route": "\(statement.route)",
                "decision": "\(lines.map { $0.replacingOccurrences(of: "pgshard: ", with: "") }.joined(separator: "; "))",
            ])
        }
    }

    /// The shard that can take the whole message at once, if there is one.
    private func wholeMessageShard(_ statements: [RoutedStatement]) -> Int? {
        guard transaction?.failed != true else { return nil }
        var chosen: Int?
        for statement in statements {
            switch statement.route {
            case .shard(let s):
                if let c = chosen, c != s { return nil }
                chosen = s
            case .anyShard:
                continue
            default:
                return nil
            }
        }
        return chosen ?? preferredShard()
    }

    /// Runs the statements in order until one fails; `completion(false)` after a failure.
    private func runSequence(_ statements: [RoutedStatement], from index: Int, completion: @escaping (Bool) -> Void) {
        guard index < statements.count, !connection.isClosed else {
            return completion(index >= statements.count)
        }
        execute(statements[index]) { [self] ok in
            if ok { runSequence(statements, from: index + 1, completion: completion) } else { completion(false) }
        }
    }

    /// Runs one routed statement; `completion(false)` after an error (already sent).
    func execute(_ statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        let kind = ProxyMetrics.kind(of: statement.route, shardCount: links.count)
        let started = monotonicNanoseconds()
        run(statement) { [self] ok in
            let shard: Int? = if case .shard(let shard) = statement.route { shard } else { nil }
            recordDuration(kind, shard: shard, since: started)
            completion(ok)
        }
    }

    private func run(_ statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        if let transaction, transaction.failed, !statement.route.isAllowedInFailedTransaction {
            fail(.error(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block"))
            completion(false)
            return
        }
        let offset = statement.characterOffset
        let all = Array(links.indices)
        switch statement.route {
        case .refuse(let error):
            fail(clientError(error))
            completion(false)
        case .session(let command):
            runSessionCommand(command, statement: statement, completion: completion)
        case .cursor(let command):
            runCursorStatement(command, statement: statement, completion: completion)
        case .shard(let shard):
            runOnShards([shard], sql: statement.sql, mode: .single, positionOffset: offset, completion: completion)
        case .anyShard:
            runOnShards([preferredShard()], sql: statement.sql, mode: .single, positionOffset: offset, completion: completion)
        case .scatter(let shards, .read):
            runOnShards(shards, sql: statement.sql, mode: .concatenate, positionOffset: offset, completion: completion)
        case .scatter(let shards, .merge(let plan)):
            runMerge(shards, plan: plan, completion: completion)
        case .scatter(let shards, .copyOut(let header)):
            runOnShards(shards, sql: statement.sql, mode: .concatenate, positionOffset: offset, copyHeader: header, completion: completion)
        case .scatter(let shards, .write):
            runOnShards(shards, sql: statement.sql, mode: .concatenate, positionOffset: offset, atomic: true, completion: completion)
        case .allShards(.ddl) where !Self.runsInTransactionBlock(statement.sql) && transaction == nil:
            runShardByShard(all, statement: statement, completion: completion)
        case .allShards(.ddl):
            runOnShards(all, sql: statement.sql, mode: .firstShard, positionOffset: offset, atomic: true,
                        twoPhase: !Self.touchesTemporaryObjects(statement.sql), completion: completion)
        case .allShards(.referenceWrite):
            runOnShards(all, sql: statement.sql, mode: .firstShard, positionOffset: offset, atomic: true, completion: completion)
        case .explain(let inner, let explanation):
            explain(inner, explanation, statement: statement, completion: completion)
        case .copyIn(let plan):
            runCopyIn(plan, sql: statement.sql, commit: .atEnd, completion: completion)
        case .insertSplit(let parts):
            // Error positions refer to each shard's own text, not the client's: leave them out.
            let texts = Dictionary(uniqueKeysWithValues: parts.map { ($0.shard, $0.sql) })
            runOnShards(parts.map(\.shard), sql: statement.sql, perShard: texts, mode: .concatenate, positionOffset: nil,
                        atomic: true, completion: completion)
        }
    }

    /// EXPLAIN: pgshard's lines, then the plan of every shard the statement would run on.
    private func explain(_ inner: Route, _ explanation: Explanation, statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        var texts: [Int: String] = [:]
        switch inner {
        case .shard(let shard): texts[shard] = statement.sql
        case .anyShard: texts[preferredShard()] = statement.sql
        case .scatter(let shards, .merge(let plan)): for shard in shards { texts[shard] = plan.sql }
        case .scatter(let shards, _): for shard in shards { texts[shard] = statement.sql }
        case .allShards: for link in links { texts[link.index] = statement.sql }
        case .insertSplit(let parts): for part in parts { texts[part.shard] = part.sql }
        case .refuse, .session, .explain, .copyIn, .cursor: break
        }
        let shards = texts.keys.sorted()
        guard explanation.textFormat else {
            // Other formats: the one shard's plan as it is.
            return runOnShards(shards, sql: statement.sql, mode: .single, positionOffset: statement.characterOffset, completion: completion)
        }
        let targets = shards.map { links[$0] }
        prepare(targets, begin: false) { [self] error in
            if let error {
                fail(error)
                return completion(false)
            }
            let offset: Int? = if case .insertSplit = inner { nil } else { statement.characterOffset }
            let run = ExplainRun(session: self, links: targets, texts: texts, lines: explanation.lines, positionOffset: offset)
            run.run { [self] error in
                if let error { fail(error) }
                completion(error == nil)
            }
        }
    }

    /// DDL that cannot run inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …): one
    /// shard after another, stopping at the first failure, whose error says which shards have
    /// the change and which do not.
    private func runShardByShard(_ shards: [Int], statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        let targets = shards.map { links[$0] }
        var done: [String] = []
        var lastTag = ""
        func next(_ n: Int) {
            guard n < targets.count else {
                connection.output.commandComplete(lastTag)
                return completion(true)
            }
            let link = targets[n]
            prepare([link], begin: false) { [self] error in
                if let error { return failed(error, at: n) }
                step(statement.sql, on: link) { result in
                    switch result {
                    case .done(let tag):
                        lastTag = tag
                        done.append(link.name)
                        next(n + 1)
                    case .failed(let error), .lost(let error):
                        failed(error, at: n)
                    }
                }
            }
        }
        func failed(_ error: ErrorFields, at n: Int) {
            let rest = targets[(n + 1)...].map(\.name)
            var detail = "It failed on shard \(targets[n].name)"
            detail += done.isEmpty ? "; no shard has it" : "; shard(s) \(done.joined(separator: ", ")) have it"
            if !rest.isEmpty { detail += "; not run on \(rest.joined(separator: ", "))" }
            fail(error.adding(detail: detail + ".",
                              hint: "it cannot run in a transaction, so pgshard runs it shard by shard; fix the cause and run it again (with IF NOT EXISTS / IF EXISTS where the shards that have it would fail)"))
            completion(false)
        }
        next(0)
    }

    /// DDL naming temporary objects (`CREATE TEMP TABLE`, `pg_temp.x`), which PostgreSQL
    /// cannot commit in two phases.
    static func touchesTemporaryObjects(_ sql: String) -> Bool {
        let words = sql.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "_") }
        return words.contains { $0 == "temp" || $0 == "temporary" || $0 == "pg_temp" }
    }

    /// Statements PostgreSQL refuses inside a transaction block are not wrapped in one.
    static func runsInTransactionBlock(_ sql: String) -> Bool {
        let lower = sql.lowercased()
        let outsideOnly = ["concurrently", "vacuum", "alter system", "create database", "drop database", "tablespace"]
        return !outsideOnly.contains { lower.contains($0) }
    }

    /// The shard for statements any shard can answer: one already in the transaction, else one
    /// already connected, else the first.
    func preferredShard() -> Int {
        if let link = links.first(where: { $0.inTransaction }) { return link.index }
        if let link = links.first(where: { $0.isUsable }) { return link.index }
        return 0
    }

    /// Prepares `shards` (connect, replay settings, join the transaction), runs `sql` on them
    /// and merges the answers. `atomic`: outside a client transaction, wrap a statement that
    /// writes on several shards in BEGIN/COMMIT on each, so an error on one undoes all.
    func runOnShards(
        _ shards: [Int], sql: String, perShard: [Int: String] = [:], mode: FanOutMode, positionOffset: Int?, atomic: Bool = false,
        twoPhase: Bool = true, copyHeader: Bool = false, completion: @escaping (Bool) -> Void
    ) {
        let targets = shards.map { links[$0] }
        let wrap = atomic && transaction == nil && targets.count > 1
        prepare(targets, begin: wrap) { [self] error in
            if let error {
                fail(error)
                if wrap { finishImplicit(targets, commit: false) { _ in completion(false) } } else { completion(false) }
                return
            }
            let fanOut = ShardFanOut(session: self, links: targets, mode: mode, positionOffset: positionOffset, copyHeader: copyHeader)
            fanOut.run(sql, perShard: perShard) { [self] ok in
                if !ok { transaction?.failed = true }
                reportParameterChanges(targets)
                guard wrap else {
                    completion(ok)
                    return
                }
                finishImplicit(targets, commit: ok, twoPhase: twoPhase) { committed in completion(ok && committed) }
            }
        }
    }

    /// Runs a cross-shard SELECT whose rows the merge combines.
    func runMerge(_ shards: [Int], plan: MergePlan, completion: @escaping (Bool) -> Void) {
        let targets = shards.map { links[$0] }
        prepare(targets, begin: false) { [self] error in
            if let error {
                fail(error)
                return completion(false)
            }
            let merge = ShardMerge(session: self, links: targets, plan: plan, maxMemory: context.config.merge.maxMemory,
                                   textOrder: context.collations.textOrder(shards))
            merge.run { [self] ok in
                if !ok { transaction?.failed = true }
                reportParameterChanges(targets)
                completion(ok)
            }
        }
    }

    /// Ends the implicit multi-shard transaction of one statement: atomically (see
    /// ``commitAcrossShards(_:completion:)``) or rolled back.
    func finishImplicit(_ targets: [ShardLink], commit: Bool, twoPhase: Bool = true, completion: @escaping (Bool) -> Void) {
        // Only shards that opened the implicit transaction: a ROLLBACK elsewhere would warn.
        let usable = targets.filter { $0.isUsable && $0.connection?.serverTransactionStatus != .idle }
        guard commit else { return rollBack(usable) { completion(true) } }
        commitAcrossShards(usable, twoPhase: twoPhase) { [self] error in
            if let error {
                fail(error)
                completion(false)
                return
            }
            completion(true)
        }
    }

    /// Sends an error to the client; inside a transaction it fails the transaction, as in PostgreSQL.
    func fail(_ error: ErrorFields) {
        context.metrics.error(sqlState: error.sqlState?.rawValue ?? "XX000")
        connection.output.errorResponse(error)
        transaction?.failed = true
    }

    /// Ends the Query message: ReadyForQuery, then the next message.
    func finishQuery() {
        isBusy = false
        releaseIdleLinks()
        connection.output.readyForQuery(transactionStatus)
        connection.flush()
        guard !connection.isClosed else { return }
        connection.wantsInput = true
        connection.processInput()
    }

    /// Sends ParameterStatus for reported parameters a shard changed (SET TimeZone, ...).
    func reportParameterChanges(_ targets: [ShardLink]) {
        for link in targets {
            guard let backend = link.connection else { continue }
            guard link.reportedFingerprint != backend.parameterFingerprint else { continue }
            link.reportedFingerprint = backend.parameterFingerprint
            for name in Self.reportedNames where name != "session_authorization" {
                guard let value = backend.parameterStatus(name), reportedParameters[name] != value else { continue }
                reportedParameters[name] = value
                connection.output.parameterStatus(name: name, value: value)
            }
        }
    }
}

extension Route {
    /// BEGIN, COMMIT, ROLLBACK, savepoints, DISCARD ALL: statements that start or end
    /// transactions themselves.
    var controlsTransaction: Bool {
        switch self {
        case .session(.begin), .session(.commit), .session(.rollback), .session(.savepoint), .session(.release),
             .session(.rollbackTo), .session(.discardAll):
            true
        default:
            false
        }
    }

    /// In a failed transaction PostgreSQL accepts only the statements that end it.
    var isAllowedInFailedTransaction: Bool {
        switch self {
        case .session(.commit), .session(.rollback), .session(.rollbackTo): true
        default: false
        }
    }
}
