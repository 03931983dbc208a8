import Backend
import Sharding

/// `pgshard check`: what is wrong with a configuration beyond its syntax — shards that cannot
/// be reached, shard keys whose column type on a shard differs from the configuration.
public enum ConfigCheck {
    /// One line of the report.
    public struct Line: Sendable {
        public var ok: Bool
        public var text: String
    }

    /// Connects to every shard and checks every sharded table that exists there.
    public static func run(_ config: ProxyConfig) -> [Line] {
        var lines: [Line] = []
        if let tls = config.tls {
            let name = "tls (\(tls.certificatePath))"
            if let problem = tls.context.validityProblem() {
                lines.append(Line(ok: false, text: "\(name): \(problem)"))
            } else {
                lines.append(Line(ok: true, text: "\(name): certificate and key loaded, TLS 1.2 or newer\(config.requireTLS ? ", required" : "")"))
            }
        }
        let generated = config.tables.filter { if case .sharded(let spec) = $0.value { spec.keyGenerator != nil } else { false } }
        if !generated.isEmpty {
            lines.append(Line(ok: true, text: "global ids: node_id \(config.nodeID) for \(generated.keys.sorted().joined(separator: ", ")) (every pgshard instance in front of these shards needs its own node_id)"))
        }
        for shard in config.shards {
            let name = "shard \(shard.name) (\(ProxyConfig.redacted(shard.primary)))"
            let connection: BlockingConnection
            do {
                connection = try BlockingConnection(conninfo: shard.primary, timeout: Int(config.backend.connectTimeout))
            } catch {
                lines.append(Line(ok: false, text: "\(name): cannot connect: \(error.message)"))
                continue
            }
            let version = connection.parameterStatus("server_version") ?? "?"
            lines.append(Line(ok: true, text: "\(name): connected, PostgreSQL \(version)"))
            if let encoding = connection.parameterStatus("server_encoding"), encoding != "UTF8" {
                lines.append(Line(ok: false, text: "\(name): server_encoding is \(encoding); pgshard hashes text keys as UTF-8, use a UTF8 database"))
            }
            if let rows = try? connection.query("SHOW max_prepared_transactions"), rows.first?.first == "0" {
                lines.append(Line(ok: false, text: "\(name): max_prepared_transactions is 0, so transactions that write on several shards are refused (they commit in two phases); set it at least as high as max_connections and restart the shard"))
            }
            lines += keyTypeProblems(config, shardLabel: name, connection: connection)
        }
        return lines
    }

    private static func keyTypeProblems(_ config: ProxyConfig, shardLabel: String, connection: BlockingConnection) -> [Line] {
        var lines: [Line] = []
        for (table, rule) in config.tables.sorted(by: { $0.key < $1.key }) {
            guard case .sharded(let spec) = rule else { continue }
            for (key, type) in zip(spec.columns, spec.types) {
            let sql = """
                SELECT format_type(a.atttypid, NULL) FROM pg_attribute a
                WHERE a.attrelid = to_regclass('\(table.replacingOccurrences(of: "'", with: "''"))')
                  AND a.attname = '\(key.replacingOccurrences(of: "'", with: "''"))' AND NOT a.attisdropped
                """
            guard let rows = try? connection.query(sql), let declared = rows.first?.first ?? nil else { continue }
            guard let actual = ShardKeyType(sqlName: declared), actual.hashFamily == type.hashFamily else {
                lines.append(Line(ok: false, text: "\(shardLabel): tables.\(table): key column \(key) is \(declared) on the shard but the configuration says \(type.rawValue)"))
                continue
            }
            if spec.keyGenerator != nil, declared != "bigint" {
                lines.append(Line(ok: false, text: "\(shardLabel): tables.\(table): key column \(key) is \(declared) on the shard; global ids need bigint"))
            }
            }
        }
        return lines
    }
}

extension ShardKeyType {
    /// Types whose equal values hash alike (PostgreSQL's hash operator families).
    var hashFamily: String {
        switch self {
        case .smallint, .integer, .bigint: "integer"
        case .text, .varchar: "text"
        case .uuid: "uuid"
        case .date: "date"
        case .timestamp: "timestamp"
        case .timestamptz: "timestamptz"
        case .numeric: "numeric"
        }
    }
}
