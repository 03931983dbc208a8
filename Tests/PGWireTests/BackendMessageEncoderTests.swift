import PGWire
import XCTest

final class BackendMessageEncoderTests: XCTestCase {
    func testEmptyMessageBytes() {
        var encoder = BackendMessageEncoder()
        XCTAssertTrue(encoder.isEmpty)
        encoder.parseComplete()
        XCTAssertEqual(encoder.buffer, [UInt8(ascii: "1"), 0, 0, 0, 4])
        XCTAssertEqual(encoder.count, 5)
        XCTAssertFalse(encoder.isEmpty)
    }

    func testConsumeAfterPartialWrites() throws {
        var encoder = BackendMessageEncoder(capacity: 64)
        encoder.commandComplete("SELECT 1")
        encoder.readyForQuery(.idle)
        let all = encoder.buffer
        var written: [UInt8] = []
        // The socket takes 3 bytes, then 10, then the rest.
        for chunk in [3, 10] {
            written += encoder.buffer.prefix(chunk)
            encoder.consume(chunk)
            XCTAssertEqual(encoder.buffer, Array(all.dropFirst(written.count)))
        }
        // More messages are written while the rest waits.
        encoder.bindComplete()
        written += encoder.buffer
        encoder.consume(encoder.count)
        XCTAssertTrue(encoder.isEmpty)
        XCTAssertEqual(
            try TestBackendDecoder.decode(written),
            [.commandComplete("SELECT 1"), .readyForQuery(UInt8(ascii: "I")), .bindComplete]
        )
    }

    func testConsumeWhileARowIsOpenKeepsItsLengthPatchable() throws {
        var encoder = BackendMessageEncoder()
        encoder.commandComplete("X")
        let first = encoder.count
        encoder.beginDataRow(columnCount: 1)
        XCTAssertTrue(encoder.hasOpenMessage)
        encoder.consume(first)
        encoder.appendDataRowValue([1, 2, 3])
        encoder.endDataRow()
        XCTAssertFalse(encoder.hasOpenMessage)
        XCTAssertEqual(try encoder.decodedMessages(), [.dataRow([[1, 2, 3]])])
    }

    func testRemoveAll() {
        var encoder = BackendMessageEncoder()
        encoder.noData()
        encoder.removeAll()
        XCTAssertTrue(encoder.isEmpty)
        encoder.beginDataRow(columnCount: 0)
        encoder.removeAll(keepingCapacity: false)
        XCTAssertFalse(encoder.hasOpenMessage)
        encoder.noData()
        XCTAssertEqual(encoder.count, 5)
    }

    func testStringsAreCutAtAnEmbeddedNUL() throws {
        var encoder = BackendMessageEncoder()
        encoder.commandComplete("SELECT 1\0junk")
        encoder.readyForQuery(.idle)
        XCTAssertEqual(try encoder.decodedMessages(), [.commandComplete("SELECT 1"), .readyForQuery(UInt8(ascii: "I"))])
    }

    func testNonASCIIStrings() throws {
        var encoder = BackendMessageEncoder()
        encoder.parameterStatus(name: "application_name", value: "café ☕")
        XCTAssertEqual(try encoder.decodedMessages(), [.parameterStatus(name: "application_name", value: "café ☕")])
    }
}
