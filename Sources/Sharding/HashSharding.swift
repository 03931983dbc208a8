// TEMPORARY placeholder body: the Sharding helper replaces this file with the real
// PostgreSQL-compatible implementation. The public signatures stay as they are.

/// The `hash` sharding function: PostgreSQL's `PARTITION BY HASH` with
/// `modulus = shardCount`, bit for bit.
public struct HashShardingFunction: Sendable, Hashable {
    public let shardCount: Int
    public init(shardCount: Int) {
        precondition(shardCount > 0)
        self.shardCount = shardCount
    }
    /// The shard index (0-based, `< shardCount`) of a row whose key columns hold `key`,
    /// in key column order; `nil` stands for SQL NULL (skipped, as PostgreSQL does).
    public func shardIndex(for key: [ShardKeyValue?]) -> Int {
        0
    }
}
