import XCTest

@testable import SQLRouter

final class JSONParserTests: XCTestCase {
    func testValues() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null, "x"], "b": {}} "#, maxDepth: 10)
        let array = value["a"]?.elements ?? []
        XCTAssertEqual(array.count, 8)
        XCTAssertEqual(array[0].integer, 1)
        XCTAssertEqual(array[1].integer, -2)
        guard case .double(let fraction) = array[2], case .double(let exponent) = array[3] else { return XCTFail() }
        XCTAssertEqual(fraction, 3.5)
        XCTAssertEqual(exponent, 1000)
        XCTAssertEqual(array[4].bool, true)
        XCTAssertEqual(array[5].bool, false)
        guard case .null = array[6] else { return XCTFail() }
        XCTAssertEqual(array[7].string, "x")
        XCTAssertEqual(value["b"]?.members.count, 0)
        XCTAssertNil(value["c"])
    }

    func testObjectsKeepMemberOrder() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"m":3}"#, maxDepth: 10)
        XCTAssertEqual(value.members.map(\.key), ["z", "a", "m"])
    }

    func testStringEscapes() throws {
        let value = try JSONParser.parse(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u003c", "\ud83d\ude00", "\ud83d", "plain é"]"#, maxDepth: 10)
        XCTAssertEqual(value.elements.map { $0.string ?? "?" }, [
            "a\"b\\c/d\u{8}\u{C}\n\r\t", "é<", "\u{1F600}", "\u{FFFD}", "plain é",
        ])
    }

    func testNodes() throws {
        let value = try JSONParser.parse(#"{"SelectStmt":{"op":"SETOP_NONE"}}"#, maxDepth: 10)
        XCTAssertEqual(value.node?.type, "SelectStmt")
        XCTAssertEqual(value.node("SelectStmt")?["op"]?.string, "SETOP_NONE")
        XCTAssertNil(value.node("InsertStmt"))
    }

    func testDepthLimit() {
        let nested = String(repeating: "[", count: 50) + String(repeating: "]", count: 50)
        XCTAssertNoThrow(try JSONParser.parse(nested, maxDepth: 50))
        XCTAssertThrowsError(try JSONParser.parse(nested, maxDepth: 49)) { error in
            XCTAssertEqual(error as? JSONParseError, .tooDeep)
        }
        let deep = String(repeating: "{\"a\":", count: 1_000_000) + "1" + String(repeating: "}", count: 1_000_000)
        XCTAssertThrowsError(try JSONParser.parse(deep, maxDepth: 1000)) { error in
            XCTAssertEqual(error as? JSONParseError, .tooDeep)
        }
    }

    func testMalformed() {
        for text in ["", "[", "[1,]", "{\"a\"}", "{\"a\":1,}", "tru", "\"abc", "[1 2]", "{1:2}", "\"\\x\"", "\"\\u12\"", "1 2", "-"] {
            XCTAssertThrowsError(try JSONParser.parse(text, maxDepth: 10), text)
        }
    }
}
