import XCTest

@testable import SQLRouter

final class MessageTextTests: XCTestCase {
    func testIntegerLiteralAtLocation() {
        let text = MessageText("x = -5 AND y = - 12 AND z = 0 AND w = -(5) AND v = 4.0 AND u = -9223372036854775808")
        let bytes = Array("x = -5 AND y = - 12 AND z = 0 AND w = -(5) AND v = 4.0 AND u = -9223372036854775808".utf8)
        func location(of needle: String) -> Int {
            let target = Array(needle.utf8)
            for start in 0...(bytes.count - target.count) where Array(bytes[start..<start + target.count]) == target {
                return start
            }
            return -1
        }
        XCTAssertEqual(text.integerLiteral(at: location(of: "-5")), -5)
        XCTAssertEqual(text.integerLiteral(at: location(of: "- 12")), -12)
        XCTAssertEqual(text.integerLiteral(at: location(of: "0 AND")), 0)
        XCTAssertNil(text.integerLiteral(at: location(of: "-(5)")))
        XCTAssertNil(text.integerLiteral(at: location(of: "4.0")))
        XCTAssertEqual(text.integerLiteral(at: location(of: "-9223372036854775808")), .min)
        XCTAssertNil(text.integerLiteral(at: -1))
        XCTAssertNil(text.integerLiteral(at: 10_000))
    }

    func testStatementRangeAndCharacterCount() {
        let text = MessageText("  é SELECT 1 ;")
        let range = text.statementRange(location: 0, length: 13)
        XCTAssertEqual(text.text(range), "é SELECT 1")
        XCTAssertEqual(text.characterCount(from: 0, to: range.lowerBound), 2)
        XCTAssertEqual(text.text(text.statementRange(location: 4, length: 0)), "SELECT 1 ;")
    }
}
