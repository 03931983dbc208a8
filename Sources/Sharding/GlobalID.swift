#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A 64-bit key that pgshard generates for a table (`key_generator: global_id`): unique across
/// shards and across pgshard instances with different node ids, and ordered by the time it was
/// made. The layout, from the most significant bit:
///
/// ```
/// 0 | 41 bits: milliseconds since 2025-01-01 00:00:00 UTC | 10 bits: node id | 12 bits: sequence
/// ```
///
/// The sign bit is always 0, so every id is a positive `bigint`.
public struct GlobalID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The id as PostgreSQL stores it (`bigint`).
    public let value: Int64

    /// 2025-01-01 00:00:00 UTC, in milliseconds since the Unix epoch: the ids' time zero.
    public static let epochMilliseconds: Int64 = 1_735_689_600_000
    /// Bits of the sequence number within one millisecond and node.
    public static let sequenceBits = 12
    /// Bits of the node id.
    public static let nodeBits = 10
    /// Bits of the timestamp: 2^41 ms is about 69.7 years, so ids run out in September 2094.
    public static let timestampBits = 41
    /// The largest node id (1023).
    public static let maxNodeID = (1 << nodeBits) - 1
    /// Ids one node can make in one millisecond (4096); more move on to the next millisecond.
    public static let idsPerMillisecond = 1 << sequenceBits

    /// The id PostgreSQL stores as `value` (to decode its parts).
    public init(value: Int64) {
        self.value = value
    }

    /// The id made at `milliseconds` after ``epochMilliseconds`` by `node` with `sequence`.
    public init(milliseconds: Int64, node: Int, sequence: Int) {
        precondition(milliseconds >= 0 && milliseconds < 1 << Self.timestampBits, "timestamp out of the id's range")
        precondition((0...Self.maxNodeID).contains(node) && (0..<Self.idsPerMillisecond).contains(sequence))
        value = milliseconds << (Self.nodeBits + Self.sequenceBits) | Int64(node) << Self.sequenceBits | Int64(sequence)
    }

    /// Milliseconds since ``epochMilliseconds``.
    public var milliseconds: Int64 { value >> (Self.nodeBits + Self.sequenceBits) }
    /// Milliseconds since the Unix epoch (for `to_timestamp(ms / 1000.0)`).
    public var unixMilliseconds: Int64 { milliseconds + Self.epochMilliseconds }
    /// The node id of the pgshard instance that made it.
    public var node: Int { Int(value >> Self.sequenceBits) & Self.maxNodeID }
    /// The sequence number within its millisecond and node.
    public var sequence: Int { Int(value) & (Self.idsPerMillisecond - 1) }

    public var description: String { String(value) }

    public static func < (lhs: GlobalID, rhs: GlobalID) -> Bool { lhs.value < rhs.value }
}

/// The time and sequence part of the ids one process makes, shared by all its generators (every
/// worker thread, every configuration a reload puts in force), so that no two ids of the process
/// share a millisecond and sequence number.
///
/// The state is one atomic word, `milliseconds << 12 | sequence` of the last id. The next id
/// takes the larger of the clock (sequence 0) and the last value plus one: when the clock goes
/// backwards the last millisecond is kept, and a sequence past 4095 carries into the next
/// millisecond (running ahead of the clock until it catches up). A compare-and-swap loop makes
/// the values strictly increasing across threads without a lock.
public final class GlobalIDSequence: Sendable {
    private let last = Atomic<Int64>(0)
    private let clock: @Sendable () -> Int64

    /// A sequence reading `clock` (milliseconds since the Unix epoch; the system's real-time
    /// clock by default).
    public init(clock: @escaping @Sendable () -> Int64 = GlobalIDSequence.systemMilliseconds) {
        self.clock = clock
    }

    /// The sequence every generator of this process uses.
    public static let process = GlobalIDSequence()

    /// The next (milliseconds since ``GlobalID/epochMilliseconds``, sequence) pair, strictly
    /// above every pair handed out before.
    func next() -> (milliseconds: Int64, sequence: Int) {
        let now = max(0, clock() - GlobalID.epochMilliseconds) << GlobalID.sequenceBits
        var current = last.load(ordering: .relaxed)
        while true {
            let candidate = max(now, current + 1)
            let (exchanged, original) = last.compareExchange(expected: current, desired: candidate, ordering: .relaxed)
            if exchanged {
                return (candidate >> GlobalID.sequenceBits, Int(candidate & Int64(GlobalID.idsPerMillisecond - 1)))
            }
            current = original
        }
    }

    /// The system's real-time clock in milliseconds since the Unix epoch.
    @Sendable public static func systemMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// Makes ``GlobalID``s for one node id (`node_id` in the configuration). Thread-safe; cheap (one
/// clock read and one compare-and-swap per id).
public struct GlobalIDGenerator: Sendable {
    /// This instance's node id, 0…1023: several pgshard instances generating ids for the same
    /// tables each need their own.
    public let nodeID: Int
    private let sequence: GlobalIDSequence

    /// A generator for `nodeID` drawing from `sequence` (the process's by default).
    public init(nodeID: Int, sequence: GlobalIDSequence = .process) {
        precondition((0...GlobalID.maxNodeID).contains(nodeID), "node id out of range 0...\(GlobalID.maxNodeID)")
        self.nodeID = nodeID
        self.sequence = sequence
    }

    /// A new id, greater than every id this process made before with the same node id.
    public func next() -> GlobalID {
        let (milliseconds, sequence) = sequence.next()
        return GlobalID(milliseconds: milliseconds, node: nodeID, sequence: sequence)
    }
}
