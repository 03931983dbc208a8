import PGWire
import XCTest

final class FrontendMessageDecoderTests: XCTestCase {
    private var sessionBytes: [UInt8] {
        TestFrontendEncoder.encode(.startup(sampleStartup)) + everyTypedMessage.flatMap(TestFrontendEncoder.encode)
    }

    func testEveryMessageFedWhole() throws {
        for message in everyTypedMessage {
            var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
            let decoded = try decodeWhole(TestFrontendEncoder.encode(message), into: &decoder)
            XCTAssertEqual(decoded, [message])
            XCTAssertEqual(decoder.bufferedByteCount, 0)
        }
    }

    func testWholeSessionByteByByte() throws {
        var decoder = FrontendMessageDecoder()
        let decoded = try decodeByteByByte(self.sessionBytes, into: &decoder)
        XCTAssertEqual(decoded, [.startup(sampleStartup)] + everyTypedMessage)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        XCTAssertFalse(decoder.expectsStartupPacket)
    }

    func testWholeSessionInOneBuffer() throws {
        var decoder = FrontendMessageDecoder()
        let decoded = try decodeWhole(self.sessionBytes, into: &decoder)
        XCTAssertEqual(decoded, [.startup(sampleStartup)] + everyTypedMessage)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testUnevenChunksAcrossMessageBoundaries() throws {
        let bytes = self.sessionBytes
        for chunkSize in [2, 3, 7, 13, 64] {
            var decoder = FrontendMessageDecoder()
            var decoded: [FrontendMessage] = []
            var index = 0
            while index < bytes.count {
                let end = min(index + chunkSize, bytes.count)
                bytes[index..<end].withUnsafeBytes { decoder.append($0) }
                while let message = try decoder.next() {
                    decoded.append(message)
                }
                index = end
            }
            XCTAssertEqual(decoded, [.startup(sampleStartup)] + everyTypedMessage, "chunk size \(chunkSize)")
            XCTAssertEqual(decoder.bufferedByteCount, 0)
        }
    }

    func testIncompleteMessageConsumesNothing() throws {
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        let query = TestFrontendEncoder.encode(.query("SELECT 1"))
        decoder.append(query.dropLast())
        XCTAssertNil(try decoder.next())
        XCTAssertNil(try decoder.next())
        XCTAssertEqual(decoder.bufferedByteCount, query.count - 1)
        decoder.append(query.suffix(1))
        XCTAssertEqual(try decoder.next(), .query("SELECT 1"))
        XCTAssertNil(try decoder.next())
    }

    /// `nextQuery()` takes a whole, well-formed Query and leaves everything else (other
    /// messages, partial ones, errors) to `next()`, consuming nothing.
    func testNextQueryTakesOnlyWholeWellFormedQueries() throws {
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        let query = TestFrontendEncoder.encode(.query("SELECT 'é'"))
        let sync = TestFrontendEncoder.encode(.sync)
        let bad = ByteWriter.typed("Q", Array("SELECT '".utf8) + [0xC3, 0x28] + Array("'".utf8) + [0])
        let trailing = ByteWriter.typed("Q", Array("SELECT 1".utf8) + [0, 0])
        for byte in query.dropLast() {
            decoder.append([byte])
            XCTAssertNil(decoder.nextQuery())
        }
        decoder.append([query[query.count - 1]] + sync + query + bad + trailing)
        XCTAssertEqual(decoder.nextQuery(), "SELECT 'é'")
        XCTAssertNil(decoder.nextQuery())
        XCTAssertEqual(try decoder.next(), .sync)
        XCTAssertEqual(decoder.nextQuery(), "SELECT 'é'")
        XCTAssertNil(decoder.nextQuery())
        XCTAssertEqual(decoder.bufferedByteCount, bad.count + trailing.count)
        XCTAssertThrowsError(try decoder.next()) { XCTAssertEqual(($0 as? FrontendDecodingError)?.kind, .invalidUTF8) }
        XCTAssertNil(decoder.nextQuery())
        XCTAssertThrowsError(try decoder.next()) { XCTAssertEqual(($0 as? FrontendDecodingError)?.isFatal, true) }
        XCTAssertEqual(decoder.bufferedByteCount, trailing.count)

        var starting = FrontendMessageDecoder()
        starting.append(query)
        XCTAssertNil(starting.nextQuery(), "no typed message before the startup packet")
    }

    /// `nextBind()`, `nextDescribe()`, `nextExecute()` and `nextSync()` take only a whole,
    /// well-formed message of their own type; anything else stays for `next()`.
    func testCommonMessageAccessorsTakeOnlyTheirOwnWholeWellFormedMessages() throws {
        let bind = Bind(portal: "", statement: "s1", parameterFormats: [1], parameters: [[0, 0, 0, 7], nil], resultFormats: [1])
        let describe = Describe(kind: .portal, name: "p")
        let execute = Execute(portal: "", maxRows: 10)
        let messages: [FrontendMessage] = [.bind(bind), .describe(describe), .execute(execute), .sync]
        let stream = messages.flatMap { TestFrontendEncoder.encode($0) }

        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        for byte in stream.dropLast() {
            decoder.append([byte])
            if decoder.nextType == UInt8(ascii: "S") { XCTAssertFalse(decoder.nextSync(), "a Sync's header alone") }
        }
        XCTAssertNil(decoder.nextDescribe(), "not the next message's type")
        XCTAssertEqual(decoder.nextBind(), bind)
        XCTAssertNil(decoder.nextExecute())
        XCTAssertEqual(decoder.nextDescribe(), describe)
        XCTAssertEqual(decoder.nextExecute(), execute)
        XCTAssertFalse(decoder.nextSync(), "its last byte is not buffered yet")
        decoder.append([stream[stream.count - 1]])
        XCTAssertTrue(decoder.nextSync())
        XCTAssertEqual(decoder.bufferedByteCount, 0)

        // Malformed: left to next(), which reports it.
        for bytes in [
            ByteWriter.typed("S", [0]),
            ByteWriter.typed("E", ByteWriter.body { $0.cString(""); $0.int32(0); $0.uint8(9) }),
            ByteWriter.typed("D", ByteWriter.body { $0.uint8(UInt8(ascii: "X")); $0.cString("") }),
            ByteWriter.typed("B", ByteWriter.body { $0.cString(""); $0.cString(""); $0.int16(0); $0.int16(1); $0.int32(-2); $0.int16(0) }),
            [UInt8(ascii: "S"), 0, 0, 0x27, 0x11],  // over the small-message limit
        ] {
            var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
            decoder.append(bytes)
            XCTAssertFalse(decoder.nextSync())
            XCTAssertNil(decoder.nextExecute())
            XCTAssertNil(decoder.nextDescribe())
            XCTAssertNil(decoder.nextBind())
            XCTAssertEqual(decoder.bufferedByteCount, bytes.count, "nothing consumed")
            XCTAssertThrowsError(try decoder.next(), "next() reports \(bytes)")
        }
    }

    func testLongStreamStaysCorrectAcrossCompactions() throws {
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        let message = FrontendMessage.bind(Bind(portal: "", statement: "s", parameters: [Array(repeating: 7, count: 100)]))
        let bytes = TestFrontendEncoder.encode(message)
        var count = 0
        for _ in 0..<1000 {
            // Every append leaves part of a message behind, so compaction must keep it.
            decoder.append(bytes.prefix(50))
            while let decoded = try decoder.next() {
                XCTAssertEqual(decoded, message)
                count += 1
            }
            decoder.append(bytes.dropFirst(50))
        }
        while try decoder.next() != nil { count += 1 }
        XCTAssertEqual(count, 1000)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    // MARK: - Framing errors

    func testLengthUnderFourIsMalformed() {
        let error = decodingError([UInt8(ascii: "Q"), 0, 0, 0, 3])
        XCTAssertEqual(error?.messageType, UInt8(ascii: "Q"))
        guard case .malformed = error?.kind else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(error?.isFatal, true)
        XCTAssertEqual(error?.bytes, [UInt8(ascii: "Q"), 0, 0, 0, 3])
    }

    func testDeclaredLengthOverLimitFailsFromTheHeaderAlone() {
        // Only the 5 header bytes are there: the body is never waited for.
        let error = decodingError([UInt8(ascii: "Q"), 0x00, 0x10, 0x00, 0x01], maxMessageSize: 1 << 20)
        XCTAssertEqual(error?.kind, .messageTooLarge(declared: 0x10_0001, limit: 1 << 20))
        XCTAssertEqual(error?.isFatal, true)
    }

    func testDeclaredLengthAtLimitIsBuffered() throws {
        let query = TestFrontendEncoder.encode(.query(String(repeating: "x", count: 95)))
        XCTAssertEqual(query.count, 101)
        var decoder = FrontendMessageDecoder(maxMessageSize: 100, expectsStartupPacket: false)
        XCTAssertEqual(try decodeWhole(query, into: &decoder), [.query(String(repeating: "x", count: 95))])
    }

    func testSmallMessagesHavePostgreSQLsSmallLimit() {
        let sync = [UInt8(ascii: "S"), 0, 0, 0x27, 0x11]  // 10001
        XCTAssertEqual(decodingError(sync)?.kind, .messageTooLarge(declared: 10001, limit: 10000))
    }

    func testUnknownTypeByteFailsAtOnce() {
        let error = decodingError([UInt8(ascii: "Z")])
        XCTAssertEqual(error?.kind, .unknownMessageType(UInt8(ascii: "Z")))
        XCTAssertEqual(error?.messageType, UInt8(ascii: "Z"))
        XCTAssertEqual(error?.isFatal, true)
    }

    func testBodyLongerThanFieldsIsMalformed() {
        for bytes in [
            ByteWriter.typed("S", [0]),
            ByteWriter.typed("X", [1, 2]),
            ByteWriter.typed("Q", Array("SELECT 1\0\0".utf8)),
            ByteWriter.typed("E", ByteWriter.body { $0.cString(""); $0.int32(0); $0.uint8(9) }),
        ] {
            guard case .malformed = decodingError(bytes)?.kind else { return XCTFail("accepted \(bytes)") }
        }
    }

    func testBodyShorterThanFieldsIsMalformed() {
        for bytes in [
            ByteWriter.typed("E", ByteWriter.body { $0.cString(""); $0.int16(0) }),
            ByteWriter.typed("P", ByteWriter.body { $0.cString("s"); $0.cString("SELECT $1"); $0.uint16(2); $0.uint32(23) }),
        ] {
            guard case .malformed = decodingError(bytes)?.kind else { return XCTFail("accepted \(bytes)") }
        }
    }

    func testMissingNULIsMalformed() {
        for bytes in [
            ByteWriter.typed("Q", Array("SELECT 1".utf8)),
            ByteWriter.typed("f", Array("oops".utf8)),
            ByteWriter.typed("D", [UInt8(ascii: "S")] + Array("s1".utf8)),
        ] {
            let error = decodingError(bytes)
            guard case .malformed = error?.kind else { return XCTFail("accepted \(bytes)") }
            XCTAssertEqual(error?.isFatal, true)
        }
    }

    func testFatalErrorConsumesNothing() {
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        let bytes = ByteWriter.typed("S", [0])
        decoder.append(bytes)
        XCTAssertThrowsError(try decoder.next())
        XCTAssertEqual(decoder.bufferedByteCount, bytes.count)
        XCTAssertThrowsError(try decoder.next())
    }

    func testInvalidUTF8InQueryIsNotFatalAndTheNextMessageDecodes() throws {
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        let bad = ByteWriter.typed("Q", Array("SELECT '".utf8) + [0xC3, 0x28] + Array("'".utf8) + [0])
        decoder.append(bad + TestFrontendEncoder.encode(.query("SELECT 2")))
        do {
            _ = try decoder.next()
            XCTFail("expected invalidUTF8")
        } catch {
            XCTAssertEqual(error.kind, .invalidUTF8)
            XCTAssertEqual(error.messageType, UInt8(ascii: "Q"))
            XCTAssertFalse(error.isFatal)
            XCTAssertEqual(error.bytes, bad)
        }
        XCTAssertEqual(try decoder.next(), .query("SELECT 2"))
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testQueryLayoutErrorWinsOverInvalidUTF8() {
        let bytes = ByteWriter.typed("Q", [0xFF, 0, 0])
        let error = decodingError(bytes)
        guard case .malformed = error?.kind else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(error?.isFatal, true)
    }

    func testInvalidUTF8OutsideQueryIsMalformed() {
        let bytes = ByteWriter.typed("P", ByteWriter.body { $0.raw([0xFF, 0]); $0.cString("SELECT 1"); $0.uint16(0) })
        let error = decodingError(bytes)
        guard case .malformed = error?.kind else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(error?.isFatal, true)
    }

    func testErrorKeepsAtMostTheFirst64Bytes() {
        let bytes = ByteWriter.typed("Q", Array(repeating: UInt8(ascii: "x"), count: 200))
        let error = decodingError(bytes)
        XCTAssertEqual(error?.bytes, Array(bytes.prefix(64)))
    }

    func testPasswordBytesNeverKept() {
        let bytes = [UInt8(ascii: "p"), 0, 0, 0, 2] + Array("secret".utf8)
        let error = decodingError(bytes)
        XCTAssertEqual(error?.bytes, Array(bytes.prefix(5)))
    }
}
