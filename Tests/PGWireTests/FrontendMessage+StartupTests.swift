import PGWire
import XCTest

final class FrontendMessageStartupTests: XCTestCase {
    func testStartupMessage() throws {
        var decoder = FrontendMessageDecoder()
        XCTAssertTrue(decoder.expectsStartupPacket)
        let decoded = try decodeWhole(TestFrontendEncoder.encode(.startup(sampleStartup)), into: &decoder)
        XCTAssertEqual(decoded, [.startup(sampleStartup)])
        XCTAssertFalse(decoder.expectsStartupPacket)
    }

    func testStartupByteByByte() throws {
        var decoder = FrontendMessageDecoder()
        let decoded = try decodeByteByByte(TestFrontendEncoder.encode(.startup(sampleStartup)), into: &decoder)
        XCTAssertEqual(decoded, [.startup(sampleStartup)])
    }

    func testStartupBytesAreExactlyWhatPostgreSQLExpects() throws {
        // Written out by hand: length 32, version 3.0, user=app, database=shop, terminator.
        let bytes: [UInt8] = [0, 0, 0, 32, 0, 3, 0, 0]
            + Array("user\0app\0database\0shop\0\0".utf8)
        var decoder = FrontendMessageDecoder()
        XCTAssertEqual(
            try decodeWhole(bytes, into: &decoder),
            [.startup(StartupMessage(parameters: [("user", "app"), ("database", "shop")]))]
        )
    }

    func testSSLRequestThenStartup() throws {
        var decoder = FrontendMessageDecoder()
        decoder.append(TestFrontendEncoder.encode(.sslRequest))
        XCTAssertEqual(try decoder.next(), .sslRequest)
        // The answer is one byte and then TLS; the startup packet comes next, still untyped.
        XCTAssertTrue(decoder.expectsStartupPacket)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        decoder.append(TestFrontendEncoder.encode(.startup(sampleStartup)))
        XCTAssertEqual(try decoder.next(), .startup(sampleStartup))
        XCTAssertFalse(decoder.expectsStartupPacket)
        decoder.append(TestFrontendEncoder.encode(.sync))
        XCTAssertEqual(try decoder.next(), .sync)
    }

    func testSSLRequestBytes() throws {
        var decoder = FrontendMessageDecoder()
        XCTAssertEqual(try decodeWhole([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F], into: &decoder), [.sslRequest])
    }

    func testGSSEncRequestThenSSLRequestThenStartup() throws {
        var decoder = FrontendMessageDecoder()
        let bytes = TestFrontendEncoder.encode(.gssEncRequest) + TestFrontendEncoder.encode(.sslRequest)
            + TestFrontendEncoder.encode(.startup(sampleStartup))
        XCTAssertEqual(try decodeByteByByte(bytes, into: &decoder), [.gssEncRequest, .sslRequest, .startup(sampleStartup)])
    }

    func testCancelRequest() throws {
        var decoder = FrontendMessageDecoder()
        let cancel = CancelRequest(processID: 4242, secretKey: -123_456_789)
        let bytes = TestFrontendEncoder.encode(.cancelRequest(cancel))
        XCTAssertEqual(bytes.count, 16)
        XCTAssertEqual(try decodeByteByByte(bytes, into: &decoder), [.cancelRequest(cancel)])
    }

    func testCancelRequestOfWrongLengthIsMalformed() {
        let bytes = ByteWriter.untyped(ByteWriter.body { $0.uint32(80877102); $0.int32(1) })
        guard case .malformed = decodingError(bytes, expectsStartupPacket: true)?.kind else { return XCTFail() }
    }

    func testSSLRequestWithExtraBytesIsMalformed() {
        let bytes = ByteWriter.untyped(ByteWriter.body { $0.uint32(80877103); $0.int32(0) })
        guard case .malformed = decodingError(bytes, expectsStartupPacket: true)?.kind else { return XCTFail() }
    }

    func testProtocol2IsUnsupported() {
        let bytes = ByteWriter.untyped(ByteWriter.body { $0.uint16(2); $0.uint16(0); $0.raw(Array(repeating: 0, count: 64)) })
        let error = decodingError(bytes, expectsStartupPacket: true)
        XCTAssertEqual(error?.kind, .unsupportedProtocolVersion(major: 2, minor: 0))
        XCTAssertNil(error?.messageType)
        XCTAssertEqual(error?.isFatal, true)
        XCTAssertEqual(error?.sqlState, .featureNotSupported)
    }

