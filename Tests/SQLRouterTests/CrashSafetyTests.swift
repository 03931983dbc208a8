import XCTest

@testable import SQLRouter

/// Hostile statements fail with an error, never by crashing the process (DESIGN §4). These
/// tests never assert a duration.
final class CrashSafetyTests: XCTestCase {
    private func failure(_ outcome: RoutingOutcome, file: StaticString = #filePath, line: UInt = #line) -> RoutingError? {
        guard case .failure(let error) = outcome else {
            XCTFail("expected a failure, got \(String(describing: outcome).prefix(200))", file: file, line: line)
            return nil
        }
        return error
    }

    func testStatementLargerThanTheLimitIsRefusedBeforeParsing() {
        let sql = "SELECT '" + String(repeating: "x", count: 1 << 20) + "'"
        XCTAssertEqual(failure(Fixture.router.route(sql))?.sqlState, "54001")
        let small = Router(schema: Fixture.schema, limits: RouterLimits(maxStatementBytes: 100))
        XCTAssertEqual(failure(small.route("SELECT " + String(repeating: "1,", count: 60) + "1"))?.sqlState, "54001")
        XCTAssertEqual(small.route("SELECT 1"), .statements([RoutedStatement(sql: "SELECT 1", characterOffset: 0, route: .anyShard)]))
    }

    /// libpg_query needs about 70 MiB of stack for this one; the parser threads have 256 MiB.
    func testOneMebibyteOfAdditions() {
        let body = "SELECT 1"
        let sql = body + String(repeating: "+1", count: ((1 << 20) - body.utf8.count) / 2)
        XCTAssertLessThanOrEqual(sql.utf8.count, 1 << 20)
        let error = failure(Fixture.router.route(sql))
        XCTAssertEqual(error?.sqlState, "54001")
        XCTAssertEqual(error?.message, "statement is too deeply nested")
    }

    func testHundredThousandParentheses() {
        let sql = "SELECT " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        // PostgreSQL's grammar stack gives up first ("memory exhausted", 42601), as in the server.
        XCTAssertNotNil(failure(Fixture.router.route(sql)))
    }

    func testOtherDeepShapes() {
        let shapes = [
            "SELECT " + String(repeating: "NOT ", count: 200_000) + "true",
            "SELECT " + String(repeating: "ARRAY[", count: 100_000) + "1" + String(repeating: "]", count: 100_000),
            "SELECT " + String(repeating: "(SELECT ", count: 100_000) + "1" + String(repeating: ")", count: 100_000),
            "SELECT 1" + String(repeating: "::int", count: 200_000),
            "SELECT a" + String(repeating: " OR a", count: 200_000),
            "SELECT x" + String(repeating: "||x", count: 300_000),
            "SELECT 1" + String(repeating: " UNION SELECT 1", count: 60_000),
        ]
        for sql in shapes {
            let outcome = Fixture.router.route(sql)
            if case .statements(let statements) = outcome {
                XCTAssertEqual(statements.count, 1)
            }
        }
    }

    func testNestingWithinTheLimitIsRouted() {
        let sql = "SELECT * FROM users WHERE id = 5 AND score = 1" + String(repeating: "+1", count: 9_000)
        XCTAssertEqual(Fixture.route(sql), .shard(Fixture.shard(5)))
    }

    func testNestingLimitIsConfigurable() {
        let shallow = Router(schema: Fixture.schema, limits: RouterLimits(maxNestingDepth: 40))
        let sql = "SELECT * FROM users WHERE id = 5 AND score = 1" + String(repeating: "+1", count: 30)
        XCTAssertEqual(failure(shallow.route(sql))?.sqlState, "54001")
        XCTAssertEqual(Fixture.route(sql), .shard(Fixture.shard(5)))
    }

    func testLimitsAreClamped() {
        let router = Router(schema: Fixture.schema, limits: RouterLimits(maxStatementBytes: 1 << 40, maxNestingDepth: 0))
        XCTAssertEqual(router.limits.maxStatementBytes, RouterLimits.maxStatementBytesCeiling)
        XCTAssertEqual(router.limits.maxNestingDepth, 1)
    }
}
