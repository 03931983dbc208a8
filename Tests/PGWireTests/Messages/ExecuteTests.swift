import PGWire
import XCTest

final class ExecuteTests: XCTestCase {
    func testExactBytes() throws {
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        let bytes = ByteWriter.typed("E", ByteWriter.body { $0.cString("p"); $0.int32(50) })
        XCTAssertEqual(try decodeWhole(bytes, into: &decoder), [.execute(Execute(portal: "p", maxRows: 50))])
    }

    func testMissingMaxRowsIsMalformed() {
        let bytes = ByteWriter.typed("E", ByteWriter.body { $0.cString("p"); $0.int16(0) })
        guard case .malformed = decodingError(bytes)?.kind else { return XCTFail() }
    }
}