    func testNewerMinorVersionIsReportedNotRefused() throws {
        let startup = StartupMessage(protocolMajor: 3, protocolMinor: 2, parameters: [("user", "u"), ("_pq_.command_marker", "on")])
        var decoder = FrontendMessageDecoder()
        let decoded = try decodeWhole(TestFrontendEncoder.encode(.startup(startup)), into: &decoder)
        XCTAssertEqual(decoded, [.startup(startup)])
        guard case .startup(let message) = decoded.first else { return XCTFail() }
        XCTAssertEqual(message.protocolMinor, 2)
        XCTAssertEqual(message.protocolOptions, ["_pq_.command_marker"])
    }

    func testStartupPacketOver10000BytesFailsFromTheLengthAlone() {
        let error = decodingError([0, 0, 0x27, 0x11], expectsStartupPacket: true)
        XCTAssertEqual(error?.kind, .messageTooLarge(declared: 10001, limit: 10000))
        XCTAssertNil(error?.messageType)
    }

    func testStartupPacketOf10000BytesIsAccepted() throws {
        // 4 length + 4 version + "user\0" + value + "\0" + terminator = 10000.
        let value = String(repeating: "u", count: 10000 - 8 - 5 - 1 - 1)
        let startup = StartupMessage(parameters: [("user", value)])
        let bytes = TestFrontendEncoder.encode(.startup(startup))
        XCTAssertEqual(bytes.count, 10000)
        var decoder = FrontendMessageDecoder()
        XCTAssertEqual(try decodeWhole(bytes, into: &decoder), [.startup(startup)])
    }

    func testHTTPRequestIsRefused() {
        let error = decodingError(Array("GET / HTTP/1.1\r\n".utf8), expectsStartupPacket: true)
        guard case .messageTooLarge = error?.kind else { return XCTFail("\(String(describing: error))") }
    }

    func testStartupLengthUnderEightIsMalformed() {
        for length: UInt8 in [0, 3, 4, 7] {
            let error = decodingError([0, 0, 0, length, 0, 3, 0, 0], expectsStartupPacket: true)
            guard case .malformed = error?.kind else { return XCTFail("length \(length)") }
        }
    }

    func testStartupWithoutTerminatorIsMalformed() {
        let bytes = ByteWriter.untyped(ByteWriter.body { $0.uint16(3); $0.uint16(0); $0.cString("user"); $0.cString("app") })
        guard case .malformed = decodingError(bytes, expectsStartupPacket: true)?.kind else { return XCTFail() }
        let bare = ByteWriter.untyped(ByteWriter.body { $0.uint16(3); $0.uint16(0) })
        guard case .malformed = decodingError(bare, expectsStartupPacket: true)?.kind else { return XCTFail() }
    }

    func testStartupWithBytesAfterTerminatorIsMalformed() {
        let bytes = ByteWriter.untyped(ByteWriter.body { $0.uint16(3); $0.uint16(0); $0.cString("user"); $0.cString("app"); $0.uint8(0); $0.uint8(7) })
        guard case .malformed = decodingError(bytes, expectsStartupPacket: true)?.kind else { return XCTFail() }
    }

    func testStartupWithNameButNoValueIsMalformed() {
        let bytes = ByteWriter.untyped(ByteWriter.body { $0.uint16(3); $0.uint16(0); $0.cString("user") })
        guard case .malformed = decodingError(bytes, expectsStartupPacket: true)?.kind else { return XCTFail() }
    }

    func testStartupWithInvalidUTF8IsMalformedAndFatal() {
        let bytes = ByteWriter.untyped(ByteWriter.body { $0.uint16(3); $0.uint16(0); $0.cString("user"); $0.raw([0xE9, 0]); $0.uint8(0) })
        let error = decodingError(bytes, expectsStartupPacket: true)
        guard case .malformed = error?.kind else { return XCTFail() }
        XCTAssertEqual(error?.isFatal, true)
    }

    func testTypedMessageBeforeStartupIsNotDecodedAsOne() {
        // A client that skips the startup packet: 'Q' then a length reads as a huge length.
        let error = decodingError(TestFrontendEncoder.encode(.query("SELECT 1")), expectsStartupPacket: true)
        guard case .messageTooLarge = error?.kind else { return XCTFail("\(String(describing: error))") }
    }
}
