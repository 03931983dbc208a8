import PGWire
import XCTest

final class ErrorFieldsTests: XCTestCase {
    func testFactoryFillsFieldsInPostgreSQLOrder() {
        let minimal = ErrorFields.error(.syntaxError, "syntax error at or near \"SELEC\"")
        XCTAssertEqual(minimal.fields.map(\.code), Array("SVCM".utf8))
        let full = ErrorFields.error(.undefinedTable, "m", detail: "d", hint: "h", position: 3, severity: "FATAL")
        XCTAssertEqual(full.fields.map(\.code), Array("SVCMDHP".utf8))
        XCTAssertEqual(full.severity, "FATAL")
        XCTAssertEqual(full.sqlState, .undefinedTable)
        XCTAssertEqual(full.message, "m")
        XCTAssertEqual(full.detail, "d")
        XCTAssertEqual(full.hint, "h")
        XCTAssertEqual(full.position, 3)
        XCTAssertEqual(full[UInt8(ascii: "V")], "FATAL")
        XCTAssertNil(full[ErrorFields.Code.routine])
    }

    func testEqualityIsOrderSensitive() {
        let a = ErrorFields(fields: [(UInt8(ascii: "M"), "x"), (UInt8(ascii: "C"), "XX000")])
        let b = ErrorFields(fields: [(UInt8(ascii: "C"), "XX000"), (UInt8(ascii: "M"), "x")])
        XCTAssertEqual(a, a)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.sqlState, b.sqlState)
    }
}
