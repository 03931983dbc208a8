import Sharding
import XCTest

@testable import SQLRouter

/// INSERTs that leave a generated key (`key_generator: global_id`) to pgshard, and
/// `pgshard.next_id`.
final class GeneratedKeyRoutingTests: XCTestCase {
    static let schema = ShardingSchema(shardCount: Fixture.shardCount, tables: [
        "users": .sharded(ShardedTable(keyColumns: ["id"], keyTypes: [.bigint], function: ShardingFunction(.hash(Fixture.hash)),
                                       keyGenerator: .globalID)),
        "orders": .sharded(keyColumn: "user_id", keyType: .bigint, function: ShardingFunction(.hash(Fixture.hash))),
        "countries": .reference,
    ])

    func makeRouter(cache: Int = 100) -> Router {
        Router(schema: Self.schema, planCacheSize: cache, idGenerator: GlobalIDGenerator(nodeID: 7, sequence: GlobalIDSequence()))
    }

    /// The route of a one-statement message, and its statement's text as sent.
    func routed(_ sql: String, _ router: Router, file: StaticString = #filePath, line: UInt = #line) -> RoutedStatement? {
        guard case .statements(let statements) = router.route(sql), statements.count == 1 else {
            XCTFail("expected one statement for: \(sql)", file: file, line: line)
            return nil
        }
        return statements[0]
    }

    /// The integers written into `text` after `marker`, in order.
    func keys(in text: String) -> [Int64] {
        text.split(whereSeparator: { !$0.isNumber }).compactMap { Int64($0) }.filter { $0 > 1_000_000 }
    }

    /// The one text of a rewritten INSERT on one shard, checked to be on its keys' shard.
    func singlePart(_ route: Route?, file: StaticString = #filePath, line: UInt = #line) -> (shard: Int, sql: String)? {
        guard case .insertSplit(let parts)? = route, parts.count == 1 else {
            XCTFail("expected one rewritten part, got \(String(describing: route))", file: file, line: line)
            return nil
        }
        return (parts[0].shard, parts[0].sql)
    }

    func testColumnListWithoutTheKeyGetsTheKeyAndAGeneratedValue() throws {
        let router = makeRouter()
        let statement = try XCTUnwrap(routed("INSERT INTO users (name) VALUES ('a') RETURNING id", router))
        let part = try XCTUnwrap(singlePart(statement.route))
        let key = try XCTUnwrap(keys(in: part.sql).first)
        XCTAssertEqual(part.sql, "INSERT INTO users (name, \"id\") VALUES ('a', \(key)) RETURNING id")
        XCTAssertEqual(statement.sql, part.sql)
        XCTAssertEqual(part.shard, Fixture.shard(key))
        XCTAssertGreaterThan(key, 0)
        XCTAssertEqual(GlobalID(value: key).node, 7)
    }

    func testMultiRowInsertKeysLandOnOneShardInIncreasingOrder() throws {
        let router = makeRouter()
        for _ in 0..<20 {
            let statement = try XCTUnwrap(routed("insert into users (name, email) values ('a', 'x'), ('b', 'y'),\n ('c', 'z')", router))
            let part = try XCTUnwrap(singlePart(statement.route))
            let generated = keys(in: part.sql)
            XCTAssertEqual(generated.count, 3)
            XCTAssertEqual(generated, generated.sorted())
            XCTAssertTrue(generated.allSatisfy { Fixture.shard($0) == part.shard }, "\(generated) on \(part.shard)")
            XCTAssertTrue(part.sql.hasPrefix("insert into users (name, email, \"id\") values ('a', 'x', \(generated[0])), ('b', 'y', \(generated[1])),\n ('c', 'z', \(generated[2]))"), part.sql)
        }
    }

    func testDefaultInTheKeyPositionIsReplaced() throws {
        let router = makeRouter()
        let sql = "INSERT INTO users (id, name) VALUES (DEFAULT, 'a'), (42, 'b'), ( default , 'c') RETURNING *"
        guard case .statements(let statements) = router.route(sql), let route = statements.first?.route else { return XCTFail() }
        let text: String
        switch route {
        case .insertSplit(let parts) where parts.count == 1: text = parts[0].sql
        case .refuse(let error): return XCTAssertTrue(error.message.contains("spanning"), "\(error)")
        default: return XCTFail("\(route)")
        }
        let generated = keys(in: text)
        XCTAssertEqual(text, "INSERT INTO users (id, name) VALUES (\(generated[0]), 'a'), (42, 'b'), ( \(generated[1]) , 'c') RETURNING *")
        XCTAssertEqual(Fixture.shard(generated[0]), Fixture.shard(generated[1]))
    }

