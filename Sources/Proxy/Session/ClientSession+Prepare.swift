import Backend
import Foundation
import PGWire

extension ClientSession {
    /// Makes every link ready for a statement: connected, session settings replayed, and inside
    /// the client's transaction (BEGIN with the same options, then its savepoints and SETs).
    /// `begin`: also open a transaction block where none is open (a multi-shard write outside
    /// BEGIN, a COPY in an extended-protocol batch).
    /// Links are prepared in parallel; `completion` gets the first error.
    func prepare(_ targets: [ShardLink], begin: Bool, completion: @escaping (ErrorFields?) -> Void) {
        // One link (most statements): no counting of answers.
        if targets.count == 1 { return prepare(targets[0], begin: begin, completion: completion) }
        forEach(targets, completion: completion) { link, done in self.prepare(link, begin: begin, completion: done) }
    }

    /// Runs `body` for every link at once; `completion` gets the first error once all finished.
    private func forEach(
        _ targets: [ShardLink], completion: @escaping (ErrorFields?) -> Void,
        _ body: (ShardLink, @escaping (ErrorFields?) -> Void) -> Void
    ) {
        var remaining = targets.count
        var firstError: ErrorFields?
        guard remaining > 0 else { return completion(nil) }
        for link in targets {
            body(link) { error in
                if firstError == nil { firstError = error }
                remaining -= 1
                if remaining == 0 { completion(firstError) }
            }
        }
    }

    private func prepare(_ link: ShardLink, begin: Bool, completion: @escaping (ErrorFields?) -> Void) {
        // An idle pooled connection is the usual case under transaction pooling: no callback.
        if link.isUsable || attachIdle(to: link) {
            runPrelude(link, begin: begin, completion: completion)
            return
        }
        let pool = link.pool
        // Strong captures: a waiting client is kept until the pool answers (at most the query
        // wait timeout); weak ones would slow every retain of the session and link.
        pool.acquire { [self] result in
            switch result {
            case .success(let backend):
                guard !hasEnded else {
                    // The client left while waiting: the connection goes back unused.
                    pool.release(backend, reusable: true)
                    return
                }
                attach(backend, to: link)
                runPrelude(link, begin: begin, completion: completion)
            case .failure(let error):
                guard !hasEnded else { return }
                logger.warning("shard connection failed", metadata: ["shard.name": "\(link.name)", "error": "\(error.message)"])
                completion(shardFailure(error, link: link))
            }
        }
    }

    /// Makes the links ready at once if nothing has to run or wait first: each has a usable
    /// connection (or the pool an idle one) and no settings or BEGIN to send. False leaves the
    /// rest to ``prepare(_:begin:completion:)``. For the per-Bind path, which then needs no callback.
    func prepareAtOnce(_ targets: [ShardLink]) -> Bool {
        for link in targets {
            guard link.isUsable || attachIdle(to: link), !hasPrelude(link) else { return false }
        }
        return true
    }

    /// Whether ``prelude(for:begin:)`` without `begin` has anything for `link`, without making
    /// the list.
    private func hasPrelude(_ link: ShardLink) -> Bool {
        if let backend = link.connection, backend.sessionSettings != settings { return true }
        return transaction != nil && !link.inTransaction
    }

    /// Gives a link without a usable connection an idle one from its pool, if there is one (a
    /// broken connection it had goes back to be closed).
    private func attachIdle(to link: ShardLink) -> Bool {
        if let broken = link.connection {
            link.connection = nil
            link.pool.release(broken, reusable: false)
        }
        link.inTransaction = false
        guard let idle = link.pool.takeIdle() else { return false }
        attach(idle, to: link)
        return true
    }

    private func attach(_ backend: BackendConnection, to link: ShardLink) {
        backend.noticeHandler = noticeForwarder
        backend.notificationHandler = notificationForwarder
        link.connection = backend
    }

    /// What a link must run before the statement, in order: the session's settings where the
    /// connection's differ (RESET ALL first unless they only lack the newest ones), then the
    /// transaction's opening.
    private func prelude(for link: ShardLink, begin: Bool) -> [String] {
        var statements: [String] = []
        if let backend = link.connection, backend.sessionSettings != settings {
            if backend.sessionSettings.count < settings.count, Array(settings[..<backend.sessionSettings.count]) == backend.sessionSettings {
                statements += settings[backend.sessionSettings.count...]
            } else {
                statements.append("RESET ALL")
                statements += settings
            }
        }
        if let transaction, !link.inTransaction {
            statements.append(transaction.begin)
            statements += transaction.savepoints.map { "SAVEPOINT \(quoteIdentifier($0))" }
            statements += transaction.pendingSettings.map(\.sql)
        } else if begin, link.connection?.serverTransactionStatus == .idle {
            // Not when the shard is in a block already (an earlier COPY of the same batch).
            statements.append("BEGIN")
        }
        return statements
    }

