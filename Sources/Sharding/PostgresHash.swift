/// PostgreSQL 15's extended (64-bit, seeded) hash functions, as used by `PARTITION BY HASH`.
///
/// They are Bob Jenkins' lookup3 hash in the form PostgreSQL uses it (`hash_any_extended`,
/// `hash_uint32_extended`), reading input words little-endian: the results equal those of a
/// PostgreSQL server on a little-endian host (x86-64, arm64), which is every host we support.
public enum PostgresHash {
    /// The seed PostgreSQL passes to every column's hash function when it places a row in a
    /// hash partition (`HASH_PARTITION_SEED`).
    public static let partitionSeed: UInt64 = 0x7A5B_2236_7996_DCFD

    /// `hash_any_extended`: the hash of arbitrary bytes.
    public static func hashBytesExtended(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var state = Lookup3State(length: UInt32(truncatingIfNeeded: bytes.count), seed: seed)
        var offset = 0
        while bytes.count - offset >= 12 {
            state.a &+= bytes.littleEndianWord(at: offset)
            state.b &+= bytes.littleEndianWord(at: offset + 4)
            state.c &+= bytes.littleEndianWord(at: offset + 8)
            state.mix()
            offset += 12
        }
        // The last 0...11 bytes: up to four into `a`, four into `b`, and three into `c` above
        // its lowest byte, which lookup3 leaves to the length.
        for index in 0..<(bytes.count - offset) {
            let byte = UInt32(bytes[offset + index])
            switch index {
            case 0..<4: state.a &+= byte << (8 * index)
            case 4..<8: state.b &+= byte << (8 * (index - 4))
            default: state.c &+= byte << (8 * (index - 7))
            }
        }
        state.finalize()
        return state.result
    }

    /// `hash_uint32_extended`: the hash of one 32-bit word, as if it were four bytes.
    public static func hashUInt32Extended(_ value: UInt32, seed: UInt64) -> UInt64 {
        var state = Lookup3State(length: 4, seed: seed)
        state.a &+= value
        state.finalize()
        return state.result
    }

    /// `hash_combine64`: folds the hash `b` of one more column into the row hash `a`.
    public static func hashCombine64(_ a: UInt64, _ b: UInt64) -> UInt64 {
        a ^ (b &+ 0x49A0_F4DD_15E5_A8E3 &+ (a &<< 54) &+ (a &>> 7))
    }
}

/// The three 32-bit lanes of lookup3.
private struct Lookup3State {
    var a: UInt32
    var b: UInt32
    var c: UInt32

    init(length: UInt32, seed: UInt64) {
        let initial: UInt32 = 0x9E37_79B9 &+ length &+ 3_923_095
        a = initial
        b = initial
        c = initial
        if seed != 0 {
            a &+= UInt32(truncatingIfNeeded: seed >> 32)
            b &+= UInt32(truncatingIfNeeded: seed)
            mix()
        }
    }

    /// The high word is `b`, the low word `c`.
    var result: UInt64 { UInt64(b) << 32 | UInt64(c) }

    @inline(__always)
    mutating func mix() {
        a &-= c; a ^= c.rotatedLeft(by: 4); c &+= b
        b &-= a; b ^= a.rotatedLeft(by: 6); a &+= c
        c &-= b; c ^= b.rotatedLeft(by: 8); b &+= a
        a &-= c; a ^= c.rotatedLeft(by: 16); c &+= b
        b &-= a; b ^= a.rotatedLeft(by: 19); a &+= c
        c &-= b; c ^= b.rotatedLeft(by: 4); b &+= a
    }

    @inline(__always)
    mutating func finalize() {
        c ^= b; c &-= b.rotatedLeft(by: 14)
        a ^= c; a &-= c.rotatedLeft(by: 11)
        b ^= a; b &-= a.rotatedLeft(by: 25)
        c ^= b; c &-= b.rotatedLeft(by: 16)
        a ^= c; a &-= c.rotatedLeft(by: 4)
        b ^= a; b &-= a.rotatedLeft(by: 14)
        c ^= b; c &-= b.rotatedLeft(by: 24)
    }
}

extension UInt32 {
    @inline(__always)
    fileprivate func rotatedLeft(by count: UInt32) -> UInt32 {
        (self &<< count) | (self &>> (32 &- count))
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    fileprivate func littleEndianWord(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
