/// The `hash` sharding function: PostgreSQL's `PARTITION BY HASH` with
/// `modulus = shardCount`, bit for bit, so shard `i` holds exactly the rows PostgreSQL would
/// put in the partition `FOR VALUES WITH (MODULUS shardCount, REMAINDER i)`.
public struct HashShardingFunction: Sendable, Hashable {
    public let shardCount: Int
    public init(shardCount: Int) {
        precondition(shardCount > 0)
        self.shardCount = shardCount
    }

    /// The shard index (0-based, `< shardCount`) of a row whose key columns hold `key`,
    /// in key column order; `nil` stands for SQL NULL (skipped, as PostgreSQL does).
    public func shardIndex(for key: [ShardKeyValue?]) -> Int {
        Int(Self.rowHash(of: key) % UInt64(shardCount))
    }

    /// The shard of a one-column key: ``shardIndex(for:)`` without an array.
    public func shardIndex(of value: ShardKeyValue) -> Int {
        let rowHash = PostgresHash.hashCombine64(0, value.hashExtended(seed: PostgresHash.partitionSeed))
        return Int(rowHash % UInt64(shardCount))
    }

    /// PostgreSQL's `compute_partition_hash_value`: every non-NULL column's hash, seeded with
    /// ``PostgresHash/partitionSeed``, folded in column order into a row hash that starts at 0.
    public static func rowHash(of key: [ShardKeyValue?]) -> UInt64 {
        var rowHash: UInt64 = 0
        for case let value? in key {
            rowHash = PostgresHash.hashCombine64(rowHash, value.hashExtended(seed: PostgresHash.partitionSeed))
        }
        return rowHash
    }
}

extension ShardKeyValue {
    /// The value's hash under its PostgreSQL type's extended hash function (`hashint8extended`,
    /// `hashtextextended` or `uuid_hash_extended`).
    public func hashExtended(seed: UInt64) -> UInt64 {
        switch self {
        case .integer(let value): PostgresHash.hashInt8Extended(value, seed: seed)
        case .text(let value): PostgresHash.hashTextExtended(value, seed: seed)
        case .uuid(let value): PostgresHash.uuidHashExtended(value, seed: seed)
        // date is an int4 and timestamps int8s inside PostgreSQL, hashed as such.
        case .date(let days): PostgresHash.hashInt4Extended(days, seed: seed)
        case .timestamp(let micros), .timestamptz(let micros): PostgresHash.hashInt8Extended(micros, seed: seed)
        // The configuration refuses hash placement of numeric keys (PostgreSQL's numeric hash
        // is not reproduced); this value is never used for placement.
        case .numeric(let value): PostgresHash.hashTextExtended(value.description, seed: seed)
        }
    }
}
