import PGWire
import XCTest

final class SQLStateTests: XCTestCase {
    func testCodesArePostgreSQLs() {
        XCTAssertEqual(SQLState.featureNotSupported.rawValue, "0A000")
        XCTAssertEqual(SQLState.protocolViolation.rawValue, "08P01")
        XCTAssertEqual(SQLState.invalidColumnReference.rawValue, "42P10")
        XCTAssertEqual(SQLState.undefinedFunction.rawValue, "42883")
        XCTAssertEqual(SQLState.programLimitExceeded.rawValue, "54000")
        XCTAssertEqual(SQLState.statementTooComplex.rawValue, "54001")
        XCTAssertEqual(SQLState.characterNotInRepertoire.rawValue, "22021")
        XCTAssertEqual(SQLState.configFileError.rawValue, "F0000")
    }

    func testLiteralAndClass() {
        let state: SQLState = "40001"
        XCTAssertEqual(state, .serializationFailure)
        XCTAssertEqual(state.errorClass, "40")
        XCTAssertEqual("\(state)", "40001")
    }
}
