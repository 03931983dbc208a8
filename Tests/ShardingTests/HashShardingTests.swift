import Sharding
import XCTest

final class HashShardingTests: XCTestCase {
    private typealias Golden = HashShardingGoldenVectors

    private func shard(_ key: [ShardKeyValue?], modulus: Int) -> Int {
        HashShardingFunction(shardCount: modulus).shardIndex(for: key)
    }

    func testBigintKeysPlaceLikePostgresModulus4And3() {
        let expected4 = Golden.bigintRangeModulus4.map { Int(String($0))! }
        let expected3 = Golden.bigintRangeModulus3.map { Int(String($0))! }
        XCTAssertEqual(expected4.count, Golden.bigintRange.count)
        XCTAssertEqual(expected3.count, Golden.bigintRange.count)
        for (offset, key) in Golden.bigintRange.enumerated() {
            XCTAssertEqual(shard([.integer(key)], modulus: 4), expected4[offset], "k=\(key)")
            XCTAssertEqual(shard([.integer(key)], modulus: 3), expected3[offset], "k=\(key)")
        }
    }

    func testBigintExtremesPlaceLikePostgres() {
        for (key, modulus4, modulus3) in Golden.bigintExtremes {
            XCTAssertEqual(shard([.integer(key)], modulus: 4), modulus4, "k=\(key)")
            XCTAssertEqual(shard([.integer(key)], modulus: 3), modulus3, "k=\(key)")
        }
    }

    /// Integer and smallint partition keys hash with `hashint4extended`/`hashint2extended` in
    /// PostgreSQL; `.integer` keys of those types must land where PostgreSQL put them.
    func testSmallintAndIntegerKeysPlaceLikePostgres() throws {
        let expected = Golden.bigintRangeModulus4.map { Int(String($0))! }
        for (offset, key) in Golden.bigintRange.enumerated() {
            let integer = try XCTUnwrap(ShardKeyType.integer.parse(String(key)))
            let smallint = try XCTUnwrap(ShardKeyType.smallint.parse(String(key)))
            XCTAssertEqual(shard([integer], modulus: 4), expected[offset], "k=\(key)")
            XCTAssertEqual(shard([smallint], modulus: 4), expected[offset], "k=\(key)")
        }
        for (key, modulus4) in Golden.int4Extremes {
            XCTAssertEqual(shard([ShardKeyType.integer.parse(String(key))], modulus: 4), modulus4, "k=\(key)")
        }
        for (key, modulus4) in Golden.int2Extremes {
            XCTAssertEqual(shard([ShardKeyType.smallint.parse(String(key))], modulus: 4), modulus4, "k=\(key)")
        }
    }

    func testTextAndVarcharKeysPlaceLikePostgres() {
        for (key, modulus4, modulus3) in Golden.text {
            XCTAssertEqual(shard([.text(key)], modulus: 4), modulus4, "k='\(key)'")
            XCTAssertEqual(shard([.text(key)], modulus: 3), modulus3, "k='\(key)'")
            XCTAssertEqual(shard([ShardKeyType.varchar.parse(key)], modulus: 4), modulus4, "k='\(key)'")
        }
    }

    func testUUIDKeysPlaceLikePostgres() throws {
        for (key, modulus4, modulus3) in Golden.uuid {
            let value = try XCTUnwrap(ShardKeyType.uuid.parse(key))
            XCTAssertEqual(shard([value], modulus: 4), modulus4, "k=\(key)")
            XCTAssertEqual(shard([value], modulus: 3), modulus3, "k=\(key)")
        }
    }

    func testCompositeKeysWithNullsPlaceLikePostgres() {
        for (a, b, modulus4, modulus3) in Golden.composite {
            let key: [ShardKeyValue?] = [a.map { .integer($0) }, b.map { .text($0) }]
            XCTAssertEqual(shard(key, modulus: 4), modulus4, "(\(a as Any), \(b as Any))")
            XCTAssertEqual(shard(key, modulus: 3), modulus3, "(\(a as Any), \(b as Any))")
        }
    }

    func testAllNullKeyHasRowHashZero() {
        XCTAssertEqual(HashShardingFunction.rowHash(of: [nil, nil]), 0)
        XCTAssertEqual(HashShardingFunction.rowHash(of: []), 0)
        XCTAssertEqual(shard([nil], modulus: 5), 0)
    }

    /// DESIGN.md §5: for one bigint key, the shard is
    /// `(hashint8extended(k, seed) &+ 0x49A0F4DD15E5A8E3) % modulus`.
    func testSingleColumnFormulaFromDesign() {
        for key in Int64(-1000)...1000 {
            let row = PostgresHash.hashInt8Extended(key, seed: PostgresHash.partitionSeed) &+ 0x49A0_F4DD_15E5_A8E3
            XCTAssertEqual(HashShardingFunction.rowHash(of: [.integer(key)]), row)
            XCTAssertEqual(shard([.integer(key)], modulus: 7), Int(row % 7))
        }
    }

    func testOneShardTakesEveryKey() {
        for key in Int64(-100)...100 {
            XCTAssertEqual(shard([.integer(key), .text("x")], modulus: 1), 0)
        }
    }
}
