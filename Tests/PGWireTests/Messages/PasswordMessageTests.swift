import PGWire
import XCTest

final class PasswordMessageTests: XCTestCase {
    func testPasswordMessage() throws {
        XCTAssertEqual(try PasswordMessage.decode(Array("pw".utf8) + [0]), PasswordMessage(password: Array("pw".utf8)))
        // Not UTF-8: kept as bytes.
        XCTAssertEqual(try PasswordMessage.decode([0xFF, 0xFE, 0]), PasswordMessage(password: [0xFF, 0xFE]))
        XCTAssertEqual(try PasswordMessage.decode([0]), PasswordMessage(password: []))
        for body: [UInt8] in [[], Array("pw".utf8), Array("pw".utf8) + [0, 1]] {
            XCTAssertThrowsError(try PasswordMessage.decode(body)) { error in
                let error = error as! FrontendDecodingError
                XCTAssertEqual(error.sqlState, .protocolViolation)
                XCTAssertEqual(error.bytes, [], "no byte of a password is kept")
            }
        }
    }

    func testSASLInitialResponse() throws {
        var writer = ByteWriter()
        writer.cString("SCRAM-SHA-256")
        writer.int32(5)
        writer.raw(Array("n,,n=".utf8))
        XCTAssertEqual(try SASLInitialResponse.decode(writer.bytes), SASLInitialResponse(mechanism: "SCRAM-SHA-256", data: Array("n,,n=".utf8)))

        var none = ByteWriter()
        none.cString("SCRAM-SHA-256")
        none.int32(-1)
        XCTAssertEqual(try SASLInitialResponse.decode(none.bytes), SASLInitialResponse(mechanism: "SCRAM-SHA-256", data: nil))

        var empty = ByteWriter()
        empty.cString("SCRAM-SHA-256")
        empty.int32(0)
        XCTAssertEqual(try SASLInitialResponse.decode(empty.bytes), SASLInitialResponse(mechanism: "SCRAM-SHA-256", data: []))

        let malformed: [[UInt8]] = [
            [],
            Array("SCRAM-SHA-256".utf8),
            Array("SCRAM-SHA-256".utf8) + [0, 0, 0],
            Array("SCRAM-SHA-256".utf8) + [0, 0, 0, 0, 9, 1, 2],
            Array("SCRAM-SHA-256".utf8) + [0, 0, 0, 0, 1, 1, 2],
            Array("SCRAM-SHA-256".utf8) + [0, 0xFF, 0xFF, 0xFF, 0xFE],
            Array("SCRAM-SHA-256".utf8) + [0, 0xFF, 0xFF, 0xFF, 0xFF, 1],
            [0xFF, 0] + [0, 0, 0, 0],
        ]
        for body in malformed {
            XCTAssertThrowsError(try SASLInitialResponse.decode(body), "\(body)") { error in
                XCTAssertEqual((error as! FrontendDecodingError).bytes, [])
            }
        }
    }
}
