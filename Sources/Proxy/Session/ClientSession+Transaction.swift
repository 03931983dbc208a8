import Backend
import PGWire
import SQLRouter

extension ClientSession {
    /// Transaction control and session settings: pgshard keeps the client's view and carries
    /// it to every shard the client uses.
    func runSessionCommand(_ command: SessionCommand, statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        let participants = links.filter(\.inTransaction)
        switch command {
        case .begin(let options):
            let tag = statement.sql.lowercased().hasPrefix("start") ? "START TRANSACTION" : "BEGIN"
            if transaction != nil {
                warn(.activeSQLTransaction, "there is already a transaction in progress")
            } else {
                transaction = TransactionState(begin: options)
            }
            complete(tag, completion)

        case .commit:
            guard let current = transaction else {
                warn(.noActiveSQLTransaction, "there is no transaction in progress")
                complete("COMMIT", completion)
                return
            }
            if current.failed {
                endTransaction(participants, sql: "ROLLBACK") { [self] in complete("ROLLBACK", completion) }
                return
            }
            commit(participants, current: current) { [self] ok in
                ok ? complete("COMMIT", completion) : completion(false)
            }

        case .rollback:
            guard transaction != nil else {
                warn(.noActiveSQLTransaction, "there is no transaction in progress")
                complete("ROLLBACK", completion)
                return
            }
            endTransaction(participants, sql: "ROLLBACK") { [self] in complete("ROLLBACK", completion) }

        case .savepoint(let name):
            guard transaction != nil else {
                fail(.error(.noActiveSQLTransaction, "SAVEPOINT can only be used in transaction blocks"))
                completion(false)
                return
            }
            onParticipants(participants, statement.sql) { [self] ok in
                if ok { transaction?.savepoints.append(name) }
                ok ? complete("SAVEPOINT", completion) : completion(false)
            }

        case .release(let name), .rollbackTo(let name):
            let isRelease = if case .release = command { true } else { false }
            let verb = isRelease ? "RELEASE SAVEPOINT" : "ROLLBACK TO SAVEPOINT"
            guard let current = transaction else {
                fail(.error(.noActiveSQLTransaction, "\(verb) can only be used in transaction blocks"))
                completion(false)
                return
            }
            guard let position = current.savepoints.lastIndex(of: name) else {
                fail(.error(SQLState(rawValue: "3B001"), "savepoint \"\(name)\" does not exist"))
                completion(false)
                return
            }
            onParticipants(participants, statement.sql) { [self] ok in
                guard ok else { return completion(false) }
                let kept = isRelease ? position : position + 1
                if isRelease { cursors.released(savepoint: position) } else { cursors.rolledBack(toSavepoint: position) }
                transaction?.savepoints.removeSubrange(kept...)
                transaction?.pendingSettings.removeAll { $0.savepointDepth > kept }
                if !isRelease { transaction?.failed = current.lostShard }
                complete(isRelease ? "RELEASE" : "ROLLBACK", completion)
            }

        case .set(let sql, let isLocal):
            runSetting(sql, isLocal: isLocal, statement: statement, completion: completion)

        case .acknowledge(let tag):
            complete(tag, completion)

        case .nextID(let column):
            answerNextID(column: column, completion: completion)

        case .routingHint(let name, let hint, let isLocal):
            // pgshard's own settings: kept here, never sent to a shard. SET LOCAL outside a
            // transaction changes nothing, as in PostgreSQL.
            if isLocal {
                transaction?.localHints[name] = .some(hint)
            } else {
                routingHints[name] = hint
                transaction?.localHints[name] = nil
            }
            complete(statement.sql.uppercased().hasPrefix("RESET") ? "RESET" : "SET", completion)

        case .setConfig(let sql, let isLocal, _, _):
            // A `$n` in a simple Query: the shard reports the missing parameter.
            runSetting(sql, isLocal: isLocal, statement: statement, completion: completion)

        case .discardAll:
            guard transaction == nil else {
                fail(.error(.activeSQLTransaction, "DISCARD ALL cannot run inside a transaction block"))
                completion(false)
                return
            }
            runSetting("DISCARD ALL", isLocal: false, statement: statement) { [self] ok in
                // DISCARD ALL closes every cursor; a shard connection gets it when next used.
                if ok { cursors.closeAll() }
                completion(ok)
            }
        }
    }

