@testable import Proxy
import XCTest

/// Which replayed statements make a shard connection forget its prepared statements.
final class PreludeStatementTests: XCTestCase {
    func testDiscardAndDeallocateInAnyCaseDropPreparedStatements() {
        for sql in ["DISCARD ALL", "discard plans", "DeAllocate ALL", "SET x = 1;\nDEALLOCATE p1", "select 1; Discard all"] {
            XCTAssertTrue(ClientSession.dropsPreparedStatements(sql), sql)
        }
    }

    func testOtherStatementsKeepThem() {
        for sql in ["BEGIN", "", "SET search_path = app", "RESET ALL", "DISCAR", "DEALLOCAT x", "SET application_name = 'DISC ARD'"] {
            XCTAssertFalse(ClientSession.dropsPreparedStatements(sql), sql)
        }
    }
}
