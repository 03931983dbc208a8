import Sharding
import SQLRouter

/// `pgshard route`: where statements and keys go under a configuration, without connecting.
public enum RouteReport {
    /// pgshard's explanation of every statement of `sql`, a blank line between statements;
    /// `user` picks that user's `cross_shard`.
    public static func statements(_ sql: String, config: ProxyConfig, user: String?) -> [String] {
        let router = Router(schema: config.shardingSchema, limits: RouterLimits(maxStatementBytes: config.limits.maxStatementSize))
        let policy = config.users.first { $0.name == user }?.crossShard ?? config.crossShard
        switch router.explain(sql, context: RoutingContext(crossShard: policy)) {
        case .failure(let error):
            return ["pgshard: refused: \(error.sqlState) \(error.message)" + (error.hint.map { " (hint: \($0))" } ?? "")]
        case .statements(let statements):
            var lines: [String] = []
            for (number, statement) in statements.enumerated() {
                if number > 0 { lines.append("") }
                if statements.count > 1 { lines.append("statement \(number + 1): \(statement.sql)") }
                lines += statement.explanation ?? []
            }
            return lines
        }
    }

    /// The shard of one key of `table` (its value as SQL text would write it, without quotes):
    /// `users 42 → s1`, or why there is none.
    public static func key(_ key: String, table: String, config: ProxyConfig) -> Result<String, RoutingError> {
        let schema = config.shardingSchema
        guard let rule = schema.tables[table.lowercased()] else {
            return .failure(RoutingError(sqlState: "42P01", message: "table \"\(table)\" is not in the configuration"))
        }
        switch rule {
        case .reference:
            return .success("\(table): reference table, a copy on every shard")
        case .pinned(let shard):
            return .success("\(table): pinned to \(schema.shardNames[shard])")
        case .sharded(let sharded):
            guard sharded.keyColumns.count == 1 else {
                return .failure(RoutingError(sqlState: "0A000", message: "table \(table) has a composite key; give every column in a statement instead",
                                             hint: "pgshard route \"SELECT * FROM \(table) WHERE a = … AND b = …\""))
            }
            return sharded.readShard(keyText: key, table: table.lowercased()).map { shard in
                guard let shard else {
                    return "\(table).\(sharded.keyColumns[0]) = \(key): not in the directory yet (an INSERT will assign it)"
                }
                return "\(table).\(sharded.keyColumns[0]) = \(key) → \(schema.shardNames[shard]) (\(sharded.function.name))"
            }
        }
    }
}
