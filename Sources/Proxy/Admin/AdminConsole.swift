import Foundation
import PGWire
import Sharding
import SQLRouter

/// The admin console: a client that connects to the database `pgshard` as an admin user
/// (`users: [{ …, admin: true }]`) gets pgshard's own commands, answered as ordinary result
/// sets in the style PgBouncer's console uses. Simple protocol only.
struct AdminConsole {
    let context: ProxyContext

    /// A command's answer: columns and rows of text, or an error.
    enum Answer {
        case rows(columns: [String], rows: [[String?]])
        case error(ErrorFields)
    }

    static let commands: [(String, String)] = [
        ("SHOW HELP", "this list"),
        ("SHOW VERSION", "pgshard's version"),
        ("SHOW SHARDS", "every shard: name, role, primary (password hidden), state, weight, pool size, connections active/idle, clients waiting"),
        ("SHOW TABLES", "how each configured table is placed: kind, key, type, function"),
        ("SHOW SHARD FOR <table> <key>", "the shard holding one key of a sharded table"),
        ("SHOW CONFIG", "the settings in force"),
        ("SHOW STATS", "the /metrics counters: statements by route, per shard statements/rows/bytes/errors and latency percentiles, errors by SQLSTATE class, pools, plan cache"),
        ("SHOW CLIENTS", "client sessions: process id, user, database, application"),
        ("SHOW POOLS", "per worker and shard: pool size, connections active/idle/connecting, clients waiting, wait timeouts, acquisitions"),
        ("SHOW SERVERS", "every shard connection: shard, worker, state, connected since, in its state since"),
        ("PAUSE [seconds]", "hold new transactions; answers once running ones finished (shutdown_timeout by default), else an error and no pause"),
        ("RESUME", "let held transactions go on"),
        ("RELOAD", "read the configuration file again and put it in force without dropping clients, as on SIGHUP"),
        ("SHUTDOWN", "stop accepting, let running transactions finish (shutdown_timeout), then stop, as on SIGTERM"),
    ]

    func answer(_ sql: String) -> Answer {
        var text = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(";") { text = String(text.dropLast()).trimmingCharacters(in: .whitespaces) }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        let upper = words.map { $0.uppercased() }
        switch upper.prefix(2).joined(separator: " ") {
        case "SHOW HELP":
            return .rows(columns: ["command", "description"], rows: Self.commands.map { [$0.0, $0.1] })
        case "SHOW VERSION":
            return .rows(columns: ["version"], rows: [["pgshard \(ProxyServer.version)"]])
        case "SHOW SHARDS":
            let pools = context.pools.all
            return .rows(columns: ["name", "role", "primary", "state", "weight", "pool_size", "active", "idle", "waiting"],
                         rows: context.config.shards.enumerated().map { index, shard in
                             let counts = pools.filter { $0.shard == index }.map(\.monitor.counts)
                             let active = counts.reduce(0) { $0 + $1.active }, idle = counts.reduce(0) { $0 + $1.idle }
                             // What pgshard knows without asking: connections in use, open, or none yet.
                             let state = active > 0 ? "in use" : idle > 0 ? "connected" : "no connections"
                             return [shard.name, "primary", ProxyConfig.redacted(shard.primary), state, String(shard.weight),
                                     String(context.config.pool.size), String(active), String(idle), String(counts.reduce(0) { $0 + $1.waiting })]
                         })
        case "SHOW TABLES":
            return .rows(columns: ["table", "kind", "key", "type", "function"], rows: tables())
        case "SHOW CONFIG":
            return .rows(columns: ["setting", "value"], rows: settings())
        case "SHOW STATS":
            return .rows(columns: ["metric", "value"], rows: statistics())
        case "SHOW CLIENTS":
            return .rows(columns: ["process_id", "user", "database", "application_name"],
                         rows: context.registry.clients().map { [String($0.processID), $0.user, $0.database, $0.application] })
        case "SHOW POOLS":
            return .rows(columns: ["shard", "worker", "size", "active", "idle", "connecting", "waiting", "wait_timeouts", "acquired"],
                         rows: context.pools.all.map { pool in
                             let c = pool.monitor.counts
                             return [pool.name, String(pool.loop), String(pool.size), String(c.active), String(c.idle),
                                     String(c.connecting), String(c.waiting), String(c.timeouts), String(c.acquired)]
                         })
        case "SHOW SERVERS":
            let format = ISO8601DateFormatter()
            return .rows(columns: ["shard", "worker", "state", "connected_at", "state_since"], rows: context.pools.all.flatMap { pool in
                pool.monitor.serverList.map { [pool.name, String(pool.loop), $0.state.name, format.string(from: $0.connectedAt), format.string(from: $0.since)] }
            })
        case "RELOAD":
            if let problem = context.reload.request() {
                return .error(.error(SQLState(rawValue: "F0000"), "configuration not reloaded: \(problem)",
                                     hint: "fix the configuration; the one in force stays"))
            }
            return .rows(columns: ["reload"], rows: [["configuration reloaded"]])
        case "SHUTDOWN":
            context.logger.info("shutdown requested on the admin console")
            context.shutdown.request()
            return .rows(columns: ["shutdown"], rows: [["stopping: running transactions may finish within shutdown_timeout"]])
        case "SHOW SHARD":
            guard upper.count == 5, upper[2] == "FOR" else { return usage("SHOW SHARD FOR <table> <key>") }
            let key = words[4].hasPrefix("'") && words[4].hasSuffix("'") && words[4].count >= 2 ? String(words[4].dropFirst().dropLast()) : words[4]
            switch RouteReport.key(key, table: words[3], config: context.config) {
            case .success(let line): return .rows(columns: ["table", "key", "placement"], rows: [[words[3], key, line]])
            case .failure(let error): return .error(.error(SQLState(rawValue: error.sqlState), error.message, hint: error.hint))
            }
        default:
            return usage(text.isEmpty ? "a command" : text)
        }
    }

