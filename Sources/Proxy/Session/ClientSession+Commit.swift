import Backend
import PGWire
import SQLRouter

/// What one statement of the commit protocol did on one shard.
enum CommitStep {
    /// It ran; the last command tag.
    case done(tag: String)
    /// The shard answered with an error; the connection is fine.
    case failed(ErrorFields)
    /// The connection failed: whether the statement took effect is unknown.
    case lost(ErrorFields)

    var error: ErrorFields? {
        switch self {
        case .done: nil
        case .failed(let error), .lost(let error): error
        }
    }
}

extension ClientSession {
    /// Commits the transaction open on `participants` so that it takes effect on all of them
    /// or on none: one shard that wrote commits alone; two or more that wrote commit in two
    /// phases (see ``DistributedTransactions``). Shards that only read simply commit. The
    /// completion gets the error the client should see; the links' transactions are over either way.
    ///
    /// `twoPhase` false: one-phase commits in order (DDL on temporary objects, which PostgreSQL
    /// cannot prepare and which vanish with the session anyway).
    func commitAcrossShards(_ participants: [ShardLink], twoPhase: Bool = true, completion: @escaping (ErrorFields?) -> Void) {
        guard participants.count > 1 else {
            return runSilently("COMMIT", on: participants, completion: completion)
        }
        guard twoPhase else { return commitInOrder(participants, completion: completion) }
        findWriters(participants) { [self] writers, error in
            if let error {
                return rollBack(participants) { completion(error) }
            }
            let readers = participants.filter { link in !writers.contains { $0 === link } }
            guard writers.count > 1 else {
                // At most one shard wrote: readers first, so that a failure there can still
                // roll the writer back.
                return commitInOrder(readers + writers, completion: completion)
            }
            commitInTwoPhases(writers: writers, readers: readers, completion: completion)
        }
    }

    /// The participants whose transaction has written (has a transaction id), in their order.
    private func findWriters(_ participants: [ShardLink], completion: @escaping ([ShardLink], ErrorFields?) -> Void) {
        var wrote = [Bool](repeating: false, count: participants.count)
        var firstError: ErrorFields?
        forEachStep(participants.count, oneByOne: false, { [self] n, done in
            step("SELECT 1 WHERE pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL", on: participants[n]) { result in
                switch result {
                case .done(let tag): wrote[n] = tag == "SELECT 1"
                case .failed(let error), .lost(let error): firstError = firstError ?? error
                }
                done()
            }
        }, then: {
            completion(zip(participants, wrote).filter(\.1).map(\.0), firstError)
        })
    }

    /// One-phase commits, one after another; the first failure rolls back the rest.
    private func commitInOrder(_ links: [ShardLink], completion: @escaping (ErrorFields?) -> Void) {
        guard let first = links.first else { return completion(nil) }
        step("COMMIT", on: first) { [self] result in
            if let error = result.error {
                return rollBack(Array(links.dropFirst())) { completion(error) }
            }
            commitInOrder(Array(links.dropFirst()), completion: completion)
        }
    }

    private func commitInTwoPhases(writers: [ShardLink], readers: [ShardLink], completion: @escaping (ErrorFields?) -> Void) {
        let transactions = context.transactions
        let transaction = transactions.begin()
        // The coordinator: the first writer whose shard has the decision table.
        let chosen = writers.firstIndex { transactions.hasDecisionTable(on: $0.name) } ?? 0
        let coordinator = writers[chosen]
        var others = writers
        others.remove(at: chosen)
        let gids = others.map { transaction.gid(coordinator: coordinator.name, participant: $0.name) }
        transactions.reached(.beforePrepare)

        // Phase one: every writer but the coordinator prepares. Shards that only read end with
        // the decision (their locks held until then, a NOTIFY sent only if it commits).
        var prepared = [Bool](repeating: false, count: others.count)
        var firstError: ErrorFields?
        forEachStep(others.count, oneByOne: transactions.failpoint == .betweenPrepares, { [self] n, done in
            step("PREPARE TRANSACTION '\(gids[n])'", on: others[n]) { [self] result in
                switch result {
                case .done:
                    prepared[n] = true
                    transactions.reached(.betweenPrepares)
                case .failed(let error), .lost(let error):
                    firstError = firstError ?? preparationError(error, shard: others[n].name)
                }
                done()
            }
        }, then: { [self] in
            if let error = firstError {
                let toRollBack = zip(others, zip(gids, prepared)).filter { $0.1.1 }.map { ($0.0, $0.1.0) }
                return abort(transaction, rollingBack: [coordinator] + readers, prepared: toRollBack) { completion(error) }
            }
            decide(transaction, coordinator: coordinator, others: others, gids: gids, readers: readers, completion: completion)
        })
    }

