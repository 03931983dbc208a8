import Sharding
import XCTest

@testable import SQLRouter

/// pgshard's EXPLAIN lines and `Router.explain`.
final class ExplainRoutingTests: XCTestCase {
    private func lines(_ sql: String) -> [String] {
        guard case .statements(let statements) = Fixture.router.explain(sql), let first = statements.first else { return [] }
        return first.explanation ?? []
    }

    func testPointLookupNamesTheShardThePredicateAndTheFunction() {
        let shard = Fixture.shard(42)
        XCTAssertEqual(lines("SELECT * FROM users WHERE id = 42 AND name = 'x'"), [
            "pgshard: runs on shard s\(shard)",
            "pgshard:   users.id (hash): id = 42 → s\(shard)",
            "pgshard: statement sent: SELECT * FROM users WHERE id = 42 AND name = 'x'",
            "pgshard: merge: none (one shard answers)",
        ])
    }

    func testScatterJoinAndRefusal() {
        let scatter = lines("SELECT * FROM users u JOIN orders o ON o.user_id = u.id")
        XCTAssertEqual(scatter.first, "pgshard: runs on every shard (s0, s1, s2, s3) as a read")
        XCTAssertTrue(scatter.contains("pgshard:   users.id (hash): joined on the key with o → every shard"), "\(scatter)")
        XCTAssertEqual(scatter.last, "pgshard: merge: rows of every shard concatenated, in no particular order")
        let inList = lines("SELECT * FROM users WHERE id IN (1, 2) OR id = ANY($1)")
        XCTAssertTrue(inList.contains { $0.contains("(id IN (1, 2) OR id = ANY($1))") }, "\(inList)")
        let merged = lines("SELECT count(*) FROM users")
        XCTAssertEqual(merged.last, "pgshard: merge: per-shard aggregates combined per group; each shard runs: SELECT count(*) FROM users")
        let refused = lines("SELECT string_agg(name, ',') FROM users")
        XCTAssertTrue(refused[0].hasPrefix("pgshard: refused: 0A000"), "\(refused)")
        let split = lines("INSERT INTO users (id) VALUES (1), (\(Fixture.key(awayFrom: 1)))")
        XCTAssertTrue(split[0].hasPrefix("pgshard: split into one INSERT per shard"), "\(split)")
        XCTAssertTrue(split.contains { $0.contains("users.id (hash): 2 VALUES rows") }, "\(split)")
    }

    func testExplainStatementCarriesTheLinesAndTheInnerRoute() {
        guard case .explain(let inner, let explanation)? = Fixture.route("EXPLAIN SELECT * FROM users") else { return XCTFail() }
        XCTAssertEqual(inner, .scatter(Array(0..<Fixture.shardCount), .read))
        XCTAssertTrue(explanation.textFormat)
        XCTAssertEqual(explanation.lines.first, "pgshard: runs on every shard (s0, s1, s2, s3) as a read")
        guard case .explain(.shard, let json)? = Fixture.route("EXPLAIN (FORMAT JSON) SELECT * FROM users WHERE id = 1") else { return XCTFail() }
        XCTAssertFalse(json.textFormat)
        guard case .refuse(let error)? = Fixture.route("EXPLAIN (FORMAT JSON) SELECT * FROM users") else { return XCTFail() }
        XCTAssertTrue(error.message.contains("format other than TEXT"))
        guard case .refuse? = Fixture.route("EXPLAIN SELECT string_agg(name, ',') FROM users") else { return XCTFail() }
    }
}
