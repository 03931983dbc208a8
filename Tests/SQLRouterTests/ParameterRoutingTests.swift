import Sharding
import XCTest

@testable import SQLRouter

/// Extended-protocol statements: routed once at Parse, then with each Bind's values.
final class ParameterRoutingTests: XCTestCase {
    private func text(_ values: String?...) -> BoundParameters {
        BoundParameters(values: values.map { $0.map { Array($0.utf8) } }, formats: values.map { _ in 0 }, types: [])
    }

    private func bound(_ sql: String, _ parameters: BoundParameters, file: StaticString = #filePath, line: UInt = #line) -> Route? {
        let (outcome, parameterized) = Fixture.router.prepare(sql)
        guard case .statements(let statements) = outcome, statements.count == 1 else {
            XCTFail("not routed: \(outcome)", file: file, line: line)
            return nil
        }
        guard let parameterized else { return statements[0].route }
        XCTAssertTrue(statements[0].dependsOnParameters, file: file, line: line)
        return Fixture.router.route(parameterized, parameters: parameters)
    }

    func testKeyParameterInTextAndBinary() {
        let k: Int64 = 4242
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1", text("4242")), .shard(Fixture.shard(k)))
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1::bigint", text("4242")), .shard(Fixture.shard(k)))
        XCTAssertEqual(bound("SELECT * FROM users WHERE $1 = id AND name = $2", text("4242", "x")), .shard(Fixture.shard(k)))
        let int8 = BoundParameters(values: [withUnsafeBytes(of: k.bigEndian, Array.init)], formats: [1], types: [20])
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1", int8), .shard(Fixture.shard(k)))
        let int4 = BoundParameters(values: [withUnsafeBytes(of: Int32(k).bigEndian, Array.init)], formats: [1], types: [23])
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1", int4), .shard(Fixture.shard(k)))
        // Undeclared type in binary: the key's type, as PostgreSQL infers it.
        let undeclared = BoundParameters(values: [withUnsafeBytes(of: k.bigEndian, Array.init)], formats: [1], types: [])
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1", undeclared), .shard(Fixture.shard(k)))
        XCTAssertEqual(bound("INSERT INTO users (id, name) VALUES ($1, $2)", text("4242", "n")), .shard(Fixture.shard(k)))
        XCTAssertEqual(bound("UPDATE users SET name = $2 WHERE id = $1", text("4242", "n")), .shard(Fixture.shard(k)))
    }

    /// A Bind's bytes as they came: one format code for every value, read in place.
    func testBindPayloadWithOneFormatForAll() {
        let k: Int64 = 4242
        // Format count 1 (binary), two values (a bigint and NULL), no result formats.
        var payload: [UInt8] = [0, 1, 0, 1, 0, 2, 0, 0, 0, 8]
        payload += withUnsafeBytes(of: k.bigEndian, Array.init)
        payload += [0xFF, 0xFF, 0xFF, 0xFF, 0, 0]
        let parameters = BoundParameters(bindPayload: payload, valuesOffset: 4, types: [20])
        XCTAssertEqual(parameters.count, 2)
        XCTAssertEqual(parameters.formats, [1, 1])
        XCTAssertEqual(parameters.values, [withUnsafeBytes(of: k.bigEndian, Array.init), nil])
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1 AND name = $2", parameters), .shard(Fixture.shard(k)))
    }

