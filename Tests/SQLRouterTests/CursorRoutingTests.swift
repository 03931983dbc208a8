import XCTest

@testable import SQLRouter

/// DECLARE routes its query like the SELECT it is; FETCH, MOVE and CLOSE say what they ask of
/// which cursor.
final class CursorRoutingTests: XCTestCase {
    private let all = Array(0..<Fixture.shardCount)

    private func declare(_ name: String, _ placement: CursorPlacement, hold: Bool = false) -> Expected {
        .route(.cursor(.declare(CursorDeclaration(name: name, placement: placement, withHold: hold))))
    }

    func testDeclareRoutesItsQuery() {
        let key: Int64 = 31
        let other = Fixture.key(awayFrom: key)
        let cases: [(String, Expected)] = [
            ("DECLARE c CURSOR FOR SELECT * FROM users WHERE id = \(key)", declare("c", .shard(Fixture.shard(key)))),
            ("DECLARE \"My Cursor\" NO SCROLL CURSOR WITHOUT HOLD FOR SELECT name FROM users WHERE id = \(key)",
             declare("My Cursor", .shard(Fixture.shard(key)))),
            ("declare C binary cursor with hold for select * from users where id = \(key)", declare("c", .shard(Fixture.shard(key)), hold: true)),
            // One shard: any direction works there, SCROLL too.
            ("DECLARE c SCROLL CURSOR FOR SELECT * FROM users WHERE id = \(key) ORDER BY name", declare("c", .shard(Fixture.shard(key)))),
            ("DECLARE c CURSOR FOR SELECT 1", declare("c", .anyShard)),
            ("DECLARE c CURSOR FOR SELECT * FROM countries ORDER BY code", declare("c", .anyShard)),
            ("DECLARE c CURSOR FOR SELECT * FROM audit_log", declare("c", .shard(2))),
            ("DECLARE c CURSOR FOR SELECT id, name FROM users", declare("c", .shards(all))),
            ("DECLARE c CURSOR WITH HOLD FOR SELECT * FROM users WHERE id IN (\(key), \(other))",
             declare("c", .shards([Fixture.shard(key), Fixture.shard(other)].sorted()), hold: true)),
            ("DECLARE c CURSOR FOR SELECT * FROM users UNION ALL SELECT * FROM users", declare("c", .shards(all))),
            ("DECLARE c CURSOR FOR VALUES (1), (2)", declare("c", .anyShard)),
            ("/* pgshard: shard=s3 */ DECLARE c CURSOR FOR SELECT * FROM users", declare("c", .shard(3))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testDeclareRefusesWhatConcatenationCannotAnswer() {
        let cases: [(String, Expected)] = [
            ("DECLARE c CURSOR FOR SELECT * FROM users ORDER BY id", .refused("a cursor whose query reads several shards with ORDER BY")),
            ("DECLARE c CURSOR FOR SELECT count(*) FROM users", .refused("ORDER BY, LIMIT, OFFSET, aggregates, GROUP BY or DISTINCT")),
            ("DECLARE c CURSOR FOR SELECT * FROM users LIMIT 5", .refused("a cursor whose query reads several shards")),
            ("DECLARE c CURSOR FOR SELECT DISTINCT name FROM users", .refused("a cursor whose query reads several shards")),
            ("DECLARE c CURSOR FOR SELECT name, count(*) FROM users GROUP BY name", .refused("a cursor whose query reads several shards")),
            ("DECLARE c SCROLL CURSOR FOR SELECT * FROM users", .refused("a SCROLL cursor whose query reads several shards is not supported")),
            ("DECLARE c CURSOR FOR WITH d AS (DELETE FROM users RETURNING id) SELECT * FROM d",
             .refused("data-modifying WITH")),
            // The query's own refusals stand.
            ("DECLARE c CURSOR FOR SELECT * FROM no_such_table", .refused("no_such_table")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
        guard case .refuse(let error)? = Fixture.route("DECLARE c CURSOR FOR SELECT * FROM users ORDER BY id") else { return XCTFail() }
        XCTAssertTrue(error.hint?.contains("condition on the shard key") == true, error.hint ?? "")
    }

    func testDeclareUnderCrossShardDeny() {
        let router = Router(schema: Fixture.schema)
        let deny = RoutingContext(crossShard: .deny, hint: nil)
        guard case .statements(let statements) = router.route("DECLARE c CURSOR FOR SELECT * FROM users", context: deny) else { return XCTFail() }
        guard case .refuse(let error) = statements[0].route else { return XCTFail("\(statements[0].route)") }
        XCTAssertEqual(error.sqlState, "0A000")
        guard case .statements(let one) = router.route("DECLARE c CURSOR FOR SELECT * FROM users WHERE id = 7", context: deny) else { return XCTFail() }
        XCTAssertEqual(one[0].route, .cursor(.declare(CursorDeclaration(name: "c", placement: .shard(Fixture.shard(7)), withHold: false))))
    }

    func testDeclareWithKeyParameterRoutesAtBind() {
        let sql = "DECLARE \"psy\" CURSOR FOR SELECT id, name FROM users WHERE id = $1"
        let (outcome, parameterized) = Fixture.router.prepare(sql)
        guard case .statements(let statements) = outcome, let parameterized else { return XCTFail("\(outcome)") }
        XCTAssertTrue(statements[0].dependsOnParameters)
        XCTAssertEqual(statements[0].route, .cursor(.declare(CursorDeclaration(name: "psy", placement: .shards(all), withHold: false))))
        let bound = Fixture.router.route(parameterized, parameters: BoundParameters(values: [Array("4242".utf8)], formats: [0], types: []))
        XCTAssertEqual(bound, .cursor(.declare(CursorDeclaration(name: "psy", placement: .shard(Fixture.shard(4242)), withHold: false))))
        // A different key of the same shape is never served from the plan cache.
        XCTAssertEqual(Fixture.route("DECLARE c CURSOR FOR SELECT * FROM users WHERE id = 1"),
                       .cursor(.declare(CursorDeclaration(name: "c", placement: .shard(Fixture.shard(1)), withHold: false))))
        let away = Fixture.key(awayFrom: 1)
        XCTAssertEqual(Fixture.route("DECLARE c CURSOR FOR SELECT * FROM users WHERE id = \(away)"),
                       .cursor(.declare(CursorDeclaration(name: "c", placement: .shard(Fixture.shard(away)), withHold: false))))
    }

    func testFetchAndMove() {
        func fetch(_ name: String, move: Bool = false, _ forward: FetchCount?, _ text: String) -> Expected {
            .route(.cursor(.fetch(CursorFetch(name: name, isMove: move, forward: forward, directionText: text))))
        }
        let cases: [(String, Expected)] = [
            ("FETCH c", fetch("c", .rows(1), "FETCH FORWARD 1")),
            ("FETCH NEXT FROM c", fetch("c", .rows(1), "FETCH FORWARD 1")),
            ("FETCH 10 c", fetch("c", .rows(10), "FETCH FORWARD 10")),
            ("FETCH FORWARD 10 FROM \"Big C\"", fetch("Big C", .rows(10), "FETCH FORWARD 10")),
            ("FETCH ALL IN c", fetch("c", .all, "FETCH FORWARD ALL")),
            ("FETCH FORWARD ALL FROM c", fetch("c", .all, "FETCH FORWARD ALL")),
            ("MOVE 5 IN c", fetch("c", move: true, .rows(5), "MOVE FORWARD 5")),
            ("MOVE FORWARD ALL FROM c", fetch("c", move: true, .all, "MOVE FORWARD ALL")),
            ("FETCH PRIOR FROM c", fetch("c", nil, "FETCH BACKWARD")),
            ("FETCH BACKWARD 3 FROM c", fetch("c", nil, "FETCH BACKWARD")),
            ("FETCH BACKWARD ALL FROM c", fetch("c", nil, "FETCH BACKWARD")),
            ("FETCH FIRST FROM c", fetch("c", nil, "FETCH ABSOLUTE")),
            ("FETCH LAST FROM c", fetch("c", nil, "FETCH ABSOLUTE")),
            ("MOVE ABSOLUTE 3 IN c", fetch("c", move: true, nil, "MOVE ABSOLUTE")),
            ("FETCH RELATIVE 2 FROM c", fetch("c", nil, "FETCH RELATIVE")),
            // FORWARD 0 fetches the current row again; a negative count moves backward.
            ("FETCH FORWARD 0 FROM c", fetch("c", nil, "FETCH FORWARD 0")),
            ("FETCH -2 FROM c", fetch("c", nil, "FETCH FORWARD -2")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testClose() {
        assertRoute("CLOSE c", .route(.cursor(.close("c"))))
        assertRoute("CLOSE \"Big C\"", .route(.cursor(.close("Big C"))))
        assertRoute("CLOSE ALL", .route(.cursor(.close(nil))))
    }

    func testWhereCurrentOfFollowsTheCursor() {
        let onShard2 = (0..<200).map { "k\($0)" }.first { Fixture.shard(text: $0) == 2 }!
        let cases: [(String, Expected)] = [
            ("UPDATE users SET name = 'x' WHERE CURRENT OF c", .route(.cursor(.currentOf("c")))),
            ("DELETE FROM orders WHERE CURRENT OF \"Big C\" RETURNING id", .route(.cursor(.currentOf("Big C")))),
            ("UPDATE audit_log SET note = 'x' WHERE CURRENT OF c", .route(.cursor(.currentOf("c")))),
            ("UPDATE countries SET name = 'x' WHERE CURRENT OF c", .refused("WHERE CURRENT OF on reference table countries")),
            // A reference table reads the same on every shard; other tables would be read on one.
            ("UPDATE users SET name = k.name FROM countries k WHERE CURRENT OF c", .route(.cursor(.currentOf("c")))),
            ("UPDATE users SET name = o.user_id::text FROM orders o WHERE CURRENT OF c", .refused("across shards")),
            ("DELETE FROM users WHERE CURRENT OF c RETURNING (SELECT count(*) FROM orders)", .refused("across shards")),
            ("DELETE FROM orders WHERE CURRENT OF c RETURNING (SELECT note FROM audit_log LIMIT 1)", .refused("pinned table audit_log")),
            ("UPDATE audit_log SET note = (SELECT name FROM accounts WHERE name = '\(onShard2)') WHERE CURRENT OF c",
             .refused("WHERE CURRENT OF on audit_log with other sharded or pinned tables")),
            ("UPDATE no_such_table SET a = 1 WHERE CURRENT OF c", .refused("no_such_table")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
        // Never cached as a write by key: the next statement of the same shape follows its cursor too.
        XCTAssertNil(Fixture.router.cachedPlan(for: "UPDATE users SET name = 'x' WHERE CURRENT OF c"))
        assertRoute("UPDATE users SET name = 'y' WHERE CURRENT OF c", .route(.cursor(.currentOf("c"))))
        // Other UPDATEs and DELETEs route by their keys as ever.
        assertRoute("UPDATE users SET name = 'y' WHERE id = 7", .route(.shard(Fixture.shard(7))))
        assertRoute("DELETE FROM users WHERE id = 7", .route(.shard(Fixture.shard(7))))
    }

    func testExplainDeclarePlansTheQuery() {
        guard case .explain(let inner, _)? = Fixture.route("EXPLAIN DECLARE c CURSOR FOR SELECT * FROM users") else { return XCTFail() }
        XCTAssertEqual(inner, .scatter(all, .read))
        guard case .explain(let one, _)? = Fixture.route("EXPLAIN DECLARE c CURSOR FOR SELECT * FROM users WHERE id = 9") else { return XCTFail() }
        XCTAssertEqual(one, .shard(Fixture.shard(9)))
    }
}
