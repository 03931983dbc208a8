import PGWire
import XCTest

final class CloseTests: XCTestCase {
    func testStatementAndPortal() throws {
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        let bytes = ByteWriter.typed("C", [UInt8(ascii: "S")] + Array("s1\0".utf8))
            + ByteWriter.typed("C", [UInt8(ascii: "P")] + Array("p1\0".utf8))
        XCTAssertEqual(
            try decodeWhole(bytes, into: &decoder),
            [.close(Close(kind: .statement, name: "s1")), .close(Close(kind: .portal, name: "p1"))]
        )
    }

    func testUnknownKindIsMalformed() {
        guard case .malformed = decodingError(ByteWriter.typed("C", [0, 0]))?.kind else { return XCTFail() }
    }
}