    private func runPrelude(_ link: ShardLink, begin: Bool, completion: @escaping (ErrorFields?) -> Void) {
        let statements = prelude(for: link, begin: begin)
        guard !statements.isEmpty else {
            completion(nil)
            return
        }
        let applied = settings
        runSilently(statements.joined(separator: ";\n"), on: [link]) { [self] error in
            if error == nil {
                if let backend = link.connection {
                    backend.sessionSettings = applied
                    if statements.contains(where: Self.dropsPreparedStatements) { backend.preparedStatements.removeAll() }
                }
                if transaction != nil { link.inTransaction = true }
            }
            completion(error)
        }
    }

    /// Whether a statement removes the connection's prepared statements: it mentions DISCARD or
    /// DEALLOCATE, in any case. Checked on the statement's bytes: asked for every prelude (the
    /// BEGIN of each transaction block), where upper-casing the text and searching it with
    /// Foundation cost several thousand instructions.
    static func dropsPreparedStatements(_ sql: String) -> Bool {
        var sql = sql
        return sql.withUTF8 { bytes in
            contains("DISCARD", caseInsensitivelyIn: bytes) || contains("DEALLOCATE", caseInsensitivelyIn: bytes)
        }
    }

    /// Whether `bytes` hold `word` (upper-case ASCII letters) in any mix of case.
    private static func contains(_ word: StaticString, caseInsensitivelyIn bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let letters = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count >= letters.count else { return false }
        for start in 0...(bytes.count - letters.count) where bytes[start] & 0xDF == letters[0] {
            var matched = 1
            while matched < letters.count, bytes[start + matched] & 0xDF == letters[matched] { matched += 1 }
            if matched == letters.count { return true }
        }
        return false
    }

    /// Runs `sql` on every link (in parallel) without forwarding its rows or tags; returns the
    /// first error as the client should see it.
    func runSilently(_ sql: String, on targets: [ShardLink], completion: @escaping (ErrorFields?) -> Void) {
        forEach(targets, completion: completion) { link, done in
            guard let backend = link.connection else { return done(nil) }
            var error: ErrorFields?
            backend.execute(sql, onMessage: { [self] message in
                if message.type == BackendMessage.errorResponse, error == nil {
                    error = clientError(from: Diagnostics(message), positionOffset: 0)
                } else if message.type == BackendMessage.noticeResponse {
                    forwardNotice(Diagnostics(message))
                }
                return .proceed
            }, completion: { [self] failure in
                if let failure {
                    if error == nil { error = shardFailure(failure, link: link) }
                    link.close()
                }
                done(error)
            })
        }
    }

    /// The client's startup parameters (application_name, search_path, TimeZone, `options`
    /// with `-c name=value`, ...) as SET statements: the first session settings, run on every
    /// pooled shard connection the client uses.
    func startupSettings() -> [String] {
        var result: [String] = []
        for (name, value) in startup.parameters {
            switch name {
            case "user", "database", "replication", "client_encoding":
                continue
            case "options":
                for (option, optionValue) in Self.commandLineSettings(value) {
                    result.append(Self.setting(option, optionValue))
                }
            default:
                if name.hasPrefix("_pq_.") { continue }
                result.append(Self.setting(name, value))
            }
        }
        return result
    }

    /// A startup setting as a statement. set_config takes the value as the server's startup
    /// options do (`search_path=a,b` is a list of two schemas; `SET x = 'a,b'` would be one).
    static func setting(_ name: String, _ value: String) -> String {
        "SELECT pg_catalog.set_config(\(quoteLiteral(name)), \(quoteLiteral(value)), false)"
    }

    /// `-c name=value` and `--name=value` pairs of a startup `options` string (backslash
    /// escapes a space, as libpq's splitting does).
    static func commandLineSettings(_ options: String) -> [(String, String)] {
        var words: [String] = []
        var current = ""
        var escaped = false
        for character in options {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == " " {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        var pairs: [(String, String)] = []
        var index = 0
        while index < words.count {
            var word = words[index]
            if word == "-c", index + 1 < words.count {
                index += 1
                word = words[index]
            } else if word.hasPrefix("-c") {
                word = String(word.dropFirst(2))
            } else if word.hasPrefix("--") {
                word = String(word.dropFirst(2))
            } else {
                index += 1
                continue
            }
            if let equals = word.firstIndex(of: "=") {
                let name = word[..<equals].replacingOccurrences(of: "-", with: "_")
                pairs.append((name, String(word[word.index(after: equals)...])))
            }
            index += 1
        }
        return pairs
    }

    /// Forwards a shard's NoticeResponse; the same notice from several shards is shown once.
    /// A NotificationResponse of a channel the client listens on (`LISTEN` runs on the first
    /// shard): passed on as it came, between statements or in the middle of one, as
    /// PostgreSQL sends it.
    func forwardNotification(_ notification: BackendMessage) {
        connection.output.forward(notification)
        connection.scheduleFlush()
    }

    func forwardNotice(_ notice: Diagnostics) {
        guard forwardedNotices.insert(notice.fields).inserted else { return }
        connection.output.noticeResponse(ErrorFields(fields: notice.fields.map { ($0.code, $0.value) }))
        connection.scheduleFlush()
    }
}

/// Quotes an SQL string literal.
func quoteLiteral(_ value: String) -> String {
    "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
}

/// Quotes an SQL identifier as `quote_ident` does.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
