import Logging
@testable import Proxy
import XCTest

final class LineLogHandlerTests: XCTestCase {
    private final class Lines: @unchecked Sendable {
        var lines: [String] = []
    }

    private func line(_ format: ProxyConfig.LogFormat) -> String {
        let collected = Lines()
        var logger = Logger(label: "pgshard") { label in LineLogHandler(label: label, format: format) { collected.lines.append($0) } }
        logger[metadataKey: "client.user"] = "app"
        logger.info("statement routed", metadata: ["decision": "runs on shard s1; users.id (hash): id = 42 → s1", "n": "3"])
        return collected.lines.first ?? ""
    }

    func testLogfmtAndJSONLines() throws {
        let logfmt = line(.logfmt)
        XCTAssertTrue(logfmt.hasPrefix("ts="), logfmt)
        XCTAssertTrue(logfmt.contains(" level=info msg=\"statement routed\" logger=pgshard client.user=app decision=\"runs on shard s1; users.id (hash): id = 42 → s1\" n=3"), logfmt)
        let json = line(.json)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String], json)
        XCTAssertEqual(object["msg"], "statement routed")
        XCTAssertEqual(object["level"], "info")
        XCTAssertEqual(object["client.user"], "app")
        XCTAssertEqual(object["decision"], "runs on shard s1; users.id (hash): id = 42 → s1")
        XCTAssertEqual(LineLogHandler.jsonString("a\"b\\\n\u{1}"), "\"a\\\"b\\\\\\n\\u0001\"")
    }
}