    private func usage(_ what: String) -> Answer {
        .error(.error(.syntaxError, "unknown admin console command: \(what)", hint: "SHOW HELP lists the commands"))
    }

    private func tables() -> [[String?]] {
        context.config.tables.keys.sorted().map { name in
            switch context.config.tables[name]! {
            case .reference: [name, "reference", nil, nil, nil]
            case .pinned(let shard): [name, "pinned", nil, nil, shard]
            case .sharded(let spec):
                [name, "sharded", spec.columns.joined(separator: ", "), spec.types.map(\.rawValue).joined(separator: ", "), Self.name(spec.function)]
            }
        }
    }

    private static func name(_ function: ProxyConfig.FunctionSpec) -> String {
        switch function {
        case .hash: "hash"
        case .range: "range"
        case .list: "list"
        case .consistent(let vnodes): "consistent (vnodes \(vnodes))"
        case .moduloMD5: "modulo-md5"
        case .directory(let name): "directory (\(name))"
        case .group: "group"
        }
    }

    private func settings() -> [[String?]] {
        let config = context.config
        return [
            ["listen", "\(config.listen.host):\(config.listen.port)"],
            ["http", config.http.map { "\($0.host):\($0.port)" } ?? "off"],
            ["auth", config.auth.rawValue],
            ["require_tls", String(config.requireTLS)],
            ["tls", config.tls == nil ? "off" : "on"],
            ["database", config.database ?? "any"],
            ["shards", String(config.shards.count)],
            ["cross_shard", config.crossShard.rawValue],
            ["pool.mode", config.pool.mode.rawValue],
            ["pool.size", String(config.pool.size)],
            ["pool.query_wait_timeout", "\(config.pool.queryWaitTimeout)s"],
            ["pool.lifetime", "\(config.pool.lifetime)s"],
            ["pool.idle_timeout", "\(config.pool.idleTimeout)s"],
            ["limits.max_message_size", String(config.limits.maxMessageSize)],
            ["limits.max_statement_size", String(config.limits.maxStatementSize)],
            ["limits.max_client_connections", String(config.limits.maxClientConnections)],
            ["backend.connect_timeout", "\(config.backend.connectTimeout)s"],
            ["log.level", config.log.level],
            ["log.format", config.log.format.rawValue],
            ["shutdown_timeout", "\(config.shutdownTimeout)s"],
        ]
    }

