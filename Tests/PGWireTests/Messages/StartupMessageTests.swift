import PGWire
import XCTest

final class StartupMessageTests: XCTestCase {
    func testUserAndDatabase() {
        XCTAssertEqual(sampleStartup.user, "app")
        XCTAssertEqual(sampleStartup.database, "shop")
        let noDatabase = StartupMessage(parameters: [("user", "app")])
        XCTAssertNil(noDatabase.database)
        XCTAssertNil(StartupMessage(parameters: []).user)
    }

    func testLastRepeatedParameterWins() {
        let startup = StartupMessage(parameters: [("user", "a"), ("user", "b")])
        XCTAssertEqual(startup.user, "b")
        XCTAssertEqual(startup.parameter("user"), "b")
    }

    func testEqualityKeepsOrder() {
        let a = StartupMessage(parameters: [("user", "a"), ("database", "d")])
        let b = StartupMessage(parameters: [("database", "d"), ("user", "a")])
        XCTAssertEqual(a, a)
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(a, StartupMessage(protocolMinor: 2, parameters: a.parameters))
    }

    func testProtocolOptionsAreKeptInParameters() throws {
        let startup = StartupMessage(parameters: [("user", "a"), ("_pq_.a", "1"), ("options", "-c x=y"), ("_pq_.b", "2")])
        var decoder = FrontendMessageDecoder()
        let decoded = try decodeWhole(TestFrontendEncoder.encode(.startup(startup)), into: &decoder)
        XCTAssertEqual(decoded, [.startup(startup)])
        XCTAssertEqual(startup.protocolOptions, ["_pq_.a", "_pq_.b"])
    }
}
