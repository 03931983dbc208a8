import Foundation
import Sharding
import XCTest

@testable import SQLRouter

/// The plan cache must never change a route: every statement routed through a warm cache (a plan
/// made from the same shape with other literal values) equals the route of a fresh parse.
final class PlanCacheTests: XCTestCase {
    private static let shapes = [
        "SELECT * FROM users WHERE id = 42",
        "select * from USERS where ID = 42",
        "SELECT * FROM users WHERE id = -42",
        "SELECT * FROM users WHERE id = - 42 AND name = 'x'",
        "SELECT * FROM users WHERE id = '42'",
        "SELECT * FROM users WHERE id = '42'::bigint",
        "SELECT * FROM users WHERE id IN (1, 2, 3)",
        "SELECT * FROM users WHERE id = 1 OR id = 2",
        "SELECT * FROM users WHERE id = ANY('{1,2}')",
        "SELECT * FROM users WHERE id = 4.5",
        "SELECT * FROM users WHERE id = 99999999999999999999",
        "SELECT * FROM accounts WHERE name = 'alice'",
        "SELECT * FROM accounts WHERE name = E'al\\\\'ice'",
        "SELECT * FROM accounts WHERE name = $$alice$$",
        "SELECT * FROM accounts WHERE name = 'ali'\n'ce'",
        "SELECT * FROM devices WHERE uid = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
        "SELECT u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 7 AND o.total > 10",
        "SELECT * FROM users u WHERE u.id = 3 AND EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id AND o.total > 5)",
        "INSERT INTO users (id, name) VALUES (1, 'a')",
        "INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
        "INSERT INTO users (id, name) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET name = 'b'",
        "UPDATE users SET name = 'x' WHERE id = 5",
        "UPDATE users SET name = 'x' WHERE id IN (5, 6)",
        "DELETE FROM users WHERE id = 9",
        "DELETE FROM users WHERE name = 'gone'",
        "SELECT count(*) FROM users WHERE id = 11",
        "SELECT count(*) FROM users",
        "SELECT * FROM users WHERE id = 'abc'",
        "SELECT * FROM countries WHERE code = 'de'",
        "SELECT 1",
        "  SELECT 1 ;  ",
        "/* leading */ SELECT * FROM users WHERE id = 8 -- trailing",
        "BEGIN",
        "BEGIN ISOLATION LEVEL SERIALIZABLE",
        "COMMIT",
        "SAVEPOINT s1",
        "SET search_path = 'public'",
        "SET LOCAL statement_timeout = 5000",
        "SELECT * FROM users WHERE id = $1",
        "SELECT * FROM users WHERE id = 1 LIMIT 10 OFFSET 5",
        "SELECT * FROM audit_log WHERE id = 1",
    ]

