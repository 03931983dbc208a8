import Foundation
import Sharding
import SQLRouter

extension ProxyConfig {
    /// The routing view of the configuration: shard numbers instead of names.
    public var shardingSchema: ShardingSchema {
        let index = Dictionary(uniqueKeysWithValues: shards.enumerated().map { ($1.name, $0) })
        var rules: [String: TableRule] = [:]
        for (name, table) in tables {
            switch table {
            case .sharded(let key, let type, .hash):
                rules[name] = .sharded(keyColumn: key, keyType: type, function: .hash(shardCount: shards.count))
            case .reference:
                rules[name] = .reference
            case .pinned(let shard):
                rules[name] = .pinned(shard: index[shard] ?? 0)
            }
        }
        return ShardingSchema(shardCount: shards.count, tables: rules, shardNames: shards.map(\.name))
    }

    /// A shard's conninfo with any password replaced, for logs and `check` output.
    public static func redacted(_ conninfo: String) -> String {
        var result = conninfo
        // key=value form: password=secret or password='sec ret'
        if let range = result.range(of: #"password\s*=\s*('([^'\\]|\\.)*'|\S+)"#, options: .regularExpression) {
            result.replaceSubrange(range, with: "password=***")
        }
        // URI form: postgresql://user:secret@host
        if let range = result.range(of: #"(?<=://)([^:@/]+):([^@/]*)@"#, options: .regularExpression) {
            let user = result[range].split(separator: ":").first ?? ""
            result.replaceSubrange(range, with: "\(user):***@")
        }
        return result
    }
}
