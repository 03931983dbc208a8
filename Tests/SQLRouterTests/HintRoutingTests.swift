import Sharding
import XCTest

@testable import SQLRouter

/// Manual routing (`/* pgshard: … */`, `SET pgshard.…`) and the `cross_shard` policy.
final class HintRoutingTests: XCTestCase {
    private func route(_ sql: String, _ context: RoutingContext = .init()) -> Route? {
        guard case .statements(let statements) = Fixture.router.route(sql, context: context), statements.count == 1 else { return nil }
        return statements[0].route
    }

    private func refusal(_ sql: String, _ context: RoutingContext = .init()) -> RoutingError? {
        if case .refuse(let error)? = route(sql, context) { return error }
        return nil
    }

    func testShardCommentHint() {
        XCTAssertEqual(route("/* pgshard: shard=s1 */ SELECT count(*) FROM users"), .shard(1))
        XCTAssertEqual(route("SELECT /* pgshard: shard = s3 */ * FROM users u JOIN orders o ON o.total = u.id"), .shard(3))
        XCTAssertEqual(route("-- pgshard: shard='s2'\nSELECT 1"), .shard(2))
        // A hint supplies the shard an INSERT cannot compute (e.g. a key from a sequence).
        XCTAssertEqual(route("/* pgshard: shard=s0 */ INSERT INTO users (name) VALUES ('x')"), .shard(0))
        // Not a comment: inside a string, a quoted identifier or a dollar quote.
        XCTAssertEqual(route("SELECT '/* pgshard: shard=s1 */'"), .anyShard)
        XCTAssertEqual(route("SELECT $$ /* pgshard: shard=s1 */ $$"), .anyShard)
        XCTAssertEqual(route("SELECT 1 AS \"/* pgshard: shard=s1 */\""), .anyShard)
        // Nested comments end where PostgreSQL ends them.
        XCTAssertEqual(route("/* outer /* inner */ pgshard: shard=s1 */ SELECT 1"), .anyShard)
    }

    func testKeyCommentHint() {
        let k: Int64 = 4242
        XCTAssertEqual(route("/* pgshard: key=\(k) */ SELECT count(*) FROM orders"), .shard(Fixture.shard(k)))
        XCTAssertEqual(route("/* pgshard: key=\(k) */ SELECT * FROM users u JOIN orders o ON o.total = u.id"), .shard(Fixture.shard(k)))
        XCTAssertEqual(route("/* pgshard: key='alice' */ SELECT * FROM accounts"), .shard(Fixture.shard(text: "alice")))
        XCTAssertEqual(refusal("/* pgshard: key=abc */ SELECT * FROM users")?.sqlState, "22P02")
        XCTAssertNotNil(refusal("/* pgshard: key=42 */ SELECT 1")?.message.contains("needs a sharded table"))
        // The pinned table decides without sharded tables.
        XCTAssertEqual(route("/* pgshard: key=1 */ SELECT * FROM audit_log"), .shard(2))
    }

    func testHintRefusals() {
        XCTAssertEqual(refusal("/* pgshard: shard=s9 */ SELECT 1")?.sqlState, "22023")
        XCTAssertEqual(refusal("/* pgshard: shard=s9 */ SELECT 1")?.hint, "the shards are: s0, s1, s2, s3")
        XCTAssertEqual(refusal("/* pgshard: table=users */ SELECT 1")?.sqlState, "22023")
        XCTAssertEqual(refusal("/* pgshard: shard=s1 */ CREATE TABLE t (id int)")?.sqlState, "0A000")
        XCTAssertEqual(refusal("/* pgshard: shard=s1 */ UPDATE countries SET name = 'x'")?.sqlState, "0A000")
        XCTAssertNotNil(refusal("/* pgshard: shard=s1 */ SELECT * FROM audit_log")?.message.contains("lives on shard 2"))
        // A hint never makes a key change or an unknown table acceptable.
        XCTAssertNotNil(refusal("/* pgshard: shard=s1 */ UPDATE users SET id = 2 WHERE id = 1"))
        XCTAssertNotNil(refusal("/* pgshard: shard=s1 */ SELECT * FROM nope"))
    }

    func testSessionHint() {
        let shard = RoutingContext(hint: .shard(1))
        XCTAssertEqual(route("SELECT count(*) FROM users", shard), .shard(1))
        XCTAssertEqual(route("SHOW work_mem", shard), .shard(1))
        // The comment wins over the session's setting.
        XCTAssertEqual(route("/* pgshard: shard=s3 */ SELECT * FROM users", shard), .shard(3))
        // Session hints do not stop DDL from reaching every shard.
        XCTAssertEqual(route("CREATE TABLE t (id int)", shard), .allShards(.ddl))
        XCTAssertEqual(route("SELECT * FROM users", RoutingContext(hint: .key("4242"))), .shard(Fixture.shard(4242)))
    }

    func testSetAndResetHints() {
        XCTAssertEqual(route("SET pgshard.shard = 's2'"), .session(.routingHint(name: "pgshard.shard", hint: .shard(2), isLocal: false)))
        XCTAssertEqual(route("SET LOCAL pgshard.key TO 42"), .session(.routingHint(name: "pgshard.key", hint: .key("42"), isLocal: true)))
        XCTAssertEqual(route("RESET pgshard.shard"), .session(.routingHint(name: "pgshard.shard", hint: nil, isLocal: false)))
        XCTAssertEqual(route("SET pgshard.shard TO DEFAULT"), .session(.routingHint(name: "pgshard.shard", hint: nil, isLocal: false)))
        XCTAssertEqual(refusal("SET pgshard.shard = 'nope'")?.sqlState, "22023")
        XCTAssertEqual(refusal("SET pgshard.other = 1")?.sqlState, "42704")
    }

    func testCrossShardDeny() {
        let deny = RoutingContext(crossShard: .deny)
        let a: Int64 = 1, other = Fixture.key(awayFrom: 1)
        XCTAssertEqual(route("SELECT * FROM users WHERE id = \(a)", deny), .shard(Fixture.shard(a)))
        XCTAssertEqual(route("SELECT * FROM countries", deny), .anyShard)
        XCTAssertEqual(route("CREATE TABLE t (id int)", deny), .allShards(.ddl))
        XCTAssertEqual(route("/* pgshard: shard=s1 */ SELECT * FROM users", deny), .shard(1))
        let scan = refusal("SELECT * FROM users", deny)
        XCTAssertEqual(scan?.sqlState, "0A000")
        XCTAssertEqual(scan?.message, "statement needs to read every shard and cross_shard is deny")
        XCTAssertNotNil(scan?.hint)
        XCTAssertEqual(refusal("DELETE FROM users", deny)?.message, "statement needs to write every shard and cross_shard is deny")
        XCTAssertEqual(refusal("SELECT * FROM users WHERE id IN (\(a), \(other))", deny)?.message, "statement needs to read 2 shards and cross_shard is deny")
    }
}
