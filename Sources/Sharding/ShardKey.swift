/// The PostgreSQL type of a shard key column. The hash of a key depends on it, so it must
/// match the column's real type (`pgshard check` compares them).
public enum ShardKeyType: String, Sendable, CaseIterable, Hashable {
    case smallint
    case integer
    case bigint
    case text
    case varchar
    case uuid
}

/// One shard key value, already converted from SQL text the way PostgreSQL's input function
/// for the key's type would convert it.
public enum ShardKeyValue: Hashable, Sendable {
    /// int2, int4 and int8 keys: PostgreSQL's integer hash opfamily hashes equal values
    /// of all three types alike.
    case integer(Int64)
    /// text and varchar keys, as the UTF-8 bytes the server stores.
    case text(String)
    /// uuid keys, the 16 bytes in network order.
    case uuid(UUIDBytes)
}

/// The 16 bytes of a uuid in the order PostgreSQL stores them.
public struct UUIDBytes: Hashable, Sendable {
    public var bytes: [UInt8]
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }
}
