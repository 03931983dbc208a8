import PGWire
import XCTest

final class BackendMessageEncoderStartupTests: XCTestCase {
    func testSSLResponseIsOneByte() {
        var encoder = BackendMessageEncoder()
        encoder.sslResponse(accepted: true)
        XCTAssertEqual(encoder.buffer, [UInt8(ascii: "S")])
        encoder.removeAll()
        encoder.sslResponse(accepted: false)
        XCTAssertEqual(encoder.buffer, [UInt8(ascii: "N")])
    }

    func testAuthenticationOkBytes() {
        var encoder = BackendMessageEncoder()
        encoder.authenticationOk()
        XCTAssertEqual(encoder.buffer, [UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 0])
    }

    func testAuthenticationRequests() throws {
        var encoder = BackendMessageEncoder()
        encoder.authenticationCleartextPassword()
        encoder.authenticationMD5Password(salt: (1, 2, 3, 4))
        encoder.authenticationMD5Password(salt: [5, 6, 7, 8])
        encoder.authenticationSASL(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])
        encoder.authenticationSASLContinue(Array("r=abc,s=xyz,i=4096".utf8))
        encoder.authenticationSASLFinal(Array("v=proof".utf8))
        encoder.authenticationOk()
        XCTAssertEqual(try encoder.decodedMessages(), [
            .authentication(code: 3, data: []),
            .authentication(code: 5, data: [1, 2, 3, 4]),
            .authentication(code: 5, data: [5, 6, 7, 8]),
            .authentication(code: 10, data: Array("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0".utf8)),
            .authentication(code: 11, data: Array("r=abc,s=xyz,i=4096".utf8)),
            .authentication(code: 12, data: Array("v=proof".utf8)),
            .authentication(code: 0, data: []),
        ])
    }

    func testSessionStartMessages() throws {
        var encoder = BackendMessageEncoder()
        encoder.parameterStatus(name: "server_version", value: "15.0 (pgshard)")
        encoder.backendKeyData(processID: 77, secretKey: -5)
        encoder.negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: ["_pq_.a", "_pq_.b"])
        encoder.readyForQuery(.idle)
        XCTAssertEqual(try encoder.decodedMessages(), [
            .parameterStatus(name: "server_version", value: "15.0 (pgshard)"),
            .backendKeyData(processID: 77, secretKey: -5),
            .negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: ["_pq_.a", "_pq_.b"]),
            .readyForQuery(UInt8(ascii: "I")),
        ])
    }
}
