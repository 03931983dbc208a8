import PGWire
import XCTest

final class BindTests: XCTestCase {
    func testNullAndEmptyParametersDiffer() throws {
        let bind = Bind(portal: "", statement: "s", parameterFormats: [1], parameters: [nil, [], [0, 0, 0, 1]], resultFormats: [0, 1])
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        XCTAssertEqual(try decodeWhole(TestFrontendEncoder.encode(.bind(bind)), into: &decoder), [.bind(bind)])
    }

    func testExactBytes() throws {
        let body = ByteWriter.body {
            $0.cString("p")
            $0.cString("s")
            $0.uint16(1); $0.int16(1)
            $0.uint16(2); $0.int32(-1); $0.int32(2); $0.raw([0xAB, 0xCD])
            $0.uint16(0)
        }
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        XCTAssertEqual(
            try decodeWhole(ByteWriter.typed("B", body), into: &decoder),
            [.bind(Bind(portal: "p", statement: "s", parameterFormats: [1], parameters: [nil, [0xAB, 0xCD]], resultFormats: []))]
        )
    }

    func testNegativeLengthOtherThanMinusOneIsMalformed() {
        let body = ByteWriter.body { $0.cString(""); $0.cString(""); $0.uint16(0); $0.uint16(1); $0.int32(-2); $0.uint16(0) }
        guard case .malformed = decodingError(ByteWriter.typed("B", body))?.kind else { return XCTFail() }
    }

    func testValueLongerThanBodyIsMalformed() {
        let body = ByteWriter.body { $0.cString(""); $0.cString(""); $0.uint16(0); $0.uint16(1); $0.int32(100); $0.raw([1, 2]); $0.uint16(0) }
        guard case .malformed = decodingError(ByteWriter.typed("B", body))?.kind else { return XCTFail() }
    }

    func testMissingResultFormatCountIsMalformed() {
        let body = ByteWriter.body { $0.cString(""); $0.cString(""); $0.uint16(0); $0.uint16(0) }
        guard case .malformed = decodingError(ByteWriter.typed("B", body))?.kind else { return XCTFail() }
    }

    func testParameterFormatRule() {
        var bind = Bind(portal: "", statement: "", parameters: [[1], [2], [3]])
        XCTAssertEqual(bind.parameterFormat(at: 2), 0)
        bind.parameterFormats = [1]
        XCTAssertEqual(bind.parameterFormat(at: 2), 1)
        bind.parameterFormats = [0, 1, 0]
        XCTAssertEqual(bind.parameterFormat(at: 1), 1)
        bind.parameterFormats = [0, 1]
        XCTAssertNil(bind.parameterFormat(at: 1))
    }

    func testDecodedBindReadsItsPayloadInPlace() throws {
        let bind = Bind(portal: "p", statement: "s", parameterFormats: [0, 1], parameters: [Array("42".utf8), nil], resultFormats: [1])
        var decoder = FrontendMessageDecoder(expectsStartupPacket: false)
        guard case .bind(let decoded)? = try decodeWhole(TestFrontendEncoder.encode(.bind(bind)), into: &decoder).first else {
            return XCTFail("not a Bind")
        }
        XCTAssertEqual(decoded.payload, bind.payload)
        XCTAssertEqual(decoded.parameterFormatCount, 2)
        XCTAssertEqual(decoded.parameterCount, 2)
        XCTAssertEqual(decoded.resultFormatCount, 1)
        XCTAssertEqual(decoded.parameterFormatCode(1), 1)
        XCTAssertEqual(decoded.resultFormatCode(0), 1)
        XCTAssertEqual(decoded.parameters, [Array("42".utf8), nil])
        XCTAssertEqual(decoded.resultFormats, [1])
    }

    func testChangingOneListKeepsTheOthers() {
        var bind = Bind(portal: "", statement: "s", parameterFormats: [1], parameters: [[1, 2], nil], resultFormats: [0, 1])
        bind.resultFormats = []
        XCTAssertEqual(bind, Bind(portal: "", statement: "s", parameterFormats: [1], parameters: [[1, 2], nil]))
        bind.parameters += [[3]]
        XCTAssertEqual(bind.parameters, [[1, 2], nil, [3]])
        XCTAssertEqual(bind.parameterFormats, [1])
    }
}
