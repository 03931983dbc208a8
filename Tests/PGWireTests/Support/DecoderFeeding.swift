import PGWire
import XCTest

/// One of each message a client can send after startup, with awkward values where they matter.
let everyTypedMessage: [FrontendMessage] = [
    .query("SELECT 1; SELECT 'é'"),
    .query(""),
    .password(Array("SCRAM-SHA-256\0".utf8) + [0, 0, 0, 3, 1, 2, 3]),
    .parse(Parse(name: "s1", query: "SELECT $1::int, $2", parameterTypeOIDs: [23, 0])),
    .parse(Parse(name: "", query: "SELECT 1", parameterTypeOIDs: [])),
    .bind(Bind(portal: "p1", statement: "s1", parameterFormats: [0, 1], parameters: [Array("42".utf8), nil], resultFormats: [1])),
    .bind(Bind(portal: "", statement: "", parameterFormats: [], parameters: [[]], resultFormats: [])),
    .describe(Describe(kind: .statement, name: "s1")),
    .describe(Describe(kind: .portal, name: "")),
    .execute(Execute(portal: "p1", maxRows: 100)),
    .execute(Execute(portal: "", maxRows: 0)),
    .close(Close(kind: .statement, name: "s1")),
    .close(Close(kind: .portal, name: "p1")),
    .sync,
    .flush,
    .copyData(Array("1\tone\n".utf8)),
    .copyData([]),
    .copyDone,
    .copyFail("aborted by user"),
    .functionCall([0, 0, 4, 0, 0, 1]),
    .terminate,
]

let sampleStartup = StartupMessage(parameters: [
    ("user", "app"), ("database", "shop"), ("application_name", "psql"), ("client_encoding", "UTF8"),
])

/// Appends all bytes at once and decodes every message in them.
func decodeWhole(_ bytes: [UInt8], into decoder: inout FrontendMessageDecoder) throws -> [FrontendMessage] {
    decoder.append(bytes)
    var messages: [FrontendMessage] = []
    while let message = try decoder.next() {
        messages.append(message)
    }
    return messages
}

/// Appends one byte at a time. Until a message is complete `next()` must return nil and
/// consume nothing, so the buffered count grows by one per byte.
func decodeByteByByte(
    _ bytes: [UInt8],
    into decoder: inout FrontendMessageDecoder,
    file: StaticString = #filePath,
    line: UInt = #line
) throws -> [FrontendMessage] {
    var messages: [FrontendMessage] = []
    var pending = decoder.bufferedByteCount
    for byte in bytes {
        decoder.append([byte])
        pending += 1
        XCTAssertEqual(decoder.bufferedByteCount, pending, "bytes consumed without a message", file: file, line: line)
        while let message = try decoder.next() {
            messages.append(message)
            pending = decoder.bufferedByteCount
        }
        XCTAssertEqual(decoder.bufferedByteCount, pending, "nil result consumed bytes", file: file, line: line)
    }
    return messages
}

/// The error `next()` throws for `bytes` after a finished startup phase.
func decodingError(
    _ bytes: [UInt8],
    maxMessageSize: Int = 64 << 20,
    expectsStartupPacket: Bool = false,
    file: StaticString = #filePath,
    line: UInt = #line
) -> FrontendDecodingError? {
    var decoder = FrontendMessageDecoder(maxMessageSize: maxMessageSize, expectsStartupPacket: expectsStartupPacket)
    decoder.append(bytes)
    do {
        let message = try decoder.next()
        XCTFail("expected an error, got \(String(describing: message))", file: file, line: line)
        return nil
    } catch {
        return error
    }
}
