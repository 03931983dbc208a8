import Logging
import XCTest

@testable import Proxy

/// Sessions check for a reload on every message with one atomic load (`isReplaced`), and
/// follow the chain of successors only when it says so.
final class ProxyContextTests: XCTestCase {
    private func context(previous: ProxyContext? = nil) throws -> ProxyContext {
        let config = try ProxyConfig.parse(yaml: "auth: trust\nshards: [{ name: s0, primary: a }]")
        return ProxyContext(config: config, serverParameters: [], logger: Logger(label: "test"), previous: previous)
    }

    func testAContextIsLatestUntilAReloadReplacesIt() throws {
        let first = try context()
        XCTAssertFalse(first.isReplaced)
        XCTAssertTrue(first.latest === first)

        let second = try context(previous: first)
        first.replace(with: second)
        XCTAssertTrue(first.isReplaced)
        XCTAssertFalse(second.isReplaced)
        XCTAssertTrue(first.latest === second)
        XCTAssertEqual(second.generation, first.generation + 1)

        // Two reloads before a session looks: it moves to the newest.
        let third = try context(previous: second)
        second.replace(with: third)
        XCTAssertTrue(first.latest === third)
        XCTAssertTrue(second.isReplaced)
        XCTAssertFalse(third.isReplaced)
    }
}