    /// The counters of `/metrics`, as rows, and each shard's latency percentiles (from the
    /// histogram buckets: the bucket bound the percentile falls under).
    private func statistics() -> [[String?]] {
        context.metrics.pools(context.pools.all)
        let text = context.metrics.render(clientConnections: context.registry.openConnections, router: context.router)
        var rows: [[String?]] = []
        var buckets: [String: [(bound: Double, count: Double)]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let name = String(line[..<space]), value = String(line[line.index(after: space)...])
            if name.hasPrefix("pgshard_shard_statement_duration_seconds_bucket{"),
               let shard = Self.label("shard", in: name), let le = Self.label("le", in: name), let count = Double(value) {
                buckets[shard, default: []].append((le == "+Inf" ? .infinity : Double(le) ?? .infinity, count))
            }
            if name.contains("_bucket{") { continue }
            rows.append([name, value])
        }
        for (shard, cumulative) in buckets.sorted(by: { $0.key < $1.key }) {
            let sorted = cumulative.sorted { $0.bound < $1.bound }
            guard let total = sorted.last?.count, total > 0 else { continue }
            for quantile in [0.5, 0.99] {
                let bound = sorted.first { $0.count >= quantile * total }?.bound ?? .infinity
                rows.append(["pgshard_shard_statement_duration_seconds{shard=\"\(shard)\",quantile=\"\(quantile)\"}",
                             bound.isInfinite ? "> 5" : "<= \(bound)"])
            }
        }
        return rows
    }

    private static func label(_ name: String, in series: String) -> String? {
        guard let start = series.range(of: name + "=\"") else { return nil }
        let rest = series[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

extension ClientSession {
    /// A message on the admin console: Query is answered, Terminate ends the session, the
    /// extended protocol is refused (until Sync, as the protocol's error rule says).
    func adminReceived(_ message: FrontendMessage) {
        switch message {
        case .query(let sql):
            adminQueryReceived(sql)
        case .terminate:
            connection.close()
        case .sync:
            syncReceived()
        case .flush:
            flushReceived()
        default:
            failBatch(.error(.featureNotSupported, "the admin console answers simple queries only", hint: "use psql"))
        }
    }

    /// A Query message on the admin console.
    func adminQueryReceived(_ sql: String) {
        isBusy = true
        let words = sql.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ";")))
            .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map { $0.uppercased() }
        if words.first == "PAUSE", words.count <= 2 {
            guard let timeout = words.count == 2 ? Double(words[1]) : context.config.shutdownTimeout, timeout >= 0 else {
                fail(.error(.syntaxError, "PAUSE takes a timeout in seconds", hint: "PAUSE, or PAUSE 30"))
                return finishQuery()
            }
            return pauseAll(timeout: timeout)
        }
        if words == ["RESUME"] {
            context.pause.resume()
            context.logger.info("resumed on the admin console")
            answerAdmin(.rows(columns: ["resume"], rows: [["resumed"]]))
            return finishQuery()
        }
        answerAdmin(AdminConsole(context: context).answer(sql))
        finishQuery()
    }

    /// PAUSE: new transactions wait; the answer comes once no other session is inside one
    /// (or, after `timeout` seconds, an error, and the pause is lifted).
    private func pauseAll(timeout: Double) {
        let context = self.context
        context.pause.pause()
        context.logger.info("pausing on the admin console", metadata: ["timeout": "\(timeout)s"])
        let me = ObjectIdentifier(self)
        let finish: @Sendable (Int) -> Void = { [weak self] running in
            guard let self else { return }
            if running == 0 {
                self.answerAdmin(.rows(columns: ["pause"], rows: [["paused: new transactions wait for RESUME"]]))
            } else {
                context.pause.resume()
                self.answerAdmin(.error(.error(SQLState(rawValue: "55000"), "PAUSE timed out: \(running) sessions are still in a transaction",
                                               hint: "try again with a longer timeout (PAUSE 60); pgshard is not paused")))
            }
            self.finishQuery()
        }
        let queue = self.queue
        DispatchQueue.global().async {
            let deadline = DispatchTime.now() + timeout
            var running = 0
            while true {
                running = context.registry.liveSessions().filter { ObjectIdentifier($0) != me && !$0.isAdmin }.reduce(0) { count, session in
                    count + (session.queue.sync { session.isBetweenTransactions } ? 0 : 1)
                }
                if running == 0 || DispatchTime.now() >= deadline { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            let result = running
            queue.async { finish(result) }
        }
    }

    private func answerAdmin(_ answer: AdminConsole.Answer) {
        switch answer {
        case .rows(let columns, let rows):
            connection.output.rowDescription(columns.map {
                FieldDescription(name: $0, tableOID: 0, columnAttributeNumber: 0, dataTypeOID: 25, dataTypeSize: -1, typeModifier: -1, format: 0)
            })
            for row in rows { connection.output.dataRow(row.map { $0.map { Array($0.utf8) } }) }
            connection.output.commandComplete("SHOW")
        case .error(let error):
            fail(error)
        }
    }
}
