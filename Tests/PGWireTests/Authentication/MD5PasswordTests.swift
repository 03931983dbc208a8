@testable import PGWire
import XCTest

final class MD5PasswordTests: XCTestCase {
    /// From a live PostgreSQL 15.18: `SET password_encryption = 'md5'; CREATE ROLE golden_md5
    /// PASSWORD 'pencil-42'; SELECT rolpassword FROM pg_authid WHERE rolname = 'golden_md5';`
    func testStoredHashMatchesPostgreSQL() {
        XCTAssertEqual(MD5Password.storedHash(password: "pencil-42", user: "golden_md5"), "md54511c43d945df0cff8d886e9026960a0")
        XCTAssertTrue(MD5Password.isStoredHash("md54511c43d945df0cff8d886e9026960a0"))
        XCTAssertFalse(MD5Password.isStoredHash("md54511C43D945DF0CFF8D886E9026960A0"))
        XCTAssertFalse(MD5Password.isStoredHash("md54511c43d945df0cff8d886e9026960a"))
        XCTAssertFalse(MD5Password.isStoredHash("md5-secret"))
    }

    /// What libpq sends: "md5" + md5hex(md5hex(password + user) + salt); computed with
    /// Python's hashlib for salt 01 02 03 04.
    func testChallengeResponse() {
        let response = MD5Password.expectedResponse(storedHash: "md54511c43d945df0cff8d886e9026960a0", salt: [1, 2, 3, 4])
        XCTAssertEqual(String(decoding: response, as: UTF8.self), "md5" + Self.pythonResponse)
        XCTAssertEqual(MD5Password.randomSalt().count, 4)
    }

    static let pythonResponse = "25d97abcef58671e655fcdd0c011182e"
}
