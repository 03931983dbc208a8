import XCTest

@testable import Sharding

final class ShardingFunctionTests: XCTestCase {
    func testMD5KnownDigests() {
        func hex(_ text: String) -> String {
            MD5.digest(Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
        }
        XCTAssertEqual(hex(""), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(hex("abc"), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(hex("The quick brown fox jumps over the lazy dog"), "9e107d9d372bb6826bd81d3542a419d6")
        XCTAssertEqual(hex(String(repeating: "a", count: 1000)), "cabe45dcc9ae5b66ba86600cca6b8ba8")
        // md5('42') = a1d0c6e8…: 0xa1d0c6e8 % 4 = 0, % 3 = 2.
        XCTAssertEqual(ModuloMD5ShardingFunction(shardCount: 4).shard(for: .integer(42)), 0)
        XCTAssertEqual(ModuloMD5ShardingFunction(shardCount: 3).shard(for: .integer(42)), Int(0xa1d0c6e8 as UInt32 % 3))
        XCTAssertNil(ModuloMD5ShardingFunction(shardCount: 3).shard(for: nil))
    }

    func testDecimalValuesCompareExactly() {
        let values = ["-1e3", "-999.5", "-0.001", "0", "0.000", "1e-5", "0.1", "1", "1.0", "1.5", "2", "10", "1e2", "123456789012345678901234567890"]
        let parsed = values.map { DecimalValue($0)! }
        XCTAssertEqual(parsed[3], parsed[4])
        XCTAssertEqual(parsed[7], parsed[8])
        XCTAssertEqual(DecimalValue("1e2"), DecimalValue("100"))
        for (a, b) in zip(parsed, parsed.dropFirst()) { XCTAssertLessThanOrEqual(a, b, "\(a) \(b)") }
        XCTAssertEqual(DecimalValue(" -12.50 ")?.description, "-12.5")
        XCTAssertEqual(DecimalValue("0.0012")?.description, "0.0012")
        XCTAssertEqual(DecimalValue("12e3")?.description, "12000")
        for bad in ["", "-", ".", "1..2", "NaN", "Infinity", "1e", "1_000", "0x10", "1e1000000"] { XCTAssertNil(DecimalValue(bad), bad) }
        XCTAssertEqual(ShardKeyValue.integer(5).compare(.numeric(DecimalValue("4.9")!)), 1)
    }

    func testDatesAndTimestampsAsPostgresStoresThem() {
        XCTAssertEqual(ShardKeyType.date.parse("2000-01-01"), .date(0))
        XCTAssertEqual(ShardKeyType.date.parse("1999-12-31"), .date(-1))
        XCTAssertEqual(ShardKeyType.date.parse("2024-03-01"), .date(8826))
        XCTAssertEqual(ShardKeyType.timestamp.parse("2000-01-02 00:00:01.5"), .timestamp(86_401_500_000))
        XCTAssertEqual(ShardKeyType.timestamp.parse("2000-01-01T01:00"), .timestamp(3_600_000_000))
        XCTAssertEqual(ShardKeyType.timestamptz.parse("2000-01-01 02:00+02"), .timestamptz(0))
        XCTAssertEqual(ShardKeyType.timestamptz.parse("2000-01-01 00:00:00Z"), .timestamptz(0))
        XCTAssertEqual(ShardKeyType.timestamptz.parse("1999-12-31 21:30-02:30"), .timestamptz(0))
        for bad in ["2023-02-29", "2024-13-01", "24-01-01", "today", "infinity", "2024-01-01 25:00", "2024-01-01 10:00:00.1234567"] {
            XCTAssertNil(ShardKeyType.date.parse(bad) ?? ShardKeyType.timestamp.parse(bad), bad)
        }
        // Without an offset a timestamptz depends on the session's TimeZone: unknown.
        XCTAssertNil(ShardKeyType.timestamptz.parse("2024-01-01 10:00"))
        XCTAssertEqual(ShardKeyValue.date(8826).postgresText, "2024-03-01")
        XCTAssertEqual(ShardKeyValue.timestamp(86_401_500_000).postgresText, "2000-01-02 00:00:01.5")
    }

    private let years = RangeShardingFunction(rules: [
        .init(lower: nil, upper: .integer(100), shard: 0),
        .init(lower: .integer(100), upper: .integer(200), shard: 1),
        .init(lower: .integer(300), upper: nil, shard: 2),
    ], defaultShard: nil)

    func testRangePlacementAndIntersection() {
        XCTAssertEqual(years.shard(for: .integer(-5)), 0)
        XCTAssertEqual(years.shard(for: .integer(100)), 1)
        XCTAssertEqual(years.shard(for: .integer(199)), 1)
        XCTAssertNil(years.shard(for: .integer(250)))
        XCTAssertNil(years.shard(for: nil))
        func shards(_ lower: Int64?, _ lowerInclusive: Bool, _ upper: Int64?, _ upperInclusive: Bool) -> Set<Int> {
            years.shards(in: KeyRange(lower: lower.map { KeyBound(.integer($0), inclusive: lowerInclusive) },
                                       upper: upper.map { KeyBound(.integer($0), inclusive: upperInclusive) }))
        }
        XCTAssertEqual(shards(100, true, 150, true), [1])
        XCTAssertEqual(shards(50, true, 100, false), [0])
        XCTAssertEqual(shards(50, true, 100, true), [0, 1])
        XCTAssertEqual(shards(nil, false, 99, true), [0])
        XCTAssertEqual(shards(199, false, nil, false), [1, 2])
        XCTAssertEqual(shards(200, true, 299, true), [])
        let function = ShardingFunction(.range(years), shardCount: 4)
        XCTAssertEqual(try function.shards(for: [.values([.integer(5), .integer(150)])]).get(), [0, 1])
        XCTAssertEqual(function.shards(for: [.values([.integer(250)])]), .failure(.noRule(column: 0, value: .integer(250))))
        XCTAssertEqual(try function.shards(for: [.any]).get(), [0, 1, 2])
        let withDefault = ShardingFunction(.range(RangeShardingFunction(rules: years.rules, defaultShard: 3)), shardCount: 4)
        XCTAssertEqual(try withDefault.shard(for: [.integer(250)]).get(), 3)
        XCTAssertEqual(try withDefault.shard(for: [nil]).get(), 3)
    }

    func testListPlacement() {
        let list = ShardingFunction(.list(ListShardingFunction(shardOf: [.text("eu"): 1, .text("us"): 3, nil: 2], defaultShard: nil)), shardCount: 4)
        XCTAssertEqual(try list.shard(for: [.text("us")]).get(), 3)
        XCTAssertEqual(try list.shard(for: [nil]).get(), 2)
        XCTAssertEqual(list.shard(for: [.text("jp")]), .failure(.noRule(column: 0, value: .text("jp"))))
        XCTAssertEqual(try list.shards(for: [.any]).get(), [1, 2, 3])
    }

    /// Adding a fifth shard to a ring of four moves about a fifth of the keys, all to the new shard.
    func testConsistentRingMovesAboutOneNthOfTheKeys() {
        let four = ConsistentShardingFunction(names: ["s0", "s1", "s2", "s3"], weights: [1, 1, 1, 1], vnodes: 256)
        let five = ConsistentShardingFunction(names: ["s0", "s1", "s2", "s3", "s4"], weights: [1, 1, 1, 1, 1], vnodes: 256)
        var moved = 0
        var counts = [Int](repeating: 0, count: 4)
        let keys = 100_000
        for key in 0..<Int64(keys) {
            let before = four.shard(for: .integer(key))!, after = five.shard(for: .integer(key))!
            counts[before] += 1
            if before != after {
                moved += 1
                XCTAssertEqual(after, 4, "key \(key) moved between old shards")
            }
        }
        let fraction = Double(moved) / Double(keys)
        print("consistent: \(moved) of \(keys) keys moved (\(fraction)); per shard before: \(counts)")
        XCTAssertTrue((0.14...0.26).contains(fraction), "moved \(fraction)")
        XCTAssertTrue(counts.allSatisfy { (15_000...35_000).contains($0) }, "\(counts)")
        // A weight of 2 takes about twice the keys.
        let weighted = ConsistentShardingFunction(names: ["s0", "s1"], weights: [2, 1], vnodes: 256)
        let first = (0..<20_000).filter { weighted.shard(for: .integer(Int64($0))) == 0 }.count
        XCTAssertTrue((12_000...14_700).contains(first), "\(first)")
    }
}
