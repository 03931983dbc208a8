import PGWire
import XCTest

final class FrontendDecodingErrorTests: XCTestCase {
    func testOnlyInvalidUTF8InQueryIsNotFatal() {
        let q = UInt8(ascii: "Q")
        XCTAssertFalse(FrontendDecodingError(kind: .invalidUTF8, messageType: q, bytes: []).isFatal)
        XCTAssertTrue(FrontendDecodingError(kind: .invalidUTF8, messageType: UInt8(ascii: "P"), bytes: []).isFatal)
        XCTAssertTrue(FrontendDecodingError(kind: .malformed("x"), messageType: q, bytes: []).isFatal)
        XCTAssertTrue(FrontendDecodingError(kind: .messageTooLarge(declared: 9, limit: 8), messageType: nil, bytes: []).isFatal)
    }

    func testSQLStates() {
        XCTAssertEqual(FrontendDecodingError(kind: .invalidUTF8, messageType: UInt8(ascii: "Q"), bytes: []).sqlState, .characterNotInRepertoire)
        XCTAssertEqual(FrontendDecodingError(kind: .unknownMessageType(1), messageType: 1, bytes: []).sqlState, .protocolViolation)
        XCTAssertEqual(FrontendDecodingError(kind: .unsupportedProtocolVersion(major: 2, minor: 0), messageType: nil, bytes: []).sqlState, .featureNotSupported)
    }

    func testErrorFields() {
        let fatal = FrontendDecodingError(kind: .unknownMessageType(90), messageType: 90, bytes: []).errorFields
        XCTAssertEqual(fatal.severity, "FATAL")
        XCTAssertEqual(fatal.sqlState, .protocolViolation)
        XCTAssertEqual(fatal.message, "invalid frontend message type 90")
        let utf8 = FrontendDecodingError(kind: .invalidUTF8, messageType: UInt8(ascii: "Q"), bytes: []).errorFields
        XCTAssertEqual(utf8.severity, "ERROR")
        XCTAssertEqual(utf8.sqlState, "22021")
    }

    func testDescriptionShowsNoBytes() {
        let error = FrontendDecodingError(kind: .malformed("bad"), messageType: UInt8(ascii: "p"), bytes: Array("hunter2".utf8))
        XCTAssertFalse(error.description.contains("hunter2"))
        XCTAssertFalse(error.description.contains("104"))  // 'h'
    }
}