    func testDefaultKeysMixedWithExplicitKeysSplitWithoutReturning() throws {
        let router = makeRouter()
        let sql = "INSERT INTO users (id, name) VALUES (DEFAULT, 'a'), (42, 'b')"
        guard case .statements(let statements) = router.route(sql), case .insertSplit(let parts) = statements[0].route else { return XCTFail() }
        let all = parts.map(\.sql).joined(separator: " ")
        let generated = try XCTUnwrap(keys(in: all).first)
        XCTAssertEqual(Set(parts.map(\.shard)), Set([Fixture.shard(generated), Fixture.shard(42)]))
        XCTAssertTrue(all.contains("(\(generated), 'a')") && all.contains("(42, 'b')"))
    }

    func testDefaultValues() throws {
        let router = makeRouter()
        let statement = try XCTUnwrap(routed("INSERT INTO users DEFAULT VALUES RETURNING id", router))
        let part = try XCTUnwrap(singlePart(statement.route))
        let key = try XCTUnwrap(keys(in: part.sql).first)
        XCTAssertEqual(part.sql, "INSERT INTO users (\"id\") VALUES (\(key)) RETURNING id")
        XCTAssertEqual(part.shard, Fixture.shard(key))
    }

    func testOtherShapes() throws {
        let router = makeRouter()
        let shapes = [
            ("WITH c AS (SELECT 1) INSERT INTO public.users AS u (name) VALUES ('a') ON CONFLICT (id) DO NOTHING",
             "WITH c AS (SELECT 1) INSERT INTO public.users AS u (name, \"id\") VALUES ('a', #) ON CONFLICT (id) DO NOTHING"),
            ("INSERT INTO users (name /* ) */, tags) VALUES ('(', ARRAY[1, 2]) -- values (",
             "INSERT INTO users (name /* ) */, tags, \"id\") VALUES ('(', ARRAY[1, 2], #) -- values ("),
            ("INSERT INTO users (name) VALUES (lower('X,Y'))", "INSERT INTO users (name, \"id\") VALUES (lower('X,Y'), #)"),
        ]
        for (sql, expected) in shapes {
            let statement = try XCTUnwrap(routed(sql, router))
            let part = try XCTUnwrap(singlePart(statement.route))
            let key = try XCTUnwrap(keys(in: part.sql).first)
            XCTAssertEqual(part.sql, expected.replacingOccurrences(of: "#", with: String(key)))
        }
    }

    func testExplicitKeysAndOtherTablesAreUntouched() {
        let router = makeRouter()
        XCTAssertEqual(Fixture.route("INSERT INTO users (id, name) VALUES (7, 'a')", router: router), .shard(Fixture.shard(7)))
        XCTAssertEqual(Fixture.route("INSERT INTO orders (user_id) VALUES (7)", router: router), .shard(Fixture.shard(7)))
        guard case .refuse(let error)? = Fixture.route("INSERT INTO orders (note) VALUES ('x')", router: router) else { return XCTFail() }
        XCTAssertTrue(error.message.contains("must set the shard key"), error.message)
    }

    func testInsertSelectWithoutTheKeyIsRefused() {
        let router = makeRouter()
        guard case .refuse(let error)? = Fixture.route("INSERT INTO users (name) SELECT name FROM countries", router: router) else { return XCTFail() }
        XCTAssertEqual(error.sqlState, "0A000")
        XCTAssertTrue(error.message.contains("pgshard generates keys only for VALUES rows"), error.message)
        XCTAssertNotNil(error.hint)
    }

    func testACachedPlanNeverReplaysAKey() throws {
        let router = makeRouter()
        let sql = "INSERT INTO users (name) VALUES ('a') RETURNING id"
        var seen: [Int64] = []
        for name in ["a", "a", "b", "a"] {
            let statement = try XCTUnwrap(routed(sql.replacingOccurrences(of: "'a'", with: "'\(name)'"), router))
            let part = try XCTUnwrap(singlePart(statement.route))
            let key = try XCTUnwrap(keys(in: part.sql).first)
            XCTAssertEqual(part.shard, Fixture.shard(key))
            seen.append(key)
        }
        XCTAssertEqual(Set(seen).count, seen.count, "every execution gets a new key: \(seen)")
        XCTAssertEqual(seen, seen.sorted())
        guard case .generatedKey(let insert)? = router.cachedPlan(for: sql) else { return XCTFail("the shape is cached as a rewrite") }
        XCTAssertEqual(insert.shape, .addColumn)
        // The rewritten shape is cached as an ordinary INSERT whose key is a literal slot.
        guard case .dml? = router.cachedPlan(for: "INSERT INTO users (name, \"id\") VALUES ('a', 5) RETURNING id") else { return XCTFail() }
        XCTAssertGreaterThan(router.planCacheStatistics.hits, 0)
    }

    func testHintedShardGetsTheKeys() throws {
        let router = makeRouter()
        let statement = try XCTUnwrap(routed("/* pgshard: shard=s2 */ INSERT INTO users (name) VALUES ('a'), ('b')", router))
        let part = try XCTUnwrap(singlePart(statement.route))
        XCTAssertEqual(part.shard, 2)
        XCTAssertTrue(keys(in: part.sql).allSatisfy { Fixture.shard($0) == 2 })
    }