    /// `key = ANY($1)` with an array: text (`{1,2}`) or binary (PostgreSQL's array format).
    func testArrayParameters() {
        let a: Int64 = 1, other = Fixture.key(awayFrom: 1)
        let pair = [Fixture.shard(a), Fixture.shard(other)].sorted()
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = ANY($1)", text("{\(a),\(other)}")), .scatter(pair, .read))
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = ANY($1::bigint[])", text("{\(a)}")), .shard(Fixture.shard(a)))
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = ANY($1)", text("{ \"\(a)\" , NULL }")), .shard(Fixture.shard(a)))
        func int4Array(_ values: [Int32?]) -> [UInt8] {
            var bytes: [UInt8] = []
            func put(_ value: Int32) { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
            put(1); put(values.contains(nil) ? 1 : 0); put(23); put(Int32(values.count)); put(1)
            for value in values {
                if let value { put(4); put(value) } else { put(-1) }
            }
            return bytes
        }
        let binary = BoundParameters(values: [int4Array([Int32(a), Int32(other), nil])], formats: [1], types: [1007])
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = ANY($1)", binary), .scatter(pair, .read))
        // Unreadable arrays: every shard.
        let all = Array(0..<Fixture.shardCount)
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = ANY($1)", text("{1,x}")), .scatter(all, .read))
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = ANY($1)", text("[1:1]={1}")), .scatter(all, .read))
        let truncated = BoundParameters(values: [Array(int4Array([1, 2]).dropLast())], formats: [1], types: [1007])
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = ANY($1)", truncated), .scatter(all, .read))
    }

    func testUnusableValuesDoNotGuess() {
        // A binary value of the wrong size, a text that is not a number: not a key constant.
        let wrongSize = BoundParameters(values: [[1, 2, 3]], formats: [1], types: [20])
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1", wrongSize), .scatter(Array(0..<Fixture.shardCount), .read))
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1", text("forty")), .scatter(Array(0..<Fixture.shardCount), .read))
        // `id = NULL` matches no row: any one shard answers (no rows), as for a literal NULL.
        XCTAssertEqual(bound("SELECT * FROM users WHERE id = $1", text(nil)), .shard(0))
        // A write whose key parameter is unusable is refused, never broadcast.
        if case .refuse = bound("INSERT INTO users (id, name) VALUES ($1, 'n')", text("forty")) {} else {
            XCTFail("an INSERT with an unusable key must be refused")
        }
    }

    func testStatementsThatDoNotDependOnParameters() {
        let (_, parameterized) = Fixture.router.prepare("SELECT * FROM users WHERE id = 7 AND name = $1")
        XCTAssertNil(parameterized)
        let (_, none) = Fixture.router.prepare("SELECT $1::int + 1")
        XCTAssertNil(none)
    }

    /// A Bind of `key = $n` on a one-table plan is answered from the bound value alone
    /// (``FastRoute/route(bound:)``): the same route as the resolver's way and the analysis'.
    func testBoundValueRouteMatchesTheLongerWays() throws {
        let k: Int64 = 4242
        let values: [BoundParameters] = [
            text("4242"), text("-7"), text("forty"), text(nil), text("99999999999999999999"), text(" 12 "),
            BoundParameters(values: [withUnsafeBytes(of: k.bigEndian, Array.init)], formats: [1], types: [20]),
            BoundParameters(values: [withUnsafeBytes(of: Int32(k).bigEndian, Array.init)], formats: [1], types: [23]),
            BoundParameters(values: [[1, 2, 3]], formats: [1], types: [20]),
            BoundParameters(values: [Array("4242".utf8)], formats: [0], types: [25]),
            BoundParameters(values: [], formats: [], types: []),
        ]
        for sql in ["SELECT * FROM users WHERE id = $1", "SELECT * FROM users WHERE id = $1::bigint", "SELECT * FROM users WHERE $1 = id",
                    "UPDATE users SET name = 'n' WHERE id = $1", "DELETE FROM users WHERE id = $1", "SELECT * FROM users WHERE id = $1::int"] {
            let (_, prepared) = Fixture.router.prepare(sql)
            let parameterized = try XCTUnwrap(prepared, sql)
            let fast = try XCTUnwrap(parameterized.fast, sql)
            for parameters in values {
                let answer = Fixture.router.route(parameterized, parameters: parameters)
                if let bound = fast.route(bound: parameters) {
                    XCTAssertEqual(bound, answer, sql)
                }
                XCTAssertEqual(answer, fast.route(KeyResolver(parameters: parameters, literals: parameterized.literals), context: RoutingContext()), sql)
                parameterized.fast = nil
                XCTAssertEqual(answer, Fixture.router.route(parameterized, parameters: parameters), "\(sql) without the fast route")
                parameterized.fast = fast
            }
        }
    }
}
