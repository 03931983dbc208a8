import Foundation
import Sharding
import SQLRouter
import Yams

/// One thing wrong with a configuration, with the place it is at.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted path of the offending entry, e.g. `tables.orders.key`.
    public var path: String
    public var message: String
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A configuration that could not be used, with every problem found.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension ProxyConfig {
    /// Reads and validates the YAML file at `path`.
    public static func load(path: String) throws(ConfigError) -> ProxyConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(problems: [ConfigProblem(path: "", message: "cannot read \(path): \(error.localizedDescription)")])
        }
        return try parse(yaml: text, environment: ProcessInfo.processInfo.environment)
    }

    /// Parses and validates YAML text; collects every problem rather than stopping at the first.
    public static func parse(yaml: String) throws(ConfigError) -> ProxyConfig {
        let root: Any?
        do {
            root = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigError(problems: [ConfigProblem(path: "", message: "not valid YAML: \(error)")])
        }
        return try parse(root: root)
    }

    static func parse(root: Any?) throws(ConfigError) -> ProxyConfig {
        var reader = ConfigReader()
        let config = reader.readConfig(root)
        guard reader.problems.isEmpty else { throw ConfigError(problems: reader.problems) }
        return config
    }
}

/// Walks the YAML tree, recording a problem for every wrong, missing or unknown entry.
struct ConfigReader {
    var problems: [ConfigProblem] = []

    mutating func problem(_ path: String, _ message: String) {
        problems.append(ConfigProblem(path: path, message: message))
    }

    mutating func map(_ value: Any?, _ path: String, allowed: Set<String>) -> [String: Any]? {
        guard let value else { return nil }
        guard let dictionary = value as? [String: Any] else {
            problem(path, "expected a mapping")
            return nil
        }
        for key in dictionary.keys.sorted() where !allowed.contains(key) {
            problem(path.isEmpty ? key : "\(path).\(key)", "unknown setting")
        }
        return dictionary
    }

    mutating func string(_ value: Any?, _ path: String) -> String? {
        switch value {
        case nil: return nil
        case let s as String: return s
        case let i as Int: return String(i)
        case let d as Double: return String(d)
        case let b as Bool: return String(b)
        default:
            problem(path, "expected a string")
            return nil
        }
    }

    mutating func requiredString(_ value: Any?, _ path: String) -> String? {
        guard let s = string(value, path) else {
            if value == nil { problem(path, "missing") }
            return nil
        }
        if s.isEmpty { problem(path, "must not be empty") }
        return s
    }

    mutating func integer(_ value: Any?, _ path: String, range: ClosedRange<Int>) -> Int? {
        guard let value else { return nil }
        var parsed: Int?
        if let i = value as? Int { parsed = i } else if let s = value as? String { parsed = Self.parseSize(s) }
        guard let n = parsed else {
            problem(path, "expected a whole number (sizes may use kB, MB, GB; \"64MB\")")
            return nil
        }
        guard range.contains(n) else {
            problem(path, "must be between \(range.lowerBound) and \(range.upperBound), got \(n)")
            return nil
        }
        return n
    }

    mutating func seconds(_ value: Any?, _ path: String, allowZero: Bool = false) -> Double? {
        guard let value else { return nil }
        var parsed: Double?
        if let i = value as? Int { parsed = Double(i) } else if let d = value as? Double { parsed = d } else if let s = value as? String {
            let trimmed = s.hasSuffix("ms") ? String(s.dropLast(2)) : s.hasSuffix("s") ? String(s.dropLast()) : s
            parsed = Double(trimmed).map { s.hasSuffix("ms") ? $0 / 1000 : $0 }
        }
        guard let n = parsed, n > 0 || (allowZero && n == 0) else {
            problem(path, "expected a positive duration in seconds (\"5s\", \"500ms\")")
            return nil
        }
        return n
    }

