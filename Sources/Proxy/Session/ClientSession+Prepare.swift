import Backend
import Foundation
import PGWire

extension ClientSession {
    /// Makes every link ready for a statement: connected, session settings replayed, and inside
    /// the client's transaction (BEGIN with the same options, then its savepoints and SETs).
    /// `begin`: also open an implicit transaction (a multi-shard write outside BEGIN).
    /// Links are prepared in parallel; `completion` gets the first error.
    func prepare(_ targets: [ShardLink], begin: Bool, completion: @escaping (ErrorFields?) -> Void) {
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
        if link.isUsable {
            runPrelude(link, begin: begin, completion: completion)
            return
        }
        link.close()
        let backend = BackendConnection(shardName: link.name, queue: connection.queue)
        backend.noticeHandler = { [weak self] notice in self?.forwardNotice(notice) }
        link.connection = backend
        link.settingsApplied = 0
        backend.connect(conninfo: link.conninfo, parameters: backendParameters(), timeout: context.config.backend.connectTimeout) { [weak self, weak link] error in
            guard let self, let link else { return }
            if let error {
                self.logger.warning("shard connection failed", metadata: ["shard.name": "\(link.name)", "error": "\(error.message)"])
                link.close()
                completion(self.shardFailure(error, link: link))
                return
            }
            self.logger.debug("shard connected", metadata: ["shard.name": "\(link.name)"])
            self.runPrelude(link, begin: begin, completion: completion)
        }
    }

    /// What a link must run before the statement, in order.
    private func prelude(for link: ShardLink, begin: Bool) -> [String] {
        var statements = Array(settings[link.settingsApplied...])
        if let transaction, !link.inTransaction {
            statements.append(transaction.begin)
            statements += transaction.savepoints.map { "SAVEPOINT \(quoteIdentifier($0))" }
            statements += transaction.pendingSettings.map(\.sql)
        } else if begin {
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
        let settingsCount = settings.count
        runSilently(statements.joined(separator: ";\n"), on: [link]) { [self] error in
            if error == nil {
                link.settingsApplied = settingsCount
                if transaction != nil { link.inTransaction = true }
            }
            completion(error)
        }
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

    /// libpq keywords carrying what the client asked for at startup, so every shard connection
    /// runs with the client's application_name, encoding, DateStyle, TimeZone, search_path, ...
    func backendParameters() -> [(keyword: String, value: String)] {
        var parameters: [(keyword: String, value: String)] = []
        var options: [String] = []
        for (name, value) in startup.parameters {
            switch name {
            case "user", "database", "replication":
                continue
            case "application_name", "client_encoding":
                parameters.append((name, value))
            case "options":
                options.append(value)
            default:
                if name.hasPrefix("_pq_.") { continue }
                options.append("-c \(escapeOption(name))=\(escapeOption(value))")
            }
        }
        if !options.isEmpty { parameters.append(("options", options.joined(separator: " "))) }
        return parameters
    }

    /// Escapes spaces and backslashes the way libpq's `options` splitting expects.
    private func escapeOption(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: " ", with: "\\ ")
    }

    /// Forwards a shard's NoticeResponse; the same notice from several shards is shown once.
    func forwardNotice(_ notice: Diagnostics) {
        guard forwardedNotices.insert(notice.fields).inserted else { return }
        connection.output.noticeResponse(ErrorFields(fields: notice.fields.map { ($0.code, $0.value) }))
        connection.scheduleFlush()
    }
}

/// Quotes an SQL identifier as `quote_ident` does.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
