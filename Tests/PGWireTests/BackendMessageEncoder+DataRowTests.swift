import PGWire
import XCTest

final class BackendMessageEncoderDataRowTests: XCTestCase {
    func testNullsAndEmptyValues() throws {
        var encoder = BackendMessageEncoder()
        encoder.dataRow([nil, [], Array("x".utf8), nil])
        encoder.dataRow([])
        XCTAssertEqual(try encoder.decodedMessages(), [.dataRow([nil, [], Array("x".utf8), nil]), .dataRow([])])
    }

    func testExactBytes() {
        var encoder = BackendMessageEncoder()
        encoder.dataRow([nil, [], [7]])
        XCTAssertEqual(encoder.buffer, [
            UInt8(ascii: "D"), 0, 0, 0, 19,
            0, 3,
            0xFF, 0xFF, 0xFF, 0xFF,
            0, 0, 0, 0,
            0, 0, 0, 1, 7,
        ])
    }

    func testStreamingFromBorrowedBytes() throws {
        let values: [[UInt8]?] = [Array("42".utf8), nil, [], Array(repeating: 0xAB, count: 70_000)]
        var encoder = BackendMessageEncoder(capacity: 16)
        for _ in 0..<3 {
            encoder.beginDataRow(columnCount: values.count)
            for value in values {
                if let value {
                    value.withUnsafeBytes { encoder.appendDataRowValue($0) }
                } else {
                    encoder.appendDataRowValue(nil)
                }
            }
            encoder.endDataRow()
        }
        XCTAssertEqual(try encoder.decodedMessages(), Array(repeating: .dataRow(values), count: 3))

        var whole = BackendMessageEncoder()
        for _ in 0..<3 { whole.dataRow(values) }
        XCTAssertEqual(whole.buffer, encoder.buffer)
    }

    func testEmptyBorrowedValueIsNotNull() throws {
        var encoder = BackendMessageEncoder()
        encoder.beginDataRow(columnCount: 2)
        encoder.appendDataRowValue(UnsafeRawBufferPointer(start: nil, count: 0))
        encoder.appendDataRowValue("text")
        encoder.endDataRow()
        XCTAssertEqual(try encoder.decodedMessages(), [.dataRow([[], Array("text".utf8)])])
    }
}
