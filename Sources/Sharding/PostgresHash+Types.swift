extension PostgresHash {
    /// `hashint2extended`: the value is widened to 32 bits with its sign, so it hashes like
    /// the same `int4` and `int8` value.
    public static func hashInt2Extended(_ value: Int16, seed: UInt64) -> UInt64 {
        hashUInt32Extended(UInt32(bitPattern: Int32(value)), seed: seed)
    }

    /// `hashint4extended`.
    public static func hashInt4Extended(_ value: Int32, seed: UInt64) -> UInt64 {
        hashUInt32Extended(UInt32(bitPattern: value), seed: seed)
    }

    /// `hashint8extended`: the high half is folded into the low half (complemented for
    /// negative values), so every value that fits in an `int4` hashes like that `int4`.
    public static func hashInt8Extended(_ value: Int64, seed: UInt64) -> UInt64 {
        let low = UInt32(truncatingIfNeeded: value)
        let high = UInt32(truncatingIfNeeded: value >> 32)
        return hashUInt32Extended(low ^ (value >= 0 ? high : ~high), seed: seed)
    }

    /// `hashtextextended` under a deterministic collation: the hash of the UTF-8 bytes.
    /// Also serves `varchar`, which shares `text`'s hash operator class.
    public static func hashTextExtended(_ text: String, seed: UInt64) -> UInt64 {
        if let hash = text.utf8.withContiguousStorageIfAvailable({
            hashBytesExtended(UnsafeRawBufferPointer($0), seed: seed)
        }) {
            return hash
        }
        var copy = text
        return copy.withUTF8 { hashBytesExtended(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// `hashtextextended` under a deterministic collation, over already encoded UTF-8 bytes.
    public static func hashTextExtended(_ utf8: some Collection<UInt8>, seed: UInt64) -> UInt64 {
        if let hash = utf8.withContiguousStorageIfAvailable({
            hashBytesExtended(UnsafeRawBufferPointer($0), seed: seed)
        }) {
            return hash
        }
        return Array(utf8).withUnsafeBytes { hashBytesExtended($0, seed: seed) }
    }

    /// `uuid_hash_extended`: the hash of the 16 bytes in network order.
    public static func uuidHashExtended(_ uuid: UUIDBytes, seed: UInt64) -> UInt64 {
        uuid.bytes.withUnsafeBytes { hashBytesExtended($0, seed: seed) }
    }
}
