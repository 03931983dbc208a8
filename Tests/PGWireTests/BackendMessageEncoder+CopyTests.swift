import PGWire
import XCTest

final class BackendMessageEncoderCopyTests: XCTestCase {
    func testCopyOut() throws {
        var encoder = BackendMessageEncoder()
        encoder.copyOutResponse(format: 0, columnFormats: [0, 0])
        encoder.copyData(Array("1\tone\n".utf8))
        Array("2\ttwo\n".utf8).withUnsafeBytes { encoder.copyData($0) }
        encoder.copyDone()
        encoder.commandComplete("COPY 2")
        XCTAssertEqual(try encoder.decodedMessages(), [
            .copyOutResponse(format: 0, columnFormats: [0, 0]),
            .copyData(Array("1\tone\n".utf8)),
            .copyData(Array("2\ttwo\n".utf8)),
            .copyDone,
            .commandComplete("COPY 2"),
        ])
    }

    func testCopyIn() throws {
        var encoder = BackendMessageEncoder()
        encoder.copyInResponse(format: 1, columnFormats: [1, 1, 1])
        XCTAssertEqual(encoder.buffer, [UInt8(ascii: "G"), 0, 0, 0, 13, 1, 0, 3, 0, 1, 0, 1, 0, 1])
        XCTAssertEqual(try encoder.decodedMessages(), [.copyInResponse(format: 1, columnFormats: [1, 1, 1])])
    }
}
