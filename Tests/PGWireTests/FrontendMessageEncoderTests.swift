import PGWire
import XCTest

/// The encoder pgshard writes to shards with, checked against the decoder (round trips) and
/// against the test encoder's bytes.
final class FrontendMessageEncoderTests: XCTestCase {
    private let bind = Bind(portal: "", statement: "", parameterFormats: [1], parameters: [[0, 0, 0, 42], nil, []], resultFormats: [0, 1])

    /// Every message the encoder writes, with what the decoder makes of it.
    private var cases: [(write: (inout FrontendMessageEncoder) -> Void, message: FrontendMessage)] {
        [
            ({ $0.query("SELECT 1") }, .query("SELECT 1")),
            ({ $0.parse(statement: "pgshard_1", sql: "SELECT $1, $2", parameterTypes: [23, 25]) },
             .parse(Parse(name: "pgshard_1", query: "SELECT $1, $2", parameterTypeOIDs: [23, 25]))),
            ({ $0.parse(statement: "", sql: "SELECT 2", parameterTypes: []) }, .parse(Parse(name: "", query: "SELECT 2"))),
            ({ [bind] in $0.bind(bind, portal: "", statement: "") }, .bind(bind)),
            ({ [bind] in $0.bind(bind, portal: "p1", statement: "pgshard_7") },
             .bind(Bind(portal: "p1", statement: "pgshard_7", parameterFormats: [1], parameters: [[0, 0, 0, 42], nil, []], resultFormats: [0, 1]))),
            ({ $0.describe(.portal, name: "") }, .describe(Describe(kind: .portal, name: ""))),
            ({ $0.describe(.statement, name: "pgshard_2") }, .describe(Describe(kind: .statement, name: "pgshard_2"))),
            ({ $0.execute(portal: "", maxRows: 0) }, .execute(Execute(portal: "", maxRows: 0))),
            ({ $0.execute(portal: "c", maxRows: 100) }, .execute(Execute(portal: "c", maxRows: 100))),
            ({ $0.close(.statement, name: "pgshard_3") }, .close(Close(kind: .statement, name: "pgshard_3"))),
            ({ $0.close(.portal, name: "") }, .close(Close(kind: .portal, name: ""))),
            ({ $0.sync() }, .sync),
            ({ $0.flush() }, .flush),
            ({ $0.terminate() }, .terminate),
            ({ $0.copyData([1, 2, 3]) }, .copyData([1, 2, 3])),
            ({ encoder in [UInt8]([4, 5]).withUnsafeBytes { encoder.copyData($0) } }, .copyData([4, 5])),
            ({ $0.copyDone() }, .copyDone),
            ({ $0.copyFail("stopped") }, .copyFail("stopped")),
        ]
    }

    func testEveryMessageRoundTrips() throws {
        for (write, message) in cases {
            var encoder = FrontendMessageEncoder()
            write(&encoder)
            XCTAssertEqual(encoder.bytes, TestFrontendEncoder.encode(message), "\(message)")
            var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
            XCTAssertEqual(try decodeWhole(encoder.bytes, into: &decoder), [message])
        }
    }

    func testMessagesFollowOneAnother() throws {
        var encoder = FrontendMessageEncoder()
        for (write, _) in cases { write(&encoder) }
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        XCTAssertEqual(try decodeWhole(encoder.bytes, into: &decoder), cases.map(\.message))
        XCTAssertEqual(encoder.count, cases.map { TestFrontendEncoder.encode($0.message).count }.reduce(0, +))
    }

    func testCountsQueriesAndSyncs() {
        var encoder = FrontendMessageEncoder()
        for (write, _) in cases { write(&encoder) }
        // One Query and one Sync among them: each is answered with one ReadyForQuery.
        XCTAssertEqual(encoder.readyForQueryCount, 2)
        encoder.consume(encoder.count)
        encoder.sync()
        encoder.query("SELECT 3")
        XCTAssertEqual(encoder.readyForQueryCount, 4)
    }

    func testConsumeKeepsTheRest() throws {
        var encoder = FrontendMessageEncoder()
        encoder.sync()
        encoder.query("SELECT 1")
        encoder.consume(3)
        XCTAssertEqual(encoder.count, 2 + TestFrontendEncoder.encode(.query("SELECT 1")).count)
        encoder.consume(2)
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        XCTAssertEqual(try decodeWhole(encoder.bytes, into: &decoder), [.query("SELECT 1")])
        encoder.consume(encoder.count)
        XCTAssertTrue(encoder.isEmpty)
    }

    func testGrowsPastItsFirstBuffer() throws {
        var encoder = FrontendMessageEncoder()
        let row = [UInt8](repeating: 7, count: 3000)
        for _ in 0..<5 { encoder.copyData(row) }
        encoder.query(String(repeating: "x", count: 10_000))
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        XCTAssertEqual(try decodeWhole(encoder.bytes, into: &decoder),
                       Array(repeating: .copyData(row), count: 5) + [.query(String(repeating: "x", count: 10_000))])
    }

    func testNameEndsAtANUL() throws {
        // A NUL would end the string on the server and shift every later field.
        var encoder = FrontendMessageEncoder()
        encoder.execute(portal: "a\u{0}b", maxRows: 5)
        encoder.query("SELECT 1\u{0}; DROP TABLE t")
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        XCTAssertEqual(try decodeWhole(encoder.bytes, into: &decoder), [.execute(Execute(portal: "a", maxRows: 5)), .query("SELECT 1")])
    }
}
