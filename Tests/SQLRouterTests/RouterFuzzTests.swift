import Foundation
import Sharding
import XCTest

@testable import SQLRouter

/// A seeded random harness: mutated and random SQL through every entry point of the router, for
/// a bounded time (`PGSHARD_FUZZ_SECONDS`, default 5). The router must answer every input with a
/// well-formed route or error, and never crash.
final class RouterFuzzTests: XCTestCase {
    private static let corpus = [
        "SELECT * FROM users WHERE id = 42",
        "SELECT u.id, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id IN (1, 2, 3) OR u.id = ANY('{4,5}')",
        "INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, $$c$$) ON CONFLICT (id) DO NOTHING",
        "UPDATE users SET name = 'x' WHERE id BETWEEN 1 AND 10 AND name <> 'y'",
        "DELETE FROM orders o USING users u WHERE u.id = o.user_id AND u.id = -5",
        "WITH x AS (SELECT * FROM users WHERE id = $1) SELECT * FROM x, LATERAL (SELECT * FROM orders o WHERE o.user_id = x.id LIMIT 3) y",
        "/* pgshard: shard=s1 */ SELECT count(*) FROM users",
        "SELECT * FROM devices WHERE uid = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
        "EXPLAIN ANALYZE SELECT * FROM accounts WHERE name = E'al\\\\'ice'",
        "SET LOCAL pgshard.key = '42'; BEGIN; SELECT 1; COMMIT",
        "CREATE TABLE t (id bigint PRIMARY KEY, payload jsonb DEFAULT '{}')",
        "SELECT (SELECT max(id) FROM users WHERE id = u.id) FROM users u WHERE EXISTS (SELECT 1 FROM orders WHERE user_id = u.id)",
    ]

    private static let fragments = [
        "(", ")", "'", "\"", "$$", "$1", "$2", "/*", "*/", "--", "\n", ";", ",", "=", "<", ">=", "::bigint", "::text[]",
        " OR ", " AND ", " NOT ", " IN (", " ANY(", " BETWEEN ", " JOIN ", " ON ", " WHERE ", " SELECT ", " FROM users ",
        " orders o ", " u.id ", " id ", " NULL ", "-", "9223372036854775808", "1e400", "'{1,2,NULL}'", "E'\\\\'", "é", "\u{0}",
        " VALUES ", " (1), (2) ", " RETURNING * ", "/* pgshard: key=", "*/", "U&'\\\\0041'", "ARRAY[", "]",
    ]

    func testMutatedAndRandomSQLNeverCrashTheRouter() {
        let seconds = Double(ProcessInfo.processInfo.environment["PGSHARD_FUZZ_SECONDS"] ?? "") ?? 5
        var generator = SplitMix64(seed: 0x5EED_1234)
        let router = Router(schema: Fixture.schema, limits: RouterLimits(maxStatementBytes: 64 << 10, maxNestingDepth: 2_000))
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0
        while Date() < deadline, runs < 2_000_000 {
            let sql = mutate(Self.corpus[Int(generator.next() % UInt64(Self.corpus.count))], &generator)
            check(router.route(sql), sql)
            check(router.explain(sql), sql)
            let (outcome, parameterized) = router.prepare(sql)
            check(outcome, sql)
            if let parameterized {
                let values: [[UInt8]?] = (0..<3).map { _ in
                    generator.next() % 5 == 0 ? nil : (0..<Int(generator.next() % 12)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                }
                let formats = (0..<3).map { _ in Int16(generator.next() % 2) }
                let types: [UInt32] = (0..<3).map { _ in [0, 20, 23, 25, 1007, 1016, 2950][Int(generator.next() % 7)] }
                check(router.route(parameterized, parameters: BoundParameters(values: values, formats: formats, types: types)), sql)
            }
            runs += 1
        }
        XCTAssertGreaterThan(runs, 50, "the harness ran too few inputs")
        print("router fuzz: \(runs) inputs in \(seconds) s")
    }

    private func mutate(_ base: String, _ generator: inout SplitMix64) -> String {
        var text = Array(base.unicodeScalars)
        for _ in 0..<(1 + Int(generator.next() % 4)) {
            let position = text.isEmpty ? 0 : Int(generator.next() % UInt64(text.count + 1))
            switch generator.next() % 6 {
            case 0, 1:
                let fragment = Self.fragments[Int(generator.next() % UInt64(Self.fragments.count))]
                text.insert(contentsOf: fragment.unicodeScalars, at: position)
            case 2:
                let length = Int(generator.next() % 8)
                text.removeSubrange(position..<min(text.count, position + length))
            case 3:
                // Nesting: deep parentheses or operator chains.
                let depth = Int(generator.next() % 300)
                text.insert(contentsOf: (String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)).unicodeScalars, at: position)
            case 4:
                if let scalar = Unicode.Scalar(UInt32(generator.next() % 0x250)), position < text.count { text[position] = scalar }
            default:
                let start = Int(generator.next() % UInt64(max(text.count, 1)))
                let piece = Array(text[min(start, text.count)..<min(text.count, start + 20)])
                text.insert(contentsOf: piece, at: position)
            }
        }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: text)
        return String(result)
    }

    private func check(_ outcome: RoutingOutcome, _ sql: String) {
        switch outcome {
        case .failure(let error):
            XCTAssertEqual(error.sqlState.count, 5, sql)
        case .statements(let statements):
            for statement in statements { check(statement.route, sql) }
        }
    }

    private func check(_ route: Route, _ sql: String) {
        switch route {
        case .shard(let shard):
            XCTAssertTrue((0..<Fixture.shardCount).contains(shard), sql)
        case .scatter(let shards, _):
            XCTAssertGreaterThanOrEqual(shards.count, 2, sql)
            XCTAssertEqual(shards, Array(Set(shards)).sorted(), sql)
            XCTAssertTrue(shards.allSatisfy { (0..<Fixture.shardCount).contains($0) }, sql)
        case .insertSplit(let parts):
            XCTAssertGreaterThanOrEqual(parts.count, 2, sql)
        case .copyIn(let plan):
            XCTAssertFalse(plan.shards.isEmpty, sql)
            XCTAssertTrue(plan.shards.allSatisfy { (0..<Fixture.shardCount).contains($0) }, sql)
        case .explain(let inner, _):
            check(inner, sql)
        case .refuse(let error):
            XCTAssertEqual(error.sqlState.count, 5, sql)
        case .cursor(.declare(let cursor)):
            if case .shards(let shards) = cursor.placement {
                XCTAssertGreaterThanOrEqual(shards.count, 2, sql)
                XCTAssertEqual(shards, Array(Set(shards)).sorted(), sql)
            }
        case .anyShard, .allShards, .session, .cursor:
            break
        }
    }
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