    func testSeveralStatementsKeepTheClientsErrorPositions() throws {
        let router = makeRouter()
        let sql = "INSERT INTO users (name) VALUES ('a'); SELECT 1"
        guard case .statements(let statements) = router.route(sql), statements.count == 2 else { return XCTFail() }
        XCTAssertNotNil(singlePart(statements[0].route))
        XCTAssertEqual(statements[1].route, .anyShard)
        XCTAssertEqual(statements[1].characterOffset, 39)
        XCTAssertEqual(statements[1].sql, "SELECT 1")
    }

    func testExplainShowsTheRewrittenStatement() throws {
        let router = makeRouter()
        let statement = try XCTUnwrap(routed("EXPLAIN INSERT INTO users (name) VALUES ('a')", router))
        guard case .explain(.shard(let shard), let explanation) = statement.route else { return XCTFail("\(statement.route)") }
        let key = try XCTUnwrap(keys(in: statement.sql).first)
        XCTAssertEqual(shard, Fixture.shard(key))
        XCTAssertTrue(explanation.lines.contains { $0.contains("\"id\") VALUES ('a', \(key))") }, "\(explanation.lines)")
    }

    func testExtendedProtocolKeysAreAppendedParameters() throws {
        let router = makeRouter()
        let (outcome, parameterized) = router.prepare("INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id", parameterCount: 1)
        guard case .statements(let statements) = outcome, let generated = statements.first?.generatedKeys else { return XCTFail("\(outcome)") }
        XCTAssertEqual(generated.sql, "INSERT INTO users (name, email, \"id\") VALUES ($1, $2, $3) RETURNING id")
        XCTAssertEqual(generated.first, 3)
        XCTAssertEqual(generated.count, 1)
        let prepared = try XCTUnwrap(parameterized)
        for _ in 0..<5 {
            let keys = router.generatedKeys(generated, context: .init())
            let parameters = BoundParameters(values: [Array("a".utf8), Array("x".utf8), Array(keys[0].description.utf8)],
                                             formats: [0, 0, 0], types: [0, 0, 20])
            XCTAssertEqual(router.route(prepared, parameters: parameters), .shard(Fixture.shard(keys[0].value)))
        }
    }

    func testExtendedMultiRowKeysShareAShard() throws {
        let router = makeRouter()
        let (outcome, parameterized) = router.prepare("INSERT INTO users (name) VALUES ($1), ($2)")
        guard case .statements(let statements) = outcome, let generated = statements.first?.generatedKeys else { return XCTFail() }
        XCTAssertEqual(generated.sql, "INSERT INTO users (name, \"id\") VALUES ($1, $3), ($2, $4)")
        let keys = router.generatedKeys(generated, context: .init())
        XCTAssertEqual(keys.count, 2)
        XCTAssertEqual(Fixture.shard(keys[0].value), Fixture.shard(keys[1].value))
        let parameters = BoundParameters(values: [Array("a".utf8), Array("b".utf8)] + keys.map { Array($0.description.utf8) },
                                         formats: [0, 0, 0, 0], types: [0, 0, 20, 20])
        XCTAssertEqual(router.route(try XCTUnwrap(parameterized), parameters: parameters), .shard(Fixture.shard(keys[0].value)))
    }

    func testNextID() {
        let router = makeRouter()
        XCTAssertEqual(Fixture.route("SELECT pgshard.next_id('users')", router: router), .session(.nextID(column: "next_id")))
        XCTAssertEqual(Fixture.route("select PGSHARD.NEXT_ID('public.Users') as uid;", router: router), .session(.nextID(column: "uid")))
        func refusal(_ sql: String) -> RoutingError? {
            if case .refuse(let error)? = Fixture.route(sql, router: router) { return error }
            XCTFail("not refused: \(sql)")
            return nil
        }
        XCTAssertEqual(refusal("SELECT pgshard.next_id('nope')")?.sqlState, "42P01")
        XCTAssertEqual(refusal("SELECT pgshard.next_id('orders')")?.sqlState, "55000")
        for sql in ["SELECT pgshard.next_id('users') + 1", "SELECT pgshard.next_id('users'), 1", "SELECT pgshard.next_id('users') FROM users",
                    "SELECT pgshard.next_id($1)", "INSERT INTO users (id, name) VALUES (pgshard.next_id('users'), 'a')",
                    "EXPLAIN SELECT pgshard.next_id('users')", "SELECT * FROM users WHERE id = pgshard.next_id('users')"] {
            XCTAssertEqual(refusal(sql)?.sqlState, "0A000", sql)
            XCTAssertTrue(refusal(sql)?.message.contains("pgshard.next_id") == true, sql)
        }
        // Not pgshard's function: a column or another schema's function.
        XCTAssertEqual(Fixture.route("SELECT next_id FROM countries", router: router), .anyShard)
    }
}