    /// "64MB", "512kB", "1GB", "1048576": PostgreSQL's unit spellings, powers of 1024.
    static func parseSize(_ text: String) -> Int? {
        let s = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10), ("B", 1)]
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            return Int(s.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)).map { $0 * factor }
        }
        return Int(s)
    }

    mutating func readConfig(_ root: Any?) -> ProxyConfig {
        var config = ProxyConfig()
        guard let top = map(root ?? [String: Any](), "", allowed: [
            "listen", "auth", "auth_failure_delay", "users", "tls", "require_tls", "database", "shards", "tables",
            "limits", "backend", "log", "pool", "workers", "cross_shard", "directory", "shard_groups", "http", "shutdown_timeout",
            "merge", "transactions", "node_id",
        ]) else { return config }
        if let node = readNodeID(top["node_id"]) { config.nodeID = node }
        if let timeout = seconds(top["shutdown_timeout"], "shutdown_timeout", allowZero: true) { config.shutdownTimeout = timeout }
        if let http = map(top["http"], "http", allowed: ["host", "port"]) {
            var endpoint = ProxyConfig.Listen()
            endpoint.port = 9930
            if let host = string(http["host"], "http.host") { endpoint.host = host }
            if let port = integer(http["port"], "http.port", range: 0...65535) { endpoint.port = port }
            config.http = endpoint
        }
        if let directory = map(top["directory"], "directory", allowed: ["conninfo", "cache_size"]),
           let conninfo = requiredString(directory["conninfo"], "directory.conninfo") {
            var settings = ProxyConfig.DirectorySettings(conninfo: conninfo)
            if let size = integer(directory["cache_size"], "directory.cache_size", range: 0...100_000_000) { settings.cacheSize = size }
            config.directory = settings
        }
        if let policy = crossShard(top["cross_shard"], "cross_shard") { config.crossShard = policy }
        if let n = integer(top["workers"], "workers", range: 1...256) { config.workers = n }
        if let pool = map(top["pool"], "pool", allowed: ["mode", "size", "query_wait_timeout", "lifetime", "idle_timeout"]) {
            if let mode = string(pool["mode"], "pool.mode") {
                if let value = ProxyConfig.PoolMode(rawValue: mode) { config.pool.mode = value } else {
                    problem("pool.mode", "unknown mode \"\(mode)\"; use session or transaction")
                }
            }
            if let n = integer(pool["size"], "pool.size", range: 1...10_000) { config.pool.size = n }
            if let s = seconds(pool["query_wait_timeout"], "pool.query_wait_timeout") { config.pool.queryWaitTimeout = s }
            if let s = seconds(pool["lifetime"], "pool.lifetime") { config.pool.lifetime = s }
            if let s = seconds(pool["idle_timeout"], "pool.idle_timeout") { config.pool.idleTimeout = s }
        }

        if let listen = map(top["listen"], "listen", allowed: ["host", "port"]) {
            if let host = string(listen["host"], "listen.host") { config.listen.host = host }
            if let port = integer(listen["port"], "listen.port", range: 0...65535) { config.listen.port = port }
        }
        if let auth = string(top["auth"], "auth") {
            if let method = ProxyConfig.AuthMethod(rawValue: auth) { config.auth = method } else {
                problem("auth", "unknown method \"\(auth)\"; use scram-sha-256, md5, password or trust")
            }
        }
        if let delay = seconds(top["auth_failure_delay"], "auth_failure_delay", allowZero: true) {
            if delay <= 10 { config.authFailureDelay = delay } else { problem("auth_failure_delay", "must be at most 10s") }
        }
        config.database = string(top["database"], "database")
        config.users = readUsers(top["users"], method: config.auth)
        if config.auth != .trust && config.users.isEmpty && problems.allSatisfy({ !$0.path.hasPrefix("users") }) {
            problem("users", "auth is \(config.auth.rawValue) but no users are configured; add users or set auth: trust")
        }
        config.tls = readTLS(top["tls"])
        if let require = top["require_tls"] {
            if let flag = require as? Bool { config.requireTLS = flag } else { problem("require_tls", "expected true or false") }
        }
        if config.requireTLS && config.tls == nil && top["tls"] == nil {
            problem("require_tls", "require_tls is true but no tls certificate is configured; add tls: { cert: ..., key: ... }")
        }
        config.shards = readShards(top["shards"])
        config.shardGroups = readShardGroups(top["shard_groups"], shardNames: config.shards.map(\.name))
        config.tables = readTables(top["tables"], shardNames: config.shards.map(\.name), hasDirectory: config.directory != nil,
                                   groups: Set(config.shardGroups.keys))

        if let limits = map(top["limits"], "limits", allowed: ["max_message_size", "max_statement_size", "max_client_connections"]) {
            if let n = integer(limits["max_message_size"], "limits.max_message_size", range: 1024...(1 << 30)) { config.limits.maxMessageSize = n }
            if let n = integer(limits["max_statement_size"], "limits.max_statement_size", range: 64...(4 << 20)) { config.limits.maxStatementSize = n }
            if let n = integer(limits["max_client_connections"], "limits.max_client_connections", range: 1...1_000_000) { config.limits.maxClientConnections = n }
        }
        if let merge = map(top["merge"], "merge", allowed: ["max_memory"]) {
            if let n = integer(merge["max_memory"], "merge.max_memory", range: (64 << 10)...(1 << 40)) { config.merge.maxMemory = n }
        }
        if let transactions = map(top["transactions"], "transactions", allowed: ["recovery_interval"]) {
            if let s = seconds(transactions["recovery_interval"], "transactions.recovery_interval") { config.transactions.recoveryInterval = s }
        }
        if let backend = map(top["backend"], "backend", allowed: ["connect_timeout"]) {
            if let s = seconds(backend["connect_timeout"], "backend.connect_timeout") { config.backend.connectTimeout = s }
        }
        if let log = map(top["log"], "log", allowed: ["level", "format"]) {
            if let format = string(log["format"], "log.format") {
                if let value = ProxyConfig.LogFormat(rawValue: format) { config.log.format = value } else {
                    problem("log.format", "unknown format \"\(format)\"; use logfmt or json")
                }
            }
            if let level = string(log["level"], "log.level") {
                let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                if levels.contains(level) { config.log.level = level } else {
                    problem("log.level", "unknown level \"\(level)\"; use one of \(levels.joined(separator: ", "))")
                }
            }
        }
        return config
    }

    /// `node_id`: 0…1023, the 10 bits of every global id that tell pgshard instances apart.
    mutating func readNodeID(_ value: Any?) -> Int? {
        guard let value else { return nil }
        guard let node = value as? Int else {
            problem("node_id", "expected a whole number from 0 to \(GlobalID.maxNodeID)")
            return nil
        }
        guard (0...GlobalID.maxNodeID).contains(node) else {
            problem("node_id", "must be between 0 and \(GlobalID.maxNodeID) (global ids keep 10 bits for it), got \(node)")
            return nil
        }
        return node
    }

    mutating func readTLS(_ value: Any?) -> TLSSettings? {
        guard let entry = map(value, "tls", allowed: ["cert", "key"]) else { return nil }
        guard let cert = requiredString(entry["cert"], "tls.cert"), let key = requiredString(entry["key"], "tls.key"),
              !cert.isEmpty, !key.isEmpty else { return nil }
        do {
            return try TLSSettings(certificatePath: cert, keyPath: key)
        } catch {
            problem(error.operation.contains("private key") ? "tls.key" : "tls.cert", error.description)
            return nil
        }
    }

    mutating func crossShard(_ value: Any?, _ path: String) -> RoutingContext.CrossShard? {
        guard let text = string(value, path) else { return nil }
        guard let policy = RoutingContext.CrossShard(rawValue: text) else {
            problem(path, "unknown value \"\(text)\"; use allow or deny")
            return nil
        }
        return policy
    }

    mutating func readUsers(_ value: Any?, method: ProxyConfig.AuthMethod) -> [ProxyConfig.User] {
        guard let value else { return [] }
        guard let list = value as? [Any] else {
            problem("users", "expected a list of { name, password }")
            return []
        }
        var users: [ProxyConfig.User] = []
        for (i, item) in list.enumerated() {
            let path = "users[\(i)]"
            guard let entry = map(item, path, allowed: ["name", "password", "cross_shard", "admin"]) else { continue }
            guard let name = requiredString(entry["name"], "\(path).name"),
                  let password = requiredString(entry["password"], "\(path).password") else { continue }
            if users.contains(where: { $0.name == name }) { problem("\(path).name", "user \"\(name)\" is listed twice") }
            do {
                var user = try ProxyConfig.User(name: name, password: password, method: method)
                user.crossShard = crossShard(entry["cross_shard"], "\(path).cross_shard")
                if let admin = entry["admin"] {
                    if let flag = admin as? Bool { user.admin = flag } else { problem("\(path).admin", "expected true or false") }
                }
                users.append(user)
            } catch {
                // The message describes the form, never the value: it may be a real secret.
                problem("\(path).password", error.message)
            }
        }
        return users
    }

    mutating func readShards(_ value: Any?) -> [ProxyConfig.Shard] {
        guard let list = value as? [Any], !list.isEmpty else {
            problem("shards", value == nil ? "missing: list at least one shard" : "expected a non-empty list of { name, primary }")
            return []
        }
        var shards: [ProxyConfig.Shard] = []
        for (i, item) in list.enumerated() {
            let path = "shards[\(i)]"
            guard let entry = map(item, path, allowed: ["name", "primary", "weight"]) else { continue }
            guard let name = requiredString(entry["name"], "\(path).name"),
                  let primary = requiredString(entry["primary"], "\(path).primary") else { continue }
            if shards.contains(where: { $0.name == name }) { problem("\(path).name", "shard \"\(name)\" is listed twice") }
            var shard = ProxyConfig.Shard(name: name, primary: primary)
            if let weight = integer(entry["weight"], "\(path).weight", range: 1...100) { shard.weight = weight }
            shards.append(shard)
        }
        return shards
    }

    mutating func anyMap(_ value: Any?, _ path: String) -> [String: Any]? {
        guard let value else { return nil }
        guard let dictionary = value as? [String: Any] else {
            problem(path, "expected a mapping")
            return nil
        }
        return dictionary
    }
}
