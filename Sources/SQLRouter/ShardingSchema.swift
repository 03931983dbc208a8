import Sharding

/// How pgshard places the rows of one table.
public enum TableRule: Sendable, Equatable {
    /// Rows are spread over the shards by `function` applied to the value of `keyColumn`
    /// (the column name as PostgreSQL folds it), whose PostgreSQL type is `keyType`.
    case sharded(keyColumn: String, keyType: ShardKeyType, function: HashShardingFunction)
    /// A full copy lives on every shard: reads go to any one shard, writes to all of them.
    case reference
    /// The table lives on one shard only, the one with this index.
    case pinned(shard: Int)
}

/// The tables pgshard knows and where their rows live.
public struct ShardingSchema: Sendable {
    /// The number of shards; shard indexes run from 0 to `shardCount - 1`.
    public var shardCount: Int
    /// The rule of each table, keyed by the table's name as PostgreSQL folds it (lower case
    /// unless quoted), without schema. The router looks tables up by name only: `s1.users` and
    /// `s2.users` are both `users`. Tables in `pg_catalog` and `information_schema` are catalogs.
    public var tables: [String: TableRule]

    public init(shardCount: Int, tables: [String: TableRule]) {
        precondition(shardCount > 0, "a sharding schema needs at least one shard")
        self.shardCount = shardCount
        self.tables = tables
    }
}

/// Bounds that keep a hostile statement from exhausting the router's stack or memory.
public struct RouterLimits: Sendable, Equatable {
    /// Longest Query message text, in UTF-8 bytes, that the router parses; longer ones fail with
    /// SQLSTATE 54001. libpg_query's stack use grows with the text (about 130 bytes of stack per
    /// byte of `1+1+…`), and the parser threads' stacks are sized from this limit.
    public var maxStatementBytes: Int
    /// Deepest nesting of libpg_query's JSON output (objects and arrays) that the router decodes
    /// and analyses; deeper statements fail with SQLSTATE 54001 "statement is too deeply
    /// nested". An expression nests about two levels per operator, so the default admits chains
    /// of thousands of operators while keeping decoding and analysis far inside the stack.
    public var maxNestingDepth: Int

    public init(maxStatementBytes: Int = 1 << 20, maxNestingDepth: Int = 10_000) {
        precondition(maxStatementBytes > 0 && maxNestingDepth > 0)
        self.maxStatementBytes = maxStatementBytes
        self.maxNestingDepth = maxNestingDepth
    }
}