    /// Runs `body` for steps `0..<count` — all at once, or one after another when a fault
    /// test stops pgshard between two of them — then `then`.
    private func forEachStep(_ count: Int, oneByOne: Bool, _ body: @escaping (Int, @escaping () -> Void) -> Void, then: @escaping () -> Void) {
        guard count > 0 else { return then() }
        if oneByOne {
            func run(_ n: Int) {
                guard n < count else { return then() }
                body(n) { run(n + 1) }
            }
            return run(0)
        }
        var remaining = count
        for n in 0..<count {
            body(n) {
                remaining -= 1
                if remaining == 0 { then() }
            }
        }
    }

    /// The decision: the coordinator records it and commits in one step. Its answer decides
    /// the transaction; then the prepared participants follow.
    private func decide(
        _ transaction: GlobalTransaction, coordinator: ShardLink, others: [ShardLink], gids: [String], readers: [ShardLink],
        completion: @escaping (ErrorFields?) -> Void
    ) {
        let transactions = context.transactions
        let names = (others.map(\.name) + [coordinator.name]).map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }
        let record = "INSERT INTO \(CommitDecisions.table) (transaction, decision, participants) "
            + "VALUES ('\(transaction.key)', 'commit', ARRAY[\(names.joined(separator: ", "))]::text[]);\nCOMMIT"
        step(record, on: coordinator) { [self] result in
            switch result {
            case .lost(let error):
                // The COMMIT may or may not have happened: recovery reads the decision table.
                logger.error("commit outcome unknown", metadata: ["transaction": "\(transaction.key)", "shard.name": "\(coordinator.name)"])
                transactions.finished(transaction, needsRecovery: true)
                context.metrics.twoPhaseCommit(outcome: "unknown")
                let lost = ErrorFields.error(SQLState(rawValue: "08007"), "the connection to shard \"\(coordinator.name)\" was lost while committing: \(error.message ?? "")",
                                             hint: "pgshard's recovery commits or rolls back the transaction on every shard; check whether it committed before retrying")
                rollBack(readers) { completion(lost) }
            case .failed(let error):
                abort(transaction, rollingBack: [coordinator] + readers, prepared: Array(zip(others, gids))) { completion(error) }
            case .done(tag: "ROLLBACK"):
                // COMMIT of a transaction the shard had aborted.
                let error = ErrorFields.error(.transactionRollback, "the transaction was rolled back on shard \"\(coordinator.name)\"")
                abort(transaction, rollingBack: [coordinator] + readers, prepared: Array(zip(others, gids))) { completion(error) }
            case .done:
                transactions.reached(.afterDecision)
                finishPrepared(transaction, others: others, gids: gids, readers: readers, completion: completion)
            }
        }
    }

    /// Phase two: COMMIT PREPARED everywhere, and COMMIT where the transaction only read. It is
    /// committed whatever happens here; a participant that cannot be reached is finished by recovery.
    private func finishPrepared(
        _ transaction: GlobalTransaction, others: [ShardLink], gids: [String], readers: [ShardLink], completion: @escaping (ErrorFields?) -> Void
    ) {
        let transactions = context.transactions
        var unfinished: [String] = []
        forEachStep(others.count + readers.count, oneByOne: transactions.failpoint == .betweenCommits, { [self] n, done in
            guard n < others.count else {
                // A shard that only read: its COMMIT changes nothing that recovery would need.
                return step("COMMIT", on: readers[n - others.count]) { _ in done() }
            }
            step("COMMIT PREPARED '\(gids[n])'", on: others[n]) { [self] result in
                if let error = result.error {
                    unfinished.append(others[n].name)
                    logger.warning("COMMIT PREPARED failed; recovery will finish it", metadata: [
                        "transaction": "\(transaction.key)", "shard.name": "\(others[n].name)", "error": "\(error.message ?? "")",
                    ])
                } else {
                    transactions.reached(.betweenCommits)
                }
                done()
            }
        }, then: { [self] in
            if !unfinished.isEmpty {
                connection.output.noticeResponse(.error(
                    .warning, "the transaction is committed; shard(s) \(unfinished.joined(separator: ", ")) will apply it when pgshard's recovery reaches them",
                    severity: "WARNING"))
            }
            transactions.finished(transaction, needsRecovery: !unfinished.isEmpty)
            context.metrics.twoPhaseCommit(outcome: "committed")
            completion(nil)
        })
    }

    /// Rolls back the open transactions of `open` (the coordinator, the shards that only read)
    /// and the participants that prepared.
    private func abort(
        _ transaction: GlobalTransaction, rollingBack open: [ShardLink], prepared: [(ShardLink, String)], completion: @escaping () -> Void
    ) {
        var leftPrepared = false
        forEachStep(prepared.count + 1, oneByOne: false, { [self] n, done in
            guard n < prepared.count else { return rollBack(open, completion: done) }
            step("ROLLBACK PREPARED '\(prepared[n].1)'", on: prepared[n].0) { result in
                if result.error != nil { leftPrepared = true }
                done()
            }
        }, then: { [self] in
            context.transactions.finished(transaction, needsRecovery: leftPrepared)
            context.metrics.twoPhaseCommit(outcome: "aborted")
            completion()
        })
    }

    /// ROLLBACK on the links that still have a transaction open (nothing is sent elsewhere: a
    /// ROLLBACK outside a transaction would warn the client).
    func rollBack(_ links: [ShardLink], completion: @escaping () -> Void) {
        let open = links.filter { $0.isUsable && $0.connection?.serverTransactionStatus != .idle }
        forEachStep(open.count, oneByOne: false, { [self] n, done in
            step("ROLLBACK", on: open[n]) { _ in done() }
        }, then: completion)
    }

    /// A failed PREPARE TRANSACTION as the client sees it; "prepared transactions are
    /// disabled" says what to change.
    private func preparationError(_ error: ErrorFields, shard: String) -> ErrorFields {
        if error.sqlState == .featureNotSupported, (error.message ?? "").contains("cursor WITH HOLD") {
            return error.adding(hint: "a transaction that wrote on several shards commits in two phases, which PostgreSQL does not allow once it declared a WITH HOLD cursor; declare the cursor in a transaction of its own (or outside one)")
        }
        if error.sqlState == .featureNotSupported, (error.message ?? "").contains("temporary objects") {
            return error.adding(hint: "a transaction that wrote on several shards commits in two phases, which PostgreSQL does not allow once it used temporary tables; keep such a transaction on one shard")
        }
        guard error.sqlState == .objectNotInPrerequisiteState, (error.message ?? "").contains("prepared transactions are disabled") else {
            return error
        }
        return .error(.objectNotInPrerequisiteState,
                      "the transaction wrote on more than one shard and shard \"\(shard)\" cannot take part in a two-phase commit (max_prepared_transactions is 0); nothing was committed",
                      hint: "set max_prepared_transactions on every shard (at least as high as max_connections) and restart it; `pgshard check` lists the shards that lack it")
    }

    /// Runs one statement of the commit protocol on `link`, notices forwarded.
    func step(_ sql: String, on link: ShardLink, completion: @escaping (CommitStep) -> Void) {
        guard let backend = link.connection, link.isUsable else {
            return completion(.lost(.error(.connectionFailure, "connection to shard \"\(link.name)\" was lost")))
        }
        var error: ErrorFields?
        var tag = ""
        backend.execute(sql, onMessage: { [self] message in
            switch message.type {
            case BackendMessage.errorResponse where error == nil:
                error = clientError(from: Diagnostics(message), positionOffset: nil)
            case BackendMessage.commandComplete:
                tag = message.commandTag
            case BackendMessage.noticeResponse:
                forwardNotice(Diagnostics(message))
            default:
                break
            }
            return .proceed
        }, completion: { [self] failure in
            if let failure {
                let fields = shardFailure(failure, link: link)
                link.close()
                return completion(.lost(fields))
            }
            completion(error.map { .failed($0) } ?? .done(tag: tag))
        })
    }
}

extension Route {
    /// Whether a statement on this route may write; only what is certainly a read says no
    /// (a SELECT that calls a writing function counts as a read).
    /// `textReads`: whether the statement text starts like a read (SELECT, SHOW, VALUES,
    /// TABLE), which matters for a one-shard route only.
    func mayWrite(textReads: @autoclosure () -> Bool) -> Bool {
        switch self {
        case .cursor(.currentOf):
            return true
        case .scatter(_, .read), .scatter(_, .merge), .scatter(_, .copyOut), .anyShard, .session, .refuse, .explain, .cursor:
            return false
        case .shard:
            return !textReads()
        case .scatter, .allShards, .insertSplit, .copyIn:
            return true
        }
    }

    /// Whether `sql` starts (after whitespace and parentheses) with SELECT, SHOW, VALUES or TABLE.
    static func textReads(_ sql: String) -> Bool {
        let start = sql.drop { $0.isWhitespace || $0 == "(" }.prefix(6).lowercased()
        return ["select", "show", "values", "table"].contains { start.hasPrefix($0) }
    }
}
