import PGWire
import XCTest

final class ParseTests: XCTestCase {
    func testExactBytes() throws {
        let body = ByteWriter.body { $0.cString("stmt"); $0.cString("SELECT $1"); $0.uint16(1); $0.uint32(3_000_000_000) }
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        XCTAssertEqual(
            try decodeWhole(ByteWriter.typed("P", body), into: &decoder),
            [.parse(Parse(name: "stmt", query: "SELECT $1", parameterTypeOIDs: [3_000_000_000]))]
        )
    }

    func testMissingParameterCountIsMalformed() {
        let body = ByteWriter.body { $0.cString("stmt"); $0.cString("SELECT 1") }
        guard case .malformed = decodingError(ByteWriter.typed("P", body))?.kind else { return XCTFail() }
    }

    func testInvalidUTF8InParseQueryIsFatal() {
        let body = ByteWriter.body { $0.cString(""); $0.raw([0x80, 0]); $0.uint16(0) }
        let error = decodingError(ByteWriter.typed("P", body))
        guard case .malformed = error?.kind else { return XCTFail() }
        XCTAssertEqual(error?.isFatal, true)
    }
}
