/// The PostgreSQL type of a shard key column. The hash of a key depends on it, so it must
/// match the column's real type (`pgshard check` compares them).
public enum ShardKeyType: String, Sendable, CaseIterable, Hashable {
    case smallint
    case integer
    case bigint
    case text
    case varchar
    case uuid
    case date
    case timestamp
    case timestamptz
    case numeric
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
    /// date keys: days since 2000-01-01, as PostgreSQL stores them.
    case date(Int32)
    /// timestamp keys: microseconds since 2000-01-01 00:00, as PostgreSQL stores them.
    case timestamp(Int64)
    /// timestamptz keys: microseconds since 2000-01-01 00:00 UTC.
    case timestamptz(Int64)
    /// numeric keys, exactly.
    case numeric(DecimalValue)
}

/// The 16 bytes of a uuid in the order PostgreSQL stores them.
public struct UUIDBytes: Hashable, Sendable {
    public var bytes: [UInt8]
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }
}

extension ShardKeyType {
    /// The type of a PostgreSQL type OID, for the types a key may have.
    public init?(oid: UInt32) {
        switch oid {
        case 21: self = .smallint
        case 23: self = .integer
        case 20: self = .bigint
        case 25: self = .text
        case 1043: self = .varchar
        case 2950: self = .uuid
        case 1082: self = .date
        case 1114: self = .timestamp
        case 1184: self = .timestamptz
        case 1700: self = .numeric
        default: return nil
        }
    }

    /// The OID of the type in PostgreSQL's catalog.
    public var oid: UInt32 {
        switch self {
        case .smallint: 21
        case .integer: 23
        case .bigint: 20
        case .text: 25
        case .varchar: 1043
        case .uuid: 2950
        case .date: 1082
        case .timestamp: 1114
        case .timestamptz: 1184
        case .numeric: 1700
        }
    }

    /// A value in the binary format of this type (int2/int4/int8 big-endian, uuid's 16 bytes,
    /// text as its UTF-8 bytes); nil when the bytes do not have the type's size or encoding.
    public func decodeBinary(_ bytes: [UInt8]) -> ShardKeyValue? {
        bytes.withUnsafeBytes { decodeBinary($0) }
    }

    /// ``decodeBinary(_:)-([UInt8])`` of borrowed bytes (COPY's binary rows, without a copy).
    public func decodeBinary(_ bytes: UnsafeRawBufferPointer) -> ShardKeyValue? {
        func integer(_ size: Int) -> Int64? {
            guard bytes.count == size else { return nil }
            var value: UInt64 = 0
            for byte in bytes { value = value << 8 | UInt64(byte) }
            let shift = UInt64(64 - size * 8)
            return Int64(bitPattern: value << shift) >> Int64(shift)
        }
        switch self {
        case .smallint: return integer(2).map { .integer($0) }
        case .integer: return integer(4).map { .integer($0) }
        case .bigint: return integer(8).map { .integer($0) }
        case .uuid: return UUIDBytes(Array(bytes)).map { .uuid($0) }
        case .date: return integer(4).map { .date(Int32($0)) }
        case .timestamp: return integer(8).map { .timestamp($0) }
        case .timestamptz: return integer(8).map { .timestamptz($0) }
        case .numeric: return nil
        case .text, .varchar:
            guard let text = String(validating: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else { return nil }
            return .text(text)
        }
    }
}
