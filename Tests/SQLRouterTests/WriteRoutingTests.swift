import Sharding
import XCTest

@testable import SQLRouter

/// INSERT, UPDATE and DELETE → routes.
final class WriteRoutingTests: XCTestCase {
    func testInsertIntoShardedTables() {
        let a: Int64 = 1
        let same = Fixture.key(besides: a)
        let other = Fixture.key(awayFrom: a)
        let uuid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        let cases: [(String, Expected)] = [
            ("INSERT INTO users (id, name) VALUES (\(a), 'a')", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users (name, id) VALUES ('a', \(a))", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO public.users (id) VALUES ('\(a)')", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users (id) VALUES (\(a)::bigint)", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users (id, name) VALUES (\(a), 'a'), (\(same), 'b')", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users (id) VALUES (\(a)) ON CONFLICT (id) DO UPDATE SET name = excluded.name RETURNING *", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users (id) VALUES (\(a)) ON CONFLICT DO NOTHING", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users AS u (id, name) VALUES (\(a), (SELECT name FROM countries LIMIT 1))", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users (id, name) VALUES (\(a), (SELECT name FROM orders WHERE user_id = \(same)))", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users (id) VALUES (NULL)", .route(.shard(Fixture.hash.shardIndex(for: [nil])))),
            // Volatile functions are fine on one shard.
            ("INSERT INTO users (id, created) VALUES (\(a), now())", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO accounts (name, balance) VALUES ('alice', 0)", .route(.shard(Fixture.shard(text: "alice")))),
            ("INSERT INTO devices (uid) VALUES ('\(uuid)')", .route(.shard(Fixture.shard(uuid: uuid)))),
            ("WITH c AS (SELECT 1) INSERT INTO users (id) VALUES (\(a))", .route(.shard(Fixture.shard(a)))),
            // Refusals.
            ("INSERT INTO users (id, name) VALUES (\(a), 'a'), (\(other), 'b') RETURNING id", .refused("multi-row INSERT spanning several shards is not supported with RETURNING")),
            ("INSERT INTO users VALUES (\(a), 'a')", .refused("INSERT into sharded table \"users\" needs a column list")),
            ("INSERT INTO users (name) VALUES ('a')", .refused("INSERT into sharded table \"users\" must set the shard key \"id\"")),
            ("INSERT INTO users (id) VALUES (DEFAULT)", .refused("cannot determine the shard of an INSERT whose shard key \"id\" is not a constant")),
            ("INSERT INTO users (id) VALUES (\(a) + 1)", .refused("shard key \"id\" is not a constant")),
            ("INSERT INTO users (id) VALUES (4.0)", .refused("shard key \"id\" is not a constant")),
            ("INSERT INTO users (id) VALUES ('abc')", .refuse("22P02", "invalid input syntax for type bigint: \"abc\" (shard key column id)")),
            ("INSERT INTO users (id) VALUES (nextval('s'))", .refused("shard key \"id\" is not a constant")),
            ("INSERT INTO users (name, id) VALUES ('x')", .refused("shard key \"id\" is not a constant")),
            ("INSERT INTO users (id, name) SELECT 1, 'a'", .route(.shard(Fixture.shard(1)))),
            ("INSERT INTO orders (user_id, total) SELECT u.id, 0 FROM users u WHERE u.id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO orders (total, user_id) SELECT 0, id FROM users WHERE id IN (\(a), \(same))", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO orders (user_id, total) SELECT \(a), count(*) FROM orders WHERE user_id = \(same)", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO orders (user_id, total) SELECT u.id, 0 FROM users u", .refused("INSERT … SELECT into sharded table \"orders\" runs only when the SELECT reads one shard")),
            ("INSERT INTO orders (user_id, total) SELECT u.id, 0 FROM users u WHERE u.id IN (\(a), \(other))", .refused("INSERT … SELECT into sharded table \"orders\"")),
            ("INSERT INTO orders (user_id, total) SELECT \(a), 0 FROM users WHERE id = \(other)", .refused("statement needs rows of")),
            ("INSERT INTO orders (user_id, total) SELECT u.name, 0 FROM users u WHERE u.id = \(a)", .refused("INSERT … SELECT into sharded table \"orders\"")),
            ("INSERT INTO orders SELECT * FROM users WHERE id = \(a)", .refused("INSERT … SELECT into sharded table \"orders\"")),
            ("INSERT INTO users (id) VALUES (\(a)) LIMIT 1", .refused("INSERT … SELECT into sharded table")),
            ("INSERT INTO users (id) SELECT id FROM users WHERE id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("INSERT INTO users DEFAULT VALUES", .refused("INSERT … DEFAULT VALUES into sharded table \"users\"")),
            ("INSERT INTO users (id) VALUES (\(a)) ON CONFLICT (id) DO UPDATE SET id = excluded.id + 1", .refused("UPDATE cannot change the shard key \"id\" of table \"users\"")),
            ("INSERT INTO users (id, name) VALUES (\(a), (SELECT name FROM orders WHERE user_id = \(other)))", .refused("statement needs rows of users from shard")),
            ("INSERT INTO users (id, name) VALUES (\(a), (SELECT max(name) FROM orders))", .refused("INSERT of sharded table \"users\" that reads sharded table \"orders\" across shards")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    /// Rows of a multi-row INSERT go to their own shards, each shard's in one statement.
    func testMultiRowInsertIsSplitByShard() {
        let a: Int64 = 1, same = Fixture.key(besides: 1), other = Fixture.key(awayFrom: 1)
        let (sa, so) = (Fixture.shard(a), Fixture.shard(other))
        let sql = "INSERT INTO users (id, name) VALUES (\(a), 'a, (b)'), (\(other), $$)$$), (\(same), E'\\'') ON CONFLICT (id) DO NOTHING"
        let expected = [
            ShardStatement(shard: sa, sql: "INSERT INTO users (id, name) VALUES (\(a), 'a, (b)'), (\(same), E'\\'') ON CONFLICT (id) DO NOTHING"),
            ShardStatement(shard: so, sql: "INSERT INTO users (id, name) VALUES (\(other), $$)$$) ON CONFLICT (id) DO NOTHING"),
        ].sorted { $0.shard < $1.shard }
        XCTAssertEqual(Fixture.route(sql), .insertSplit(expected))
        // Comments and a CTE's own VALUES do not confuse the row list.
        let cte = "WITH v AS (VALUES (1)) INSERT INTO users (id) /* rows: */ VALUES (\(a)), -- first\n (\(other))"
        guard case .insertSplit(let parts)? = Fixture.route(cte) else { return XCTFail("not split: \(String(describing: Fixture.route(cte)))") }
        XCTAssertEqual(parts.map(\.shard), [sa, so].sorted())
        XCTAssertTrue(parts.allSatisfy { $0.sql.hasPrefix("WITH v AS (VALUES (1)) INSERT INTO users (id) /* rows: */ VALUES (") })
        // With parameters (extended protocol) the split is refused.
        let bound = BoundParameters(values: [Array("\(a)".utf8), Array("\(other)".utf8)], formats: [0, 0], types: [])
        guard case .statements(let statements) = Fixture.router.route("INSERT INTO users (id) VALUES ($1), ($2)", parameters: bound),
              case .refuse(let error) = statements[0].route
        else { return XCTFail() }
        XCTAssertTrue(error.message.contains("RETURNING or parameters"))
    }

    func testInsertErrorHints() {
        guard case .refuse(let error)? = Fixture.route("INSERT INTO users VALUES (1)") else { return XCTFail() }
        XCTAssertEqual(error.hint, "name the columns: INSERT INTO users (id, …) VALUES …")
        guard case .refuse(let spanning)? = Fixture.route("INSERT INTO users (id) VALUES (1), (\(Fixture.key(awayFrom: 1))) RETURNING *") else { return XCTFail() }
        XCTAssertEqual(spanning.hint, "insert the rows of each shard in a separate statement, or send the INSERT without RETURNING as a simple query")
        guard case .refuse(let constant)? = Fixture.route("INSERT INTO users (id) VALUES (DEFAULT)") else { return XCTFail() }
        XCTAssertEqual(constant.hint, "pass the key as a literal")
    }

    func testUpdateAndDelete() {
        let all = Array(0..<Fixture.shardCount)
        let a: Int64 = 1
        let other = Fixture.key(awayFrom: a)
        let pair = [Fixture.shard(a), Fixture.shard(other)].sorted()
        let cases: [(String, Expected)] = [
            ("UPDATE users SET name = 'x' WHERE id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("UPDATE users u SET name = 'x' WHERE u.id = \(a) RETURNING *", .route(.shard(Fixture.shard(a)))),
            ("UPDATE users SET name = 'x' WHERE id IN (\(a), \(other))", .route(.scatter(pair, .write))),
            ("UPDATE users SET name = 'x' WHERE id IN (\(a), \(other)) AND id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("UPDATE users u SET name = c.name FROM countries c WHERE c.code = u.country AND u.id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("UPDATE users u SET name = c.name FROM countries c WHERE c.code = u.country AND u.id IN (\(a), \(other))", .route(.scatter(pair, .write))),
            ("UPDATE users u SET n = 1 FROM orders o WHERE o.user_id = u.id AND u.id = \(a) AND o.user_id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("UPDATE users SET name = (SELECT name FROM countries LIMIT 1) WHERE id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("DELETE FROM users WHERE id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("DELETE FROM users WHERE id = \(a) RETURNING *", .route(.shard(Fixture.shard(a)))),
            ("DELETE FROM users WHERE id IN (\(a), \(other))", .route(.scatter(pair, .write))),
            ("DELETE FROM users u USING countries c WHERE c.code = u.country AND u.id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("UPDATE audit_log SET msg = 'x'", .route(.shard(2))),
            ("DELETE FROM audit_log", .route(.shard(2))),
            // Refusals.
            // Without a key: every shard (refused under cross_shard: deny).
            ("UPDATE users SET name = 'x'", .route(.scatter(all, .write))),
            ("UPDATE users SET name = 'x' WHERE id = \(a) OR id = \(other)", .route(.scatter(pair, .write))),
            ("DELETE FROM users", .route(.scatter(all, .write))),
            ("DELETE FROM users WHERE name = 'x'", .route(.scatter(all, .write))),
            // Co-located tables joined on the key: each shard updates its own rows.
            ("UPDATE users u SET n = 1 FROM orders o WHERE o.user_id = u.id AND u.id IN (\(a), \(other))", .route(.scatter(pair, .write))),
            ("DELETE FROM orders o WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id AND u.name = 'x')", .route(.scatter(all, .write))),
            ("UPDATE users SET id = 5 WHERE id = \(a)", .refused("UPDATE cannot change the shard key \"id\" of table \"users\"")),
            ("UPDATE users SET (name, id) = ('x', 5) WHERE id = \(a)", .refused("UPDATE cannot change the shard key \"id\"")),
            ("UPDATE users u SET n = 1 FROM orders o WHERE o.total = u.id AND u.id IN (\(a), \(other))", .refused("UPDATE of sharded table \"users\" that reads sharded table \"orders\" across shards")),
            ("DELETE FROM users WHERE id IN (SELECT user_id FROM orders)", .refused("DELETE of sharded table \"users\" that reads sharded table \"orders\"")),
            ("UPDATE pg_settings SET setting = 'x'", .refused("writing to system catalog \"pg_settings\"")),
            ("UPDATE nope SET a = 1", .refused("table \"nope\" is not known to pgshard")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testUpdateHints() {
        guard case .refuse(let keyChange)? = Fixture.route("UPDATE users SET id = 2 WHERE id = 1") else { return XCTFail() }
        XCTAssertEqual(keyChange.hint, "delete the row and insert it again with the new key")
    }

    /// A key list that happens to cover every shard is still a keyed write.
    func testUpdateWhoseKeysCoverEveryShard() {
        let keys = (0..<Fixture.shardCount).map { Fixture.key(onShard: $0) }
        let list = keys.map(String.init).joined(separator: ", ")
        assertRoute("UPDATE users SET name = 'x' WHERE id IN (\(list))", .route(.scatter(Array(0..<Fixture.shardCount), .write)))
    }

    func testReferenceTableWrites() {
        let a: Int64 = 1
        let cases: [(String, Expected)] = [
            ("INSERT INTO countries (code, name) VALUES ('de', 'Germany')", .route(.allShards(.referenceWrite))),
            ("INSERT INTO countries VALUES ('de', 'Germany'), ('fr', 'France')", .route(.allShards(.referenceWrite))),
            ("INSERT INTO countries SELECT relname, relname FROM pg_catalog.pg_class", .route(.allShards(.referenceWrite))),
            ("INSERT INTO countries DEFAULT VALUES", .route(.allShards(.referenceWrite))),
            ("UPDATE countries SET name = 'x'", .route(.allShards(.referenceWrite))),
            ("DELETE FROM countries WHERE code = 'de'", .route(.allShards(.referenceWrite))),
            ("WITH d AS (DELETE FROM countries RETURNING *) SELECT * FROM d", .route(.allShards(.referenceWrite))),
            ("INSERT INTO countries (code) SELECT country FROM users", .refused("write to reference table \"countries\" cannot read sharded table \"users\"")),
            ("INSERT INTO countries (code) SELECT country FROM users WHERE id = \(a)", .refused("write to reference table \"countries\" cannot read sharded table \"users\"")),
            ("DELETE FROM countries WHERE code IN (SELECT country FROM users)", .refused("write to reference table \"countries\"")),
            ("UPDATE countries SET name = 'x' FROM audit_log", .refused("write to reference table \"countries\" cannot read pinned table \"audit_log\"")),
            ("INSERT INTO pg_catalog.pg_description VALUES (1)", .refused("writing to system catalog")),
            // Every shard would compute its own value.
            ("INSERT INTO countries (code, created) VALUES ('de', now())", .refused("write to reference table \"countries\" calls now(), which would give every shard's copy a different value")),
            ("UPDATE countries SET updated = CURRENT_TIMESTAMP", .refused("calls CURRENT_TIMESTAMP")),
            ("UPDATE countries SET updated = current_timestamp(3)", .refused("calls CURRENT_TIMESTAMP")),
            ("INSERT INTO countries (id) VALUES (nextval('countries_id'))", .refused("calls nextval()")),
            ("INSERT INTO countries (code, name) VALUES ('de', upper('germany'))", .route(.allShards(.referenceWrite))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testPinnedTableWrites() {
        let onTwo = Fixture.key(onShard: 2)
        let elsewhere = Fixture.key(onShard: 0)
        let cases: [(String, Expected)] = [
            ("INSERT INTO audit_log (msg) VALUES ('x')", .route(.shard(2))),
            ("INSERT INTO audit_log SELECT * FROM users WHERE id = \(onTwo)", .route(.shard(2))),
            ("INSERT INTO audit_log SELECT * FROM countries", .route(.shard(2))),
            ("INSERT INTO audit_log SELECT * FROM users WHERE id = \(elsewhere)", .refused("pinned table audit_log (shard 2) cannot be combined with sharded table users")),
            ("INSERT INTO audit_log SELECT * FROM users", .refused("pinned table audit_log (shard 2) cannot be combined")),
            ("INSERT INTO users (id) SELECT 1 FROM audit_log", .refused("pinned table audit_log (shard 2) cannot be combined")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testDataModifyingWith() {
        let a: Int64 = 1
        let other = Fixture.key(awayFrom: a)
        let cases: [(String, Expected)] = [
            ("WITH d AS (DELETE FROM users WHERE id = \(a) RETURNING *) SELECT * FROM d", .route(.shard(Fixture.shard(a)))),
            ("WITH i AS (INSERT INTO users (id) VALUES (\(a)) RETURNING id) SELECT * FROM i", .route(.shard(Fixture.shard(a)))),
            ("WITH d AS (DELETE FROM users WHERE id = \(a) RETURNING *) INSERT INTO orders (user_id) SELECT id FROM d", .refused("INSERT … SELECT into sharded table \"orders\"")),
            ("WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d", .refused("data-modifying WITH across shards is not supported yet")),
            ("WITH d AS (DELETE FROM users WHERE id IN (\(a), \(other)) RETURNING *) SELECT * FROM d", .refused("data-modifying WITH across shards")),
            ("WITH d AS (DELETE FROM users WHERE id = \(a) RETURNING *) SELECT * FROM d, countries", .route(.shard(Fixture.shard(a)))),
            ("WITH d AS (INSERT INTO countries VALUES ('x') RETURNING *) SELECT * FROM users WHERE id = \(a)", .refused("write to reference table \"countries\" cannot read sharded table \"users\"")),
            ("WITH d AS (UPDATE users SET id = 3 WHERE id = \(a)) SELECT 1", .refused("UPDATE cannot change the shard key")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }
}
