@testable import Proxy
import XCTest

/// The session's cursors through chains of transaction events, as PostgreSQL ends them.
final class SQLCursorsTests: XCTestCase {
    private func cursor(_ name: String, hold: Bool = false, depth: Int = 0) -> SQLCursor {
        SQLCursor(name: name, shards: [1, 3], withHold: hold, savepointDepth: depth)
    }

    func testCommitKeepsOnlyHoldCursors() {
        var cursors = SQLCursors()
        cursors.declared(cursor("plain"))
        cursors.declared(cursor("held", hold: true))
        XCTAssertEqual(cursors.names, ["held", "plain"])
        cursors.transactionCommitted()
        XCTAssertEqual(cursors.names, ["held"])
        XCTAssertEqual(cursors["held"]?.uncommitted, false)
        // A later transaction that rolls back keeps a hold cursor committed before it.
        cursors.declared(cursor("later", hold: true))
        cursors.transactionRolledBack()
        XCTAssertEqual(cursors.names, ["held"])
    }

    func testRollbackEndsWhatTheTransactionDeclared() {
        var cursors = SQLCursors()
        cursors.declared(cursor("plain"))
        cursors.declared(cursor("held", hold: true))
        cursors.transactionRolledBack()
        XCTAssertTrue(cursors.isEmpty)
    }

    func testRollbackToSavepointClosesCursorsDeclaredAfterIt() {
        var cursors = SQLCursors()
        cursors.declared(cursor("before"))                  // no savepoint yet
        cursors.declared(cursor("inside", depth: 1))        // after savepoint 0
        cursors.declared(cursor("deeper", hold: true, depth: 2))  // after savepoint 1
        cursors.rolledBack(toSavepoint: 1)
        XCTAssertEqual(cursors.names, ["before", "inside"])
        cursors.rolledBack(toSavepoint: 0)
        XCTAssertEqual(cursors.names, ["before"])
    }

    func testReleaseHandsCursorsToTheEnclosingLevel() {
        var cursors = SQLCursors()
        cursors.declared(cursor("inside", depth: 1))  // after savepoint 0
        cursors.released(savepoint: 0)
        // A new savepoint at position 0 came after the cursor: rolling back to it keeps it.
        cursors.rolledBack(toSavepoint: 0)
        XCTAssertEqual(cursors.names, ["inside"])
    }

    func testCloseAndPosition() {
        var cursors = SQLCursors()
        cursors.declared(cursor("c"))
        cursors["c"]?.current = 1
        XCTAssertEqual(cursors["c"]?.current, 1)
        XCTAssertTrue(cursors["c"]?.spansShards == true)
        XCTAssertEqual(cursors.close("c")?.name, "c")
        XCTAssertNil(cursors.close("c"))
        cursors.declared(cursor("a"))
        cursors.declared(cursor("b"))
        cursors.closeAll()
        XCTAssertTrue(cursors.isEmpty)
    }
}
