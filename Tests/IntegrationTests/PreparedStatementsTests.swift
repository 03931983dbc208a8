import Backend
import XCTest

/// A shard connection's prepared statements: the statement used last is answered without a
/// lookup, so every way of forgetting a statement must forget it there too.
final class PreparedStatementsTests: XCTestCase {
    func testUseAnswersWhetherTheConnectionHoldsTheStatement() {
        var statements = PreparedStatements()
        XCTAssertFalse(statements.use("pgshard_1"))
        statements.insert("pgshard_1")
        XCTAssertTrue(statements.use("pgshard_1"))
        XCTAssertTrue(statements.use("pgshard_1"))
        XCTAssertFalse(statements.use("pgshard_2"))
        XCTAssertTrue(statements.contains("pgshard_1"))
        XCTAssertEqual(statements.count, 1)
    }

    func testTheUnnamedStatementIsNeverHeld() {
        var statements = PreparedStatements()
        statements.insert("")
        XCTAssertFalse(statements.use(""))
        XCTAssertFalse(statements.contains(""))
        XCTAssertEqual(statements.count, 0)
    }

    func testRemovingTheNewestForgetsIt() {
        var statements = PreparedStatements()
        statements.insert("pgshard_1")
        statements.insert("pgshard_2")
        statements.remove("pgshard_2")
        XCTAssertFalse(statements.use("pgshard_2"))
        XCTAssertFalse(statements.contains("pgshard_2"))
        XCTAssertTrue(statements.use("pgshard_1"))
        statements.remove("pgshard_1")
        XCTAssertFalse(statements.use("pgshard_1"))
        XCTAssertEqual(statements.count, 0)
    }

    func testRemoveAllForgetsTheNewest() {
        var statements = PreparedStatements()
        statements.insert("pgshard_1")
        XCTAssertTrue(statements.use("pgshard_1"))
        statements.removeAll()
        XCTAssertFalse(statements.use("pgshard_1"))
        XCTAssertNil(statements.leastRecentlyUsed)
    }

    func testLeastRecentlyUsedFollowsUses() {
        var statements = PreparedStatements()
        statements.insert("a")
        statements.insert("b")
        statements.insert("c")
        XCTAssertEqual(statements.leastRecentlyUsed, "a")
        XCTAssertTrue(statements.use("a"))
        XCTAssertEqual(statements.leastRecentlyUsed, "b")
        // Using the newest again changes nothing in the order.
        XCTAssertTrue(statements.use("a"))
        XCTAssertTrue(statements.use("a"))
        XCTAssertEqual(statements.leastRecentlyUsed, "b")
        XCTAssertTrue(statements.use("b"))
        XCTAssertEqual(statements.leastRecentlyUsed, "c")
        statements.remove("c")
        XCTAssertEqual(statements.leastRecentlyUsed, "a")
    }
}
