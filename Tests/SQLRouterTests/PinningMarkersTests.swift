@testable import SQLRouter
import XCTest

final class PinningMarkersTests: XCTestCase {
    func testMarkersAreFoundInAnyCase() {
        for sql in ["LISTEN chan", "select pg_advisory_lock(1)", "CREATE TEMPORARY TABLE t (a int)", "create temp table t (a int)",
                    "DECLARE c CURSOR WITH HOLD FOR SELECT 1", "PREPARE p AS SELECT 1"] {
            XCTAssertTrue(PinningMarkers.mentioned(in: sql), sql)
        }
        // A cursor without hold ends with its transaction, which keeps its connections anyway.
        for sql in ["SELECT * FROM users WHERE id = 1", "SELECT temperature FROM t", "UPDATE t SET prepared = true", "", "BEGIN",
                    "Declare c cursor for select 1"] {
            XCTAssertFalse(PinningMarkers.mentioned(in: sql), sql)
        }
    }
}