    /// Every number and every plain string literal replaced by another.
    private func variants(of sql: String, _ generator: inout SplitMix64) -> [String] {
        let numbers = try! NSRegularExpression(pattern: "(?<![A-Za-z_$0-9'])[0-9]+(?![0-9'])")
        let strings = try! NSRegularExpression(pattern: "'(?:[^'\\\\]|'')*'")
        var result: [String] = []
        for _ in 0..<6 {
            var text = sql
            for match in numbers.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
                let range = Range(match.range, in: text)!
                text.replaceSubrange(range, with: String(generator.next() % 5000))
            }
            for match in strings.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
                let range = Range(match.range, in: text)!
                let choices = ["'x'", "'bob'", "'de'", "'42'", "'{3,4}'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'", "'it''s'", "'abc'"]
                text.replaceSubrange(range, with: choices[Int(generator.next() % UInt64(choices.count))])
            }
            result.append(text)
        }
        return result
    }

    func testCachedRoutesEqualFreshRoutes() {
        let cached = Router(schema: Fixture.schema)
        let fresh = Router(schema: Fixture.schema, planCacheSize: 0)
        var generator = SplitMix64(seed: 7)
        for shape in Self.shapes {
            XCTAssertEqual(cached.route(shape), fresh.route(shape), shape)
            for variant in variants(of: shape, &generator) {
                XCTAssertEqual(cached.route(variant), fresh.route(variant), "\(variant) (cached from \(shape))")
                let hint = RoutingContext(crossShard: .deny, hint: nil)
                XCTAssertEqual(cached.route(variant, context: hint), fresh.route(variant, context: hint), variant)
            }
        }
        let statistics = cached.planCacheStatistics
        XCTAssertGreaterThan(statistics.hits, Self.shapes.count * 6, "\(statistics)")
        print("plan cache: \(statistics)")
    }

    /// A Query's shortcut (`singleShardRoute`, which reads an integer key from the literal's
    /// bytes) answers only what the full route answers: one shard, the same one.
    func testSingleShardRouteAgreesWithTheFullRoute() {
        let cached = Router(schema: Fixture.schema)
        let fresh = Router(schema: Fixture.schema, planCacheSize: 0)
        var generator = SplitMix64(seed: 11)
        let keys = ["0", "007", "9223372036854775807", "9223372036854775808", "99999999999999999999", "4.5", "1e3", "-3", "'12'"]
        var texts: [String] = []
        for shape in Self.shapes {
            texts.append(shape)
            texts += variants(of: shape, &generator)
        }
        for key in keys {
            texts.append("SELECT * FROM users WHERE id = \(key)")
            texts.append("SELECT abalance FROM users WHERE id = \(key);")
        }
        var shortcuts = 0
        for text in texts {
            _ = cached.route(text)  // warms the cache with this shape
            let expected = fresh.route(text)
            guard let single = cached.singleShardRoute(text, context: RoutingContext()) else { continue }
            shortcuts += 1
            guard case .statements(let statements) = expected, statements.count == 1 else { return XCTFail("\(text): \(expected)") }
            if let shard = single.shard {
                XCTAssertEqual(statements[0].route, .shard(shard), text)
            } else {
                XCTAssertEqual(statements[0].route, .anyShard, text)
            }
        }
        XCTAssertGreaterThan(shortcuts, keys.count, "the shortcut was taken")
        // A key out of range for bigint, or not an integer, is left to the full route.
        for key in ["9223372036854775808", "4.5", "1e3"] {
            let text = "SELECT * FROM users WHERE id = \(key)"
            if let single = cached.singleShardRoute(text, context: RoutingContext()), case .statements(let statements) = fresh.route(text) {
                XCTAssertEqual(statements[0].route, single.shard.map(Route.shard) ?? .anyShard, text)
            }
        }
    }

    /// Prepared statements (Parse) go through the cache too; each Bind must route the same.
    func testPreparedStatementsFromTheCacheRouteLikeFreshOnes() {
        let cached = Router(schema: Fixture.schema)
        let fresh = Router(schema: Fixture.schema, planCacheSize: 0)
        let texts = [
            "SELECT * FROM users WHERE id = $1 AND name = 'x'",
            "SELECT * FROM users WHERE id = $1 OR id = 17",
            "INSERT INTO users (id, name) VALUES ($1, 'a'), (23, 'b')",
            "UPDATE users SET name = $2 WHERE id = $1",
            "SELECT * FROM users WHERE id = ANY($1)",
        ]
        for text in texts {
            _ = cached.prepare(text.replacingOccurrences(of: "17", with: "18").replacingOccurrences(of: "'x'", with: "'y'"))
            let (cachedOutcome, cachedPlan) = cached.prepare(text)
            let (freshOutcome, freshPlan) = fresh.prepare(text)
            XCTAssertEqual(cachedOutcome, freshOutcome, text)
            guard let cachedPlan, let freshPlan else { return XCTFail("no plan for \(text)") }
            for values in [["4242", "n"], ["{1,2,3}", "m"], ["17", "x"], ["abc", "y"]] {
                let parameters = BoundParameters(values: values.map { Array($0.utf8) }, formats: [0, 0], types: [])
                XCTAssertEqual(cached.route(cachedPlan, parameters: parameters), fresh.route(freshPlan, parameters: parameters), "\(text) \(values)")
            }
        }
    }

    func testKeysIgnoreLiteralValuesWhitespaceCommentsAndCase() {
        func key(_ sql: String) -> String? { StatementLexer.normalize(sql)?.key.text }
        XCTAssertEqual(key("SELECT * FROM users WHERE id = 1"), key("select  *\nfrom Users /* c */ where ID = 987654"))
        XCTAssertEqual(key("SELECT 'a'"), key("SELECT $x$b$x$"))
        XCTAssertNotEqual(key("SELECT 1"), key("SELECT '1'"))
        XCTAssertNotEqual(key("SELECT 1"), key("SELECT 1.5"))
        XCTAssertNotEqual(key("SELECT \"Users\""), key("SELECT users"))
        XCTAssertNotEqual(key("SELECT $1"), key("SELECT $2"))
        XCTAssertNotEqual(key("SELECT a ?| b"), key("SELECT a 'x'"))
        XCTAssertEqual(StatementLexer.normalize("SELECT E'a\\tb', 'x''y', 'p'\n 'q'")?.slots.values(in: "SELECT E'a\\tb', 'x''y', 'p'\n 'q'"), ["a\tb", "x'y", "pq"])
        XCTAssertEqual(StatementLexer.normalize("SELECT -5, 1e3, .5, 12")?.slots.map(\.kind), [.integer, .number, .number, .integer])
        let mixed = "SELECT 'é', 12, B'101', 1.5e3, $$x$$"
        XCTAssertEqual(StatementLexer.normalize(mixed)?.slots.values(in: mixed), ["é", "12", "101", "1.5e3", "x"])
        // Not handled: the caller parses instead.
        for text in ["SELECT 1; SELECT 2", "SELECT U&'\\0041'", "SELECT N'x'", "SELECT E'\\101'", "SELECT 'open",
                     "/* pgshard: shard=s1 */ SELECT 1", "SELECT 1 -- pgshard: key=1", "SELECT \u{1}", "", "   ", "SELECT 1; -- after", "SELECT 'a\u{0}b'"] {
            XCTAssertNil(StatementLexer.normalize(text), text)
        }
        XCTAssertEqual(Fixture.router.route("SELECT 'a\u{0}b'"), .failure(.nulCharacter))
    }

    /// Point lookups, single-row INSERTs and UPDATEs by key take the one-table fast route.
    func testCommonShapesTakeTheFastRoute() {
        let router = Router(schema: Fixture.schema)
        for sql in ["SELECT * FROM users WHERE id = 1;", "SELECT abalance FROM users WHERE id = 7", "UPDATE users SET n = n + 1 WHERE id = 3;",
                    "INSERT INTO users (id, name) VALUES (5, 'x');", "DELETE FROM users WHERE id IN (1, 2)", "SELECT * FROM users u JOIN countries c ON c.code = u.country WHERE u.id = 4"] {
            _ = router.route(sql)
            guard case .dml(_, _, let fast)? = router.cachedPlan(for: sql) else { return XCTFail("not cached: \(sql)") }
            XCTAssertNotNil(fast, sql)
        }
        // Also with one shard.
        let single = Router(schema: ShardingSchema(shardCount: 1, tables: ["users": .sharded(keyColumn: "id", keyType: .bigint, function: .hash(shardCount: 1))]))
        _ = single.route("SELECT * FROM users WHERE id = 1")
        guard case .dml(_, _, let fast)? = single.cachedPlan(for: "SELECT * FROM users WHERE id = 2") else { return XCTFail() }
        XCTAssertNotNil(fast)
        XCTAssertEqual(single.route("SELECT * FROM users WHERE id = 3"), Router(schema: single.schema, planCacheSize: 0).route("SELECT * FROM users WHERE id = 3"))
    }

    func testLeastRecentlyUsedEviction() {
        let cache = LRUCache<String, Int>(capacity: 2)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        XCTAssertEqual(cache.value(for: "a"), 1)
        cache.insert(3, for: "c")  // evicts b
        XCTAssertNil(cache.value(for: "b"))
        XCTAssertEqual(cache.value(for: "a"), 1)
        XCTAssertEqual(cache.value(for: "c"), 3)
        let statistics = cache.statistics
        XCTAssertEqual(statistics.evictions, 1)
        XCTAssertEqual(statistics.count, 2)
        XCTAssertEqual(statistics.hits, 3)
        XCTAssertEqual(statistics.misses, 1)
    }
}
