import Sharding

/// How pgshard places the rows of one table.
public enum TableRule: Sendable, Equatable {
    /// Rows are spread over the shards by the function of their shard key.
    case sharded(ShardedTable)
    /// A full copy lives on every shard: reads go to any one shard, writes to all of them.
    case reference
    /// The table lives on one shard only, the one with this index.
    case pinned(shard: Int)
}

extension TableRule {
    /// A table sharded on one column.
    public static func sharded(keyColumn: String, keyType: ShardKeyType, function: ShardingFunction) -> TableRule {
        .sharded(ShardedTable(keyColumns: [keyColumn], keyTypes: [keyType], function: function))
    }
}

/// The shard key of a sharded table: its columns and the function that places their values.
public struct ShardedTable: Sendable, Hashable {
    /// The key columns, as PostgreSQL folds their names, in key order (one for most tables).
    public var keyColumns: [String]
    /// The PostgreSQL type of each key column.
    public var keyTypes: [ShardKeyType]
    /// The function that maps key values to shards.
    public var function: ShardingFunction
    /// pgshard makes the key of rows inserted without one (one bigint column).
    public var keyGenerator: KeyGenerator?

    public init(keyColumns: [String], keyTypes: [ShardKeyType], function: ShardingFunction, keyGenerator: KeyGenerator? = nil) {
        precondition(!keyColumns.isEmpty && keyColumns.count == keyTypes.count, "a shard key names its columns and their types")
        precondition(keyGenerator == nil || (keyColumns.count == 1 && keyTypes[0] == .bigint), "a generated key is one bigint column")
        self.keyColumns = keyColumns
        self.keyTypes = keyTypes
        self.function = function
        self.keyGenerator = keyGenerator
    }

    /// The shard holding the rows of `table` whose one-column key is `text` (written as SQL
    /// writes the value, without quotes), for reading: nil when no row can have it (a key the
    /// directory has not recorded). Fails with 22P02 for text the key type rejects, and with the
    /// function's placement error.
    public func readShard(keyText text: String, table: String) -> Result<Int?, RoutingError> {
        guard let value = keyTypes[0].parse(text) else {
            return .failure(.invalidKeyLiteral(text, type: keyTypes[0], column: "\(table).\(keyColumns[0])"))
        }
        switch function.readShard(for: value) {
        case .success(let shard): return .success(shard)
        case .failure(let error): return .failure(.noShardForKey(table: table, key: self, error))
        }
    }

    /// Whether rows of the two tables with equal keys live on the same shard: the same function
    /// and key types of the same kind, column by column.
    public func isColocated(with other: ShardedTable) -> Bool {
        function == other.function && keyTypes.count == other.keyTypes.count
            && zip(keyTypes, other.keyTypes).allSatisfy { $0.hashesAlike($1) }
    }
}

/// How pgshard makes the key of a row inserted without one (`key_generator:` in the configuration).
public enum KeyGenerator: String, Sendable, Hashable {
    /// A ``GlobalID``: time-ordered, unique across shards and pgshard instances.
    case globalID = "global_id"
}

/// The tables pgshard knows and where their rows live.
public struct ShardingSchema: Sendable {
    /// The number of shards; shard indexes run from 0 to `shardCount - 1`.
    public var shardCount: Int
    /// The rule of each table, keyed by the table's name as PostgreSQL folds it (lower case
    /// unless quoted), without schema. The router looks tables up by name only: `s1.users` and
    /// `s2.users` are both `users`. Tables in `pg_catalog` and `information_schema` are catalogs.
    public var tables: [String: TableRule]

    /// The shards' names, by index (for hints and messages).
    public var shardNames: [String]

    /// A schema of `shardCount` shards (at least one) and these tables; shards are named
    /// `s0`, `s1`, … unless `shardNames` says otherwise.
    public init(shardCount: Int, tables: [String: TableRule], shardNames: [String]? = nil) {
        precondition(shardCount > 0, "a sharding schema needs at least one shard")
        self.shardCount = shardCount
        self.tables = tables
        self.shardNames = shardNames ?? (0..<shardCount).map { "s\($0)" }
        precondition(self.shardNames.count == shardCount, "one name per shard")
    }
}

/// Bounds that keep a hostile statement from exhausting the router's stack or memory.
public struct RouterLimits: Sendable, Equatable {
    /// Longest Query message text, in UTF-8 bytes, that the router parses; longer ones fail with
    /// SQLSTATE 54001. libpg_query's stack use grows with the text (about 130 bytes of stack per
    /// byte of `1+1+…`), and the parser threads' stacks are sized from this limit and
    /// `maxNestingDepth` (256 MiB for the defaults).
    public var maxStatementBytes: Int
    /// Deepest nesting of libpg_query's JSON output (objects and arrays) that the router decodes
    /// and analyses; deeper statements fail with SQLSTATE 54001 "statement is too deeply
    /// nested". An operator chain nests two levels per operator, so the default admits
    /// `1+1+…` with 10 000 operators, twice what PostgreSQL 15 itself accepts with its default
    /// `max_stack_depth` (about 4 000). Decoding and analysis use about 1.4 KB of stack per level
    /// in a debug build (measured: 170 000 levels crash a 256 MiB stack), so the default stays
    /// far inside the parser threads' stacks.
    public var maxNestingDepth: Int

    /// Limits with PostgreSQL-like defaults: 1 MiB of text, 20 000 levels of nesting.
    public init(maxStatementBytes: Int = 1 << 20, maxNestingDepth: Int = 20_000) {
        self.maxStatementBytes = maxStatementBytes
        self.maxNestingDepth = maxNestingDepth
    }

    /// The largest ``maxStatementBytes`` the router honours (its parser stacks stay ≤ 1 GiB).
    public static let maxStatementBytesCeiling = 4 << 20
    /// The largest ``maxNestingDepth`` the router honours.
    public static let maxNestingDepthCeiling = 250_000

    /// These limits within `1...ceiling`: what a ``Router`` applies.
    public var clamped: RouterLimits {
        RouterLimits(
            maxStatementBytes: min(max(maxStatementBytes, 1), Self.maxStatementBytesCeiling),
            maxNestingDepth: min(max(maxNestingDepth, 1), Self.maxNestingDepthCeiling))
    }
}
