import Dispatch
import Synchronization
import XCTest

@testable import Sharding

final class GlobalIDTests: XCTestCase {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        let now = Atomic<Int64>(GlobalID.epochMilliseconds + 1_000)
        func read() -> Int64 { now.load(ordering: .relaxed) }
        func set(_ value: Int64) { now.store(value, ordering: .relaxed) }
    }

    func testLayoutAndDecoding() {
        let id = GlobalID(milliseconds: 123_456_789, node: 1023, sequence: 4095)
        XCTAssertEqual(id.milliseconds, 123_456_789)
        XCTAssertEqual(id.node, 1023)
        XCTAssertEqual(id.sequence, 4095)
        XCTAssertEqual(id.value, 123_456_789 << 22 | 1023 << 12 | 4095)
        XCTAssertEqual(id.unixMilliseconds, GlobalID.epochMilliseconds + 123_456_789)
        // The largest timestamp still gives a positive bigint.
        let last = GlobalID(milliseconds: (1 << 41) - 1, node: 1023, sequence: 4095)
        XCTAssertEqual(last.value, Int64.max)
        XCTAssertEqual(GlobalID(value: 42 << 22 | 7 << 12 | 3), GlobalID(milliseconds: 42, node: 7, sequence: 3))
    }

    func testEpochIsTheFirstOf2025() {
        // 2025-01-01T00:00:00Z: 55 years of 365 days plus 14 leap days since 1970.
        XCTAssertEqual(GlobalID.epochMilliseconds, (55 * 365 + 14) * 86_400_000)
    }

    func testNodeBitsAndTimestampFromTheClock() {
        let clock = ManualClock()
        clock.set(GlobalID.epochMilliseconds + 5_000)
        let generator = GlobalIDGenerator(nodeID: 37, sequence: GlobalIDSequence(clock: clock.read))
        let a = generator.next(), b = generator.next()
        XCTAssertEqual(a.node, 37)
        XCTAssertEqual(a.milliseconds, 5_000)
        XCTAssertEqual(a.sequence, 0)
        XCTAssertEqual(b.sequence, 1)
        XCTAssertGreaterThan(a.value, 0)
        clock.set(GlobalID.epochMilliseconds + 5_001)
        let c = generator.next()
        XCTAssertEqual(c.milliseconds, 5_001)
        XCTAssertEqual(c.sequence, 0)
    }

    func testClockGoingBackwardsKeepsTheLastMillisecond() {
        let clock = ManualClock()
        let generator = GlobalIDGenerator(nodeID: 1, sequence: GlobalIDSequence(clock: clock.read))
        clock.set(GlobalID.epochMilliseconds + 10_000)
        let before = generator.next()
        clock.set(GlobalID.epochMilliseconds + 9_000)
        let after = generator.next()
        XCTAssertGreaterThan(after, before)
        XCTAssertEqual(after.milliseconds, 10_000)
        XCTAssertEqual(after.sequence, 1)
    }

    func testSequenceOverflowMovesToTheNextMillisecond() {
        let clock = ManualClock()
        let generator = GlobalIDGenerator(nodeID: 2, sequence: GlobalIDSequence(clock: clock.read))
        var previous = generator.next()
        for _ in 1..<GlobalID.idsPerMillisecond {
            let id = generator.next()
            XCTAssertGreaterThan(id, previous)
            previous = id
        }
        XCTAssertEqual(previous.sequence, 4095)
        let next = generator.next()
        XCTAssertEqual(next.milliseconds, previous.milliseconds + 1)
        XCTAssertEqual(next.sequence, 0)
        XCTAssertGreaterThan(next, previous)
    }

    func testMonotonicWithTheRealClock() {
        let generator = GlobalIDGenerator(nodeID: 5, sequence: GlobalIDSequence())
        var previous = generator.next()
        for _ in 0..<50_000 {
            let id = generator.next()
            XCTAssertGreaterThan(id, previous)
            previous = id
        }
        let nowSinceEpoch = GlobalIDSequence.systemMilliseconds() - GlobalID.epochMilliseconds
        // 50,000 ids need at most 13 ms of sequence: the ids stay within a few ms of the clock.
        XCTAssertLessThanOrEqual(abs(previous.milliseconds - nowSinceEpoch), 1_000)
    }

    func testUniqueAndIncreasingPerThreadUnderConcurrency() {
        let generator = GlobalIDGenerator(nodeID: 9, sequence: GlobalIDSequence())
        let threads = 8, perThread = 20_000
        let results = Mutex<[[Int64]]>(Array(repeating: [], count: threads))
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var ids: [Int64] = []
            ids.reserveCapacity(perThread)
            for _ in 0..<perThread { ids.append(generator.next().value) }
            results.withLock { $0[thread] = ids }
        }
        let all = results.withLock { $0 }
        for ids in all {
            XCTAssertEqual(ids.count, perThread)
            XCTAssertTrue(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "each thread sees increasing ids")
        }
        XCTAssertEqual(Set(all.joined()).count, threads * perThread)
    }

    func testGeneratorsOfOneProcessShareTheSequence() {
        // A reload makes a new generator (maybe with another node id): the process's sequence
        // keeps every (millisecond, sequence) pair unique.
        let sequence = GlobalIDSequence()
        let first = GlobalIDGenerator(nodeID: 3, sequence: sequence).next()
        let second = GlobalIDGenerator(nodeID: 3, sequence: sequence).next()
        XCTAssertGreaterThan(second, first)
    }
}
