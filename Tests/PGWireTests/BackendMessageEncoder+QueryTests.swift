import PGWire
import XCTest

final class BackendMessageEncoderQueryTests: XCTestCase {
    private let fields = [
        FieldDescription(name: "id", tableOID: 16384, columnAttributeNumber: 1, dataTypeOID: 20, dataTypeSize: 8, typeModifier: -1, format: 0),
        FieldDescription(name: "naïve name", tableOID: 0, columnAttributeNumber: 0, dataTypeOID: 1043, dataTypeSize: -1, typeModifier: 68, format: 1),
    ]

    func testReadyForQueryStatuses() {
        for (status, letter) in [(TransactionStatus.idle, "I"), (.inTransaction, "T"), (.failed, "E")] {
            var encoder = BackendMessageEncoder()
            encoder.readyForQuery(status)
            XCTAssertEqual(encoder.buffer, [UInt8(ascii: "Z"), 0, 0, 0, 5, Character(letter).asciiValue!])
        }
    }

    func testRowDescription() throws {
        var encoder = BackendMessageEncoder()
        encoder.rowDescription(self.fields)
        encoder.rowDescription([])
        XCTAssertEqual(try encoder.decodedMessages(), [.rowDescription(self.fields), .rowDescription([])])
    }

    func testStreamedRowDescriptionEqualsWhole() {
        var whole = BackendMessageEncoder()
        whole.rowDescription(self.fields)
        var streamed = BackendMessageEncoder()
        streamed.beginRowDescription(fieldCount: 2)
        streamed.appendField(self.fields[0])
        streamed.appendField(self.fields[1])
        streamed.endMessage()
        XCTAssertEqual(whole.buffer, streamed.buffer)
    }

    func testSimpleQueryCycle() throws {
        var encoder = BackendMessageEncoder()
        encoder.rowDescription(Array(self.fields.prefix(1)))
        encoder.dataRow([Array("1".utf8)])
        encoder.commandComplete("SELECT 1")
        encoder.emptyQueryResponse()
        encoder.readyForQuery(.inTransaction)
        XCTAssertEqual(try encoder.decodedMessages(), [
            .rowDescription(Array(self.fields.prefix(1))),
            .dataRow([Array("1".utf8)]),
            .commandComplete("SELECT 1"),
            .emptyQueryResponse,
            .readyForQuery(UInt8(ascii: "T")),
        ])
    }

    func testErrorResponseKeepsFieldOrder() throws {
        let error = ErrorFields.error(
            .featureNotSupported, "cross-shard UPDATE without shard key",
            detail: "table orders is sharded by user_id", hint: "add user_id = ... to the WHERE clause", position: 8
        )
        var encoder = BackendMessageEncoder()
        encoder.errorResponse(error)
        let decoded = try encoder.decodedMessages()
        XCTAssertEqual(decoded, [.errorResponse(error)])
        guard case .errorResponse(let fields) = decoded.first else { return XCTFail() }
        XCTAssertEqual(fields.fields.map { Character(Unicode.Scalar($0.code)) }, ["S", "V", "C", "M", "D", "H", "P"])
        XCTAssertEqual(fields.fields.map(\.value), [
            "ERROR", "ERROR", "0A000", "cross-shard UPDATE without shard key",
            "table orders is sharded by user_id", "add user_id = ... to the WHERE clause", "8",
        ])
    }

    func testErrorResponseExactBytes() {
        var encoder = BackendMessageEncoder()
        encoder.errorResponse(ErrorFields(fields: [(UInt8(ascii: "C"), "XX000")]))
        XCTAssertEqual(encoder.buffer, [UInt8(ascii: "E"), 0, 0, 0, 12, UInt8(ascii: "C")] + Array("XX000".utf8) + [0, 0])
    }

    func testFieldWithCodeZeroIsSkipped() throws {
        var encoder = BackendMessageEncoder()
        encoder.noticeResponse(ErrorFields(fields: [(0, "lost"), (UInt8(ascii: "M"), "kept")]))
        XCTAssertEqual(try encoder.decodedMessages(), [.noticeResponse(ErrorFields(fields: [(UInt8(ascii: "M"), "kept")]))])
    }

    func testNoticeAndNotification() throws {
        var encoder = BackendMessageEncoder()
        let notice = ErrorFields.error(.warning, "routed to all shards", severity: "WARNING")
        encoder.noticeResponse(notice)
        encoder.notificationResponse(processID: 9, channel: "jobs", payload: "{\"id\":1}")
        encoder.functionCallResponse(nil)
        encoder.functionCallResponse([1, 2])
        XCTAssertEqual(try encoder.decodedMessages(), [
            .noticeResponse(notice),
            .notificationResponse(processID: 9, channel: "jobs", payload: "{\"id\":1}"),
            .functionCallResponse(nil),
            .functionCallResponse([1, 2]),
        ])
    }
}
