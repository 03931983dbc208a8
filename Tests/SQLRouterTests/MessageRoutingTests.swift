import XCTest

@testable import SQLRouter

/// Whole Query messages: statement splitting, offsets, empty queries, syntax errors.
final class MessageRoutingTests: XCTestCase {
    private func statements(_ sql: String, file: StaticString = #filePath, line: UInt = #line) -> [RoutedStatement] {
        guard case .statements(let statements) = Fixture.router.route(sql) else {
            XCTFail("expected statements for: \(sql)", file: file, line: line)
            return []
        }
        return statements
    }

    func testMultiStatementMessage() {
        let sql = "SELECT 1; SELECT * FROM users WHERE id = 5;\n  UPDATE users SET name = 'x' WHERE id = 5"
        let routed = statements(sql)
        XCTAssertEqual(routed.map(\.sql), [
            "SELECT 1",
            "SELECT * FROM users WHERE id = 5",
            "UPDATE users SET name = 'x' WHERE id = 5",
        ])
        XCTAssertEqual(routed.map(\.characterOffset), [0, 10, 46])
        XCTAssertEqual(routed.map(\.route), [.anyShard, .shard(Fixture.shard(5)), .shard(Fixture.shard(5))])
        for statement in routed {
            let start = sql.unicodeScalars.index(sql.unicodeScalars.startIndex, offsetBy: statement.characterOffset)
            XCTAssertTrue(String(sql.unicodeScalars[start...]).hasPrefix(statement.sql))
        }
    }

    func testSurroundingWhitespaceAndSemicolons() {
        let routed = statements("  SELECT 1  ;;  SELECT 2  ;  ")
        XCTAssertEqual(routed.map(\.sql), ["SELECT 1", "SELECT 2"])
        XCTAssertEqual(routed.map(\.characterOffset), [2, 16])
        let commented = statements("-- leading comment\nSELECT 1; SELECT 2 -- trailing")
        XCTAssertEqual(commented.map(\.sql), ["-- leading comment\nSELECT 1", "SELECT 2 -- trailing"])
    }

    /// Offsets count characters as PostgreSQL does (Unicode scalars), not bytes or graphemes.
    func testCharacterOffsetsAfterMultiByteCharacters() {
        let sql = "SELECT 'h\u{E9}llo \u{1F600} e\u{301}'; SELECT * FROM accounts WHERE name = '\u{1F600}'"
        let routed = statements(sql)
        XCTAssertEqual(routed.count, 2)
        let prefix = "SELECT 'h\u{E9}llo \u{1F600} e\u{301}'; "
        XCTAssertEqual(routed[1].characterOffset, prefix.unicodeScalars.count)
        XCTAssertEqual(routed[1].characterOffset, 21)
        XCTAssertNotEqual(prefix.utf8.count, 21)
        XCTAssertEqual(routed[1].sql, "SELECT * FROM accounts WHERE name = '\u{1F600}'")
        XCTAssertEqual(routed[1].route, .shard(Fixture.shard(text: "\u{1F600}")))
    }

    func testEmptyQueries() {
        for sql in ["", "   ", "\n\t", ";", " ; ; ", "-- only a comment", "/* block */"] {
            XCTAssertEqual(Fixture.router.route(sql), .statements([]), "for: \(sql.debugDescription)")
        }
    }

    func testSyntaxErrorFailsTheWholeMessage() {
        XCTAssertEqual(
            Fixture.router.route("SELECT 1; SELEC 2"),
            .failure(RoutingError(sqlState: "42601", message: "syntax error at or near \"SELEC\"", position: 11)))
        // The position counts characters of the whole message.
        guard case .failure(let error) = Fixture.router.route("SELECT '\u{E9}\u{1F600}'; SELECT 1 +;") else { return XCTFail() }
        XCTAssertEqual(error.sqlState, "42601")
        XCTAssertEqual(error.position, 24)
        guard case .failure(let unterminated) = Fixture.router.route("SELECT 'abc") else { return XCTFail() }
        XCTAssertEqual(unterminated.message, "unterminated quoted string at or near \"'abc\"")
        XCTAssertEqual(unterminated.position, 8)
    }

    func testNULCharacterIsRefused() {
        guard case .failure(let error) = Fixture.router.route("SELECT 1\u{0}; DROP TABLE users") else { return XCTFail() }
        XCTAssertEqual(error.sqlState, "42601")
    }

    func testRefusalDoesNotFailOtherStatements() {
        let routed = statements("SELECT * FROM countries; SELECT string_agg(name, ',') FROM users; SELECT 1")
        XCTAssertEqual(routed.count, 3)
        XCTAssertEqual(routed[0].route, .anyShard)
        guard case .refuse = routed[1].route else { return XCTFail() }
        XCTAssertEqual(routed[2].route, .anyShard)
    }

    /// Many threads route at once through the shared parser threads.
    func testConcurrentRouting() {
        let keys: [Int64] = Array(1...200)
        let results = ShardResults(count: keys.count)
        DispatchQueue.concurrentPerform(iterations: keys.count) { index in
            let route = Fixture.route("SELECT * FROM users WHERE id = \(keys[index])")
            if case .shard(let shard)? = route { results.set(index, shard) }
        }
        XCTAssertEqual(results.values, keys.map { Fixture.shard($0) })
    }
}

/// Results written from many threads.
private final class ShardResults: @unchecked Sendable {
    // Invariant: `storage` is touched only while `lock` is held.
    private let lock = NSLock()
    private var storage: [Int]

    init(count: Int) { storage = Array(repeating: -1, count: count) }

    func set(_ index: Int, _ value: Int) {
        lock.lock()
        storage[index] = value
        lock.unlock()
    }

    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
