import Sharding
import XCTest

final class PostgresHashTests: XCTestCase {
    private let seeds = PostgresHashGoldenVectors.seeds.map { UInt64(bitPattern: $0) }

    func testPartitionSeedIsPostgresHashPartitionSeed() {
        XCTAssertEqual(PostgresHash.partitionSeed, UInt64(bitPattern: 8_816_678_312_871_386_365))
        XCTAssertEqual(seeds[1], PostgresHash.partitionSeed)
    }

    func testHashInt8ExtendedMatchesPostgres() {
        for (value, hashes) in PostgresHashGoldenVectors.int8 {
            for (seed, expected) in zip(seeds, hashes) {
                XCTAssertEqual(PostgresHash.hashInt8Extended(value, seed: seed), UInt64(bitPattern: expected), "\(value) seed \(seed)")
            }
        }
    }

    func testHashInt4ExtendedMatchesPostgres() {
        for (value, hashes) in PostgresHashGoldenVectors.int4 {
            for (seed, expected) in zip(seeds, hashes) {
                XCTAssertEqual(PostgresHash.hashInt4Extended(value, seed: seed), UInt64(bitPattern: expected), "\(value) seed \(seed)")
            }
        }
    }

    func testHashInt2ExtendedMatchesPostgres() {
        for (value, hashes) in PostgresHashGoldenVectors.int2 {
            for (seed, expected) in zip(seeds, hashes) {
                XCTAssertEqual(PostgresHash.hashInt2Extended(value, seed: seed), UInt64(bitPattern: expected), "\(value) seed \(seed)")
            }
        }
    }

    func testHashTextExtendedMatchesPostgres() {
        for (value, hashes) in PostgresHashGoldenVectors.text {
            for (seed, expected) in zip(seeds, hashes) {
                let expected = UInt64(bitPattern: expected)
                XCTAssertEqual(PostgresHash.hashTextExtended(value, seed: seed), expected, "'\(value)' seed \(seed)")
                XCTAssertEqual(PostgresHash.hashTextExtended(value.utf8, seed: seed), expected, "'\(value)' seed \(seed)")
                XCTAssertEqual(PostgresHash.hashTextExtended(Array(value.utf8), seed: seed), expected, "'\(value)' seed \(seed)")
                XCTAssertEqual(PostgresHash.hashTextExtended(AnyCollection(value.utf8), seed: seed), expected, "'\(value)' seed \(seed)")
            }
        }
    }

    func testGoldenTextCoversEveryTailLengthAcrossBlocks() {
        let lengths = Set(PostgresHashGoldenVectors.text.map(\.value.utf8.count))
        XCTAssertTrue(lengths.isSuperset(of: 0...30))
    }

    func testHashBytesExtendedIsTheTextHashOfTheSameBytes() {
        for (value, hashes) in PostgresHashGoldenVectors.text {
            let hash = Array(value.utf8).withUnsafeBytes { PostgresHash.hashBytesExtended($0, seed: seeds[1]) }
            XCTAssertEqual(hash, UInt64(bitPattern: hashes[1]), "'\(value)'")
        }
    }

    func testHashBytesExtendedReadsUnalignedInput() {
        let (value, hashes) = PostgresHashGoldenVectors.text.last!
        let padded = [0xAA] + Array(value.utf8)
        let hash = padded.withUnsafeBytes { PostgresHash.hashBytesExtended(UnsafeRawBufferPointer(rebasing: $0.dropFirst()), seed: 0) }
        XCTAssertEqual(hash, UInt64(bitPattern: hashes[0]))
    }

    func testUUIDHashExtendedMatchesPostgres() throws {
        for (value, hashes) in PostgresHashGoldenVectors.uuid {
            let uuid = try XCTUnwrap(UUIDBytes(uuidString: value))
            for (seed, expected) in zip(seeds, hashes) {
                XCTAssertEqual(PostgresHash.uuidHashExtended(uuid, seed: seed), UInt64(bitPattern: expected), "\(value) seed \(seed)")
            }
        }
    }

    /// PostgreSQL's integer hash opfamily requires equal values of int2, int4 and int8 to
    /// hash alike; the golden tables hold the same hashes for the values they share.
    func testEqualIntegersOfEveryWidthHashAlike() {
        let int8 = Dictionary(uniqueKeysWithValues: PostgresHashGoldenVectors.int8.map { ($0.value, $0.hashes) })
        for (value, hashes) in PostgresHashGoldenVectors.int4 {
            XCTAssertEqual(int8[Int64(value)], hashes, "\(value)")
        }
        for (value, hashes) in PostgresHashGoldenVectors.int2 {
            XCTAssertEqual(int8[Int64(value)], hashes, "\(value)")
        }
        for seed in seeds {
            for value in Int16.min...Int16.max {
                let hash = PostgresHash.hashInt8Extended(Int64(value), seed: seed)
                XCTAssertEqual(PostgresHash.hashInt2Extended(value, seed: seed), hash)
                XCTAssertEqual(PostgresHash.hashInt4Extended(Int32(value), seed: seed), hash)
            }
            for value in stride(from: Int64(Int32.min), through: Int64(Int32.max), by: 65_537) + [Int64(Int32.max)] {
                XCTAssertEqual(PostgresHash.hashInt4Extended(Int32(value), seed: seed), PostgresHash.hashInt8Extended(value, seed: seed))
            }
        }
    }

    func testHashCombine64FromZeroAddsTheConstant() {
        for (_, hashes) in PostgresHashGoldenVectors.int8 {
            let hash = UInt64(bitPattern: hashes[1])
            XCTAssertEqual(PostgresHash.hashCombine64(0, hash), hash &+ 0x49A0_F4DD_15E5_A8E3)
        }
    }
}