    /// SET / RESET: run on the shard(s) that need it now, remember it for the others.
    private func runSetting(_ sql: String, isLocal: Bool, statement: RoutedStatement, completion: @escaping (Bool) -> Void) {
        if transaction == nil {
            let shard = preferredShard()
            runOnShards([shard], sql: sql, mode: .single, positionOffset: statement.characterOffset) { [self] ok in
                // SET LOCAL outside a transaction only warns (the shard said so) and changes nothing.
                if ok && !isLocal {
                    settings.append(sql)
                    if let backend = links[shard].connection {
                        if backend.sessionSettings == Array(settings.dropLast()) { backend.sessionSettings = settings }
                        if Self.dropsPreparedStatements(sql) { backend.preparedStatements.removeAll() }
                    }
                }
                completion(ok)
            }
            return
        }
        var targets = links.filter(\.inTransaction).map(\.index)
        if targets.isEmpty { targets = [preferredShard()] }
        runOnShards(targets, sql: sql, mode: .firstShard, positionOffset: statement.characterOffset) { [self] ok in
            if ok, let depth = transaction?.savepoints.count {
                transaction?.pendingSettings.append((sql, depth, isLocal))
            }
            completion(ok)
        }
    }

    /// Commits atomically and makes the transaction's settings the session's; `completion(false)`
    /// after an error (sent to the client).
    private func commit(_ participants: [ShardLink], current: TransactionState, completion: @escaping (Bool) -> Void) {
        commitAcrossShards(participants) { [self] error in
            if let error {
                transaction = nil
                for link in links { link.inTransaction = false }
                cursors.transactionRolledBack()
                fail(error)
                completion(false)
                return
            }
            let committed = current.pendingSettings.filter { !$0.isLocal }.map(\.sql)
            let before = settings.count
            settings += committed
            for link in participants {
                guard let backend = link.connection else { continue }
                if backend.sessionSettings == Array(settings[..<before]) { backend.sessionSettings = settings }
                if committed.contains(where: Self.dropsPreparedStatements) { backend.preparedStatements.removeAll() }
            }
            transaction = nil
            for link in links { link.inTransaction = false }
            cursors.transactionCommitted()
            completion(true)
        }
    }

    /// Ends the implicit transaction of a Query with several statements: committed across its
    /// shards unless a statement failed (the error was sent), rolled back otherwise.
    func endImplicitTransaction(completion: @escaping () -> Void) {
        let participants = links.filter(\.inTransaction)
        guard let current = transaction, !current.failed else {
            return endTransaction(participants, sql: "ROLLBACK", completion: completion)
        }
        commit(participants, current: current) { _ in completion() }
    }

    /// ROLLBACK on every participant; the transaction is over whatever they answer.
    private func endTransaction(_ participants: [ShardLink], sql: String, completion: @escaping () -> Void) {
        runSilently(sql, on: participants.filter(\.isUsable)) { [self] _ in
            transaction = nil
            for link in links { link.inTransaction = false }
            cursors.transactionRolledBack()
            completion()
        }
    }

    /// Runs a savepoint statement on every participant.
    private func onParticipants(_ participants: [ShardLink], _ sql: String, completion: @escaping (Bool) -> Void) {
        runSilently(sql, on: participants) { [self] error in
            if let error {
                fail(error)
                completion(false)
            } else {
                completion(true)
            }
        }
    }

    private func complete(_ tag: String, _ completion: (Bool) -> Void) {
        connection.output.commandComplete(tag)
        completion(true)
    }

    private func warn(_ state: SQLState, _ message: String) {
        connection.output.noticeResponse(.error(state, message, severity: "WARNING"))
    }
}
