import PGWire
import XCTest

final class BackendMessageEncoderExtendedQueryTests: XCTestCase {
    func testExtendedQueryAnswers() throws {
        var encoder = BackendMessageEncoder()
        encoder.parseComplete()
        encoder.parameterDescription([23, 25, 3_000_000_000])
        encoder.noData()
        encoder.bindComplete()
        encoder.portalSuspended()
        encoder.closeComplete()
        encoder.parameterDescription([])
        XCTAssertEqual(try encoder.decodedMessages(), [
            .parseComplete, .parameterDescription([23, 25, 3_000_000_000]), .noData, .bindComplete,
            .portalSuspended, .closeComplete, .parameterDescription([]),
        ])
    }
}
