import Foundation
import Sharding
import SQLRouter

extension ProxyConfig {
    /// The routing view of the configuration: shard numbers instead of names.
    public var shardingSchema: ShardingSchema {
        let index = Dictionary(uniqueKeysWithValues: shards.enumerated().map { ($1.name, $0) })
        var rules: [String: TableRule] = [:]
        // One store for every directory table of this schema: co-located tables share it.
        let store = directory.map {
            DirectoryStore(conninfo: $0.conninfo, shardNames: shards.map(\.name), weights: shards.map(\.weight),
                           cacheSize: $0.cacheSize, timeout: Int(backend.connectTimeout.rounded(.up)))
        }
        for (name, table) in tables {
            switch table {
            case .sharded(let spec):
                rules[name] = .sharded(ShardedTable(
                    keyColumns: spec.columns, keyTypes: spec.types, function: function(spec.function, index: index, store: store),
                    keyGenerator: spec.keyGenerator))
            case .reference:
                rules[name] = .reference
            case .pinned(let shard):
                rules[name] = .pinned(shard: index[shard] ?? 0)
            }
        }
        return ShardingSchema(shardCount: shards.count, tables: rules, shardNames: shards.map(\.name))
    }

    private func function(_ spec: FunctionSpec, index: [String: Int], store: DirectoryStore?) -> ShardingFunction {
        let count = shards.count
        switch spec {
        case .hash:
            return .hash(shardCount: count)
        case .range(let rules, let defaultShard):
            let function = RangeShardingFunction(
                rules: rules.map { .init(lower: $0.from, upper: $0.to, shard: index[$0.shard] ?? 0) },
                defaultShard: defaultShard.flatMap { index[$0] })
            return ShardingFunction(.range(function), shardCount: count)
        case .list(let rules, let defaultShard):
            var shardOf: [ShardKeyValue?: Int] = [:]
            for rule in rules {
                for value in rule.values { shardOf[value] = index[rule.shard] ?? 0 }
            }
            return ShardingFunction(.list(ListShardingFunction(shardOf: shardOf, defaultShard: defaultShard.flatMap { index[$0] })), shardCount: count)
        case .consistent(let vnodes):
            let ring = ConsistentShardingFunction(names: shards.map(\.name), weights: shards.map(\.weight), vnodes: vnodes)
            return ShardingFunction(.consistent(ring), shardCount: count)
        case .moduloMD5:
            return ShardingFunction(.moduloMD5(ModuloMD5ShardingFunction(shardCount: count)), shardCount: count)
        case .group(let lists, let defaultGroup):
            let names = shardGroups.keys.sorted()
            let groups = names.map { (shardGroups[$0] ?? []).map { index[$0] ?? 0 } }
            var groupOf: [ShardKeyValue: Int]?
            if let lists {
                var map: [ShardKeyValue: Int] = [:]
                for rule in lists {
                    for value in rule.values { map[value] = names.firstIndex(of: rule.group) ?? 0 }
                }
                groupOf = map
            }
            let function = GroupShardingFunction(groups: groups, groupOf: groupOf, defaultGroup: defaultGroup.flatMap { names.firstIndex(of: $0) })
            return ShardingFunction(.group(function), shardCount: count)
        case .directory(let name):
            // The parser refuses `function: directory` without a `directory:` section.
            let lookup: any DirectoryLookup = store ?? DirectoryStore(conninfo: "", shardNames: [], weights: [], cacheSize: 0, timeout: 1)
            return ShardingFunction(.directory(DirectoryShardingFunction(directory: name, lookup: lookup)), shardCount: count)
        }
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
