import PGWire
import XCTest

final class DescribeTests: XCTestCase {
    func testStatementAndPortal() throws {
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        let bytes = ByteWriter.typed("D", [UInt8(ascii: "S")] + Array("s1\0".utf8))
            + ByteWriter.typed("D", [UInt8(ascii: "P"), 0])
        XCTAssertEqual(
            try decodeWhole(bytes, into: &decoder),
            [.describe(Describe(kind: .statement, name: "s1")), .describe(Describe(kind: .portal, name: ""))]
        )
    }

    func testUnknownKindIsMalformed() {
        guard case .malformed = decodingError(ByteWriter.typed("D", [UInt8(ascii: "X"), 0]))?.kind else { return XCTFail() }
    }

    func testEmptyBodyIsMalformed() {
        guard case .malformed = decodingError(ByteWriter.typed("D", []))?.kind else { return XCTFail() }
    }
}
