import Sharding
import XCTest

/// Expected results were checked against PostgreSQL 15.18 with
/// `SELECT (literal::type)::text` in a PL/pgSQL block that catches the input error.
final class ShardKeyTypeParseTests: XCTestCase {
    private let integerTypes: [ShardKeyType] = [.smallint, .integer, .bigint]

    func testIntegersAcceptWhitespaceSignAndLeadingZeros() {
        let accepted: [(String, Int64)] = [
            ("0", 0), ("42", 42), ("-42", -42), ("+42", 42), (" 42", 42), ("42 ", 42),
            ("\t\n42\r\n", 42), ("\u{0B}42\u{0C}", 42), ("-0", 0), ("+0", 0), ("007", 7),
        ]
        for type in integerTypes {
            for (literal, value) in accepted {
                XCTAssertEqual(type.parse(literal), .integer(value), "\(type) '\(literal)'")
            }
        }
    }

    func testIntegersRejectWhatPostgres15Rejects() {
        let rejected = [
            "", " ", "-", "+", "4 2", "42a", "0x10", "1_000", "1e3", "4.0", "--1", "+-1", "v42",
            "99999999999999999999999", "٤٢", "４２", "\u{A0}42", "42\u{3000}", "4\u{0}2",
        ]
        for type in integerTypes {
            for literal in rejected {
                XCTAssertNil(type.parse(literal), "\(type) '\(literal)'")
            }
        }
    }

    func testIntegersAreRangeCheckedForTheirType() {
        let bounds: [(ShardKeyType, ClosedRange<Int64>)] = [
            (.smallint, -32768...32767),
            (.integer, -2_147_483_648...2_147_483_647),
            (.bigint, Int64.min...Int64.max),
        ]
        for (type, range) in bounds {
            XCTAssertEqual(type.parse(String(range.lowerBound)), .integer(range.lowerBound), "\(type)")
            XCTAssertEqual(type.parse(String(range.upperBound)), .integer(range.upperBound), "\(type)")
            if range.lowerBound > Int64.min {
                XCTAssertNil(type.parse(String(range.lowerBound - 1)), "\(type)")
                XCTAssertNil(type.parse(String(range.upperBound + 1)), "\(type)")
            }
        }
        XCTAssertNil(ShardKeyType.bigint.parse("9223372036854775808"))
        XCTAssertNil(ShardKeyType.bigint.parse("-9223372036854775809"))
        XCTAssertNil(ShardKeyType.bigint.parse("18446744073709551616"))
    }

    func testUTF8BytesParseAsTheirText() {
        let literals = ["42", " -7 ", "+0", "", "4 2", "99999999999999999999999", "٤٢", "2024-01-02", "héllo"]
        for type in integerTypes + [.text, .date, .numeric] {
            for literal in literals {
                XCTAssertEqual(type.parse(utf8: Array(literal.utf8)), type.parse(literal), "\(type) '\(literal)'")
            }
        }
        // Invalid UTF-8 is never an integer; as text it reads as decoding it to a string does.
        XCTAssertNil(ShardKeyType.bigint.parse(utf8: [0x34, 0xFF]))
        XCTAssertEqual(ShardKeyType.text.parse(utf8: [0x34, 0xFF]), ShardKeyType.text.parse(String(decoding: [0x34, 0xFF] as [UInt8], as: UTF8.self)))
    }

    func testTextAndVarcharKeepTheLiteralUnchanged() {
        for literal in ["", " padded ", "héllo", "42", "NULL"] {
            XCTAssertEqual(ShardKeyType.text.parse(literal), .text(literal))
            XCTAssertEqual(ShardKeyType.varchar.parse(literal), .text(literal))
        }
    }

    func testUUIDAcceptsPostgresSpellings() throws {
        let expected = try XCTUnwrap(UUIDBytes([
            0xA0, 0xEE, 0xBC, 0x99, 0x9C, 0x0B, 0x4E, 0xF8, 0xBB, 0x6D, 0x6B, 0xB9, 0xBD, 0x38, 0x0A, 0x11,
        ]))
        let accepted = [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b4ef8-bb6d6bb9-bd380a11", "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
            "a0eebc99-9c0b-4ef8-bb6d6bb9bd380a11",
        ]
        for literal in accepted {
            XCTAssertEqual(ShardKeyType.uuid.parse(literal), .uuid(expected), literal)
        }
        XCTAssertEqual(ShardKeyType.uuid.parse("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), UUIDBytes([UInt8](repeating: 0xFF, count: 16)).map { .uuid($0) })
    }

    func testUUIDRejectsWhatPostgresRejects() {
        let rejected = [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ", "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11", "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380g11", "", "{}", "a0e-ebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a-11",
        ]
        for literal in rejected {
            XCTAssertNil(ShardKeyType.uuid.parse(literal), literal)
        }
    }

    func testSQLNamesInEveryPostgresSpellingAndCase() {
        let names: [(String, ShardKeyType)] = [
            ("smallint", .smallint), ("int2", .smallint), ("INTEGER", .integer), ("int", .integer),
            ("Int4", .integer), ("bigint", .bigint), ("INT8", .bigint), ("text", .text),
            ("varchar", .varchar), ("Character Varying", .varchar), ("UUID", .uuid), ("numeric", .numeric),
            ("Decimal", .numeric), ("date", .date), ("timestamp", .timestamp), ("timestamp without time zone", .timestamp),
            ("timestamptz", .timestamptz), ("TIMESTAMP WITH TIME ZONE", .timestamptz),
        ]
        for (name, type) in names {
            XCTAssertEqual(ShardKeyType(sqlName: name), type, name)
        }
        for name in ["float8", "char", "character", "int16", "time", ""] {
            XCTAssertNil(ShardKeyType(sqlName: name), name)
        }
    }
}
