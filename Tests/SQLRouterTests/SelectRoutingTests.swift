import Sharding
import Merge
import XCTest

@testable import SQLRouter

/// SELECT statements → routes, with the 4-shard fixture schema. Expected shards are computed
/// with the real hash function, never hard-coded.
final class SelectRoutingTests: XCTestCase {
    let all = Array(0..<Fixture.shardCount)

    func testStatementsWithoutShardedTables() {
        let cases: [(String, Expected)] = [
            ("SELECT 1", .route(.anyShard)),
            ("SELECT now(), version()", .route(.anyShard)),
            ("VALUES (1), (2)", .route(.anyShard)),
            ("SELECT * FROM countries", .route(.anyShard)),
            ("SELECT * FROM countries c JOIN pg_catalog.pg_class k ON true ORDER BY 1 LIMIT 3", .route(.anyShard)),
            ("SELECT count(*) FROM countries GROUP BY code", .route(.anyShard)),
            ("SELECT * FROM pg_catalog.pg_class", .route(.anyShard)),
            ("SELECT * FROM pg_class", .route(.anyShard)),
            ("SELECT * FROM pg_stat_activity", .route(.anyShard)),
            ("SELECT * FROM information_schema.tables", .route(.anyShard)),
            ("SELECT * FROM audit_log", .route(.shard(2))),
            ("SELECT count(*) FROM audit_log a JOIN countries c ON true ORDER BY 1", .route(.shard(2))),
            ("SELECT * FROM unknown_table", .refused("table \"unknown_table\" is not known to pgshard")),
            ("SELECT * FROM countries WHERE code IN (SELECT code FROM nope)", .refused("table \"nope\" is not known to pgshard")),
            ("SELECT 1 INTO t", .refused("SELECT INTO through pgshard is not supported yet")),
            ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t", .route(.anyShard)),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testKeyConstants() {
        let k: Int64 = 42
        let cases: [(String, Expected)] = [
            ("SELECT * FROM users WHERE id = 42", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE 42 = id", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users u WHERE u.id = 42", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE users.id = 42", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM public.users WHERE public.users.id = 42", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE id OPERATOR(pg_catalog.=) 42", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE id = '42'", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE id = ' 42 '", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE id = 42::bigint", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE id = CAST(42 AS int8)", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE id = '42'::integer", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE id = +42", .route(.shard(Fixture.shard(k)))),
            ("SELECT * FROM users WHERE id = 12345678901", .route(.shard(Fixture.shard(12_345_678_901)))),
            ("SELECT * FROM users WHERE id = -9223372036854775808", .route(.shard(Fixture.shard(.min)))),
            ("SELECT * FROM users WHERE id = 0", .route(.shard(Fixture.shard(0)))),
            // The alias hides the table name: `users.id` does not name this occurrence.
            ("SELECT * FROM users u WHERE users.id = 42", .route(.scatter(all, .read))),
            // 4.0 = 4 in a numeric comparison, but routing does not evaluate numerics.
            ("SELECT * FROM users WHERE id = 4.0", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id = 1e3", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id = 9223372036854775808", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id = 'abc'", .refuse("22P02", "invalid input syntax for type bigint: \"abc\"")),
            ("SELECT * FROM users WHERE id = 42::text", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id = '42'::numeric", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id = 4.7::integer", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id = '42'::bigint::text::bigint", .route(.scatter(all, .read))),
            // `= NULL` is never true: no row, any shard.
            ("SELECT * FROM users WHERE id = NULL", .route(.shard(0))),
            ("SELECT * FROM users WHERE id IS NULL", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id::text = '42'", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id = ANY('{42}')", .route(.shard(Fixture.shard(42)))),
            ("SELECT * FROM users WHERE id <> 42", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id NOT IN (42)", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id IN (42, NULL)", .route(.shard(Fixture.shard(42)))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    /// libpg_query 15 writes negative integer constants to JSON like 0; the router reads the
    /// literal's text instead.
    func testNegativeKeys() {
        XCTAssertNotEqual(Fixture.shard(-5), Fixture.shard(0), "fixture: -5 and 0 must hash to different shards")
        assertRoute("SELECT * FROM users WHERE id = -5", .route(.shard(Fixture.shard(-5))))
        assertRoute("SELECT * FROM users WHERE id = - 5", .route(.shard(Fixture.shard(-5))))
        assertRoute("SELECT * FROM users WHERE id = -5::bigint", .route(.shard(Fixture.shard(-5))))
        assertRoute("SELECT * FROM users WHERE id IN (-5, 0)", .route(.scatter([Fixture.shard(-5), Fixture.shard(0)].sorted(), .read)))
        assertRoute("SELECT * FROM users WHERE id = -(5)", .route(.scatter(all, .read)))
        assertRoute("SELECT * FROM users WHERE id = -(-5)", .route(.shard(Fixture.shard(5))))
        assertRoute("INSERT INTO users (id) VALUES (-5)", .route(.shard(Fixture.shard(-5))))
    }

    func testTextAndUUIDKeys() {
        let uuid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        let cases: [(String, Expected)] = [
            ("SELECT * FROM accounts WHERE name = 'alice'", .route(.shard(Fixture.shard(text: "alice")))),
            ("SELECT * FROM accounts WHERE name = 'alice'::varchar", .route(.shard(Fixture.shard(text: "alice")))),
            ("SELECT * FROM accounts WHERE name = 'alice'::text", .route(.shard(Fixture.shard(text: "alice")))),
            ("SELECT * FROM accounts WHERE name = 'héllo'", .route(.shard(Fixture.shard(text: "héllo")))),
            ("SELECT * FROM accounts WHERE name = 'alice'::varchar(3)", .route(.scatter(all, .read))),
            ("SELECT * FROM accounts WHERE name = 42", .route(.scatter(all, .read))),
            ("SELECT * FROM devices WHERE uid = '\(uuid)'", .route(.shard(Fixture.shard(uuid: uuid)))),
            ("SELECT * FROM devices WHERE uid = '\(uuid.uppercased())'::uuid", .route(.shard(Fixture.shard(uuid: uuid)))),
            ("SELECT * FROM devices WHERE uid = '{a0eebc999c0b4ef8bb6d6bb9bd380a11}'", .route(.shard(Fixture.shard(uuid: uuid)))),
            ("SELECT * FROM devices WHERE uid = 'not-a-uuid'", .refuse("22P02", "invalid input syntax for type uuid")),
            ("SELECT * FROM devices WHERE uid = '\(uuid)'::text", .route(.scatter(all, .read))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testWhereConjuncts() {
        let a: Int64 = 1
        let same = Fixture.key(besides: a)
        let other = Fixture.key(awayFrom: a)
        let pair = [Fixture.shard(a), Fixture.shard(other)].sorted()
        let cases: [(String, Expected)] = [
            ("SELECT * FROM users WHERE id = \(a) AND name = 'x'", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users WHERE name = 'x' AND (id = \(a) AND age > 3)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users WHERE id IN (\(a), \(same))", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users WHERE id IN (\(a), \(other))", .route(.scatter(pair, .read))),
            ("SELECT * FROM users WHERE id = \(a) AND id IN (\(a), \(other))", .route(.shard(Fixture.shard(a)))),
            // OR: the union of its branches' shards; a branch without a key condition is every shard.
            ("SELECT * FROM users WHERE id = \(a) OR id = \(same)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users WHERE id = \(a) OR id = \(other)", .route(.scatter(pair, .read))),
            ("SELECT * FROM users WHERE (id = \(a) OR id = \(other)) AND id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users WHERE (id = \(a) AND name = 'x') OR (id = \(same) AND name = 'y')", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users WHERE NOT (id = \(a))", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE (id = \(a) OR name = 'x') AND age > 3", .route(.scatter(all, .read))),
            // ANY over an array; BETWEEN and < > do not narrow a hash key.
            ("SELECT * FROM users WHERE id = ANY(ARRAY[\(a), \(same)])", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users WHERE id = ANY('{\(a),\(other)}'::bigint[])", .route(.scatter(pair, .read))),
            ("SELECT * FROM users WHERE id = ANY(ARRAY[\(a), name::bigint])", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id BETWEEN \(a) AND \(a)", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id < 10", .route(.scatter(all, .read))),
            // Contradictory conditions admit no row: any shard answers; shard 0 is chosen.
            ("SELECT * FROM users WHERE id = \(a) AND id = \(other)", .route(.shard(0))),
            ("SELECT count(*) FROM users WHERE id = \(a) AND id = \(other)", .route(.shard(0))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testScatterReads() {
        let a: Int64 = 1
        let other = Fixture.key(awayFrom: a)
        let pair = [Fixture.shard(a), Fixture.shard(other)].sorted()
        let cases: [(String, Expected)] = [
            ("SELECT * FROM users", .route(.scatter(all, .read))),
            ("SELECT * FROM users FOR UPDATE", .route(.scatter(all, .read))),
            ("SELECT u.*, c.name FROM users u JOIN countries c ON c.code = u.country", .route(.scatter(all, .read))),
            ("SELECT * FROM users u LEFT JOIN countries c ON c.code = u.country", .route(.scatter(all, .read))),
            ("SELECT * FROM countries c RIGHT JOIN users u ON c.code = u.country", .route(.scatter(all, .read))),
            ("SELECT * FROM users u, pg_catalog.pg_class k", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE country IN (SELECT code FROM countries)", .route(.scatter(all, .read))),
            ("SELECT u.*, (SELECT count(*) FROM countries) FROM users u", .route(.scatter(all, .read))),
            ("SELECT u.*, (SELECT max(c.population) FROM countries c) FROM users u", .route(.scatter(all, .read))),
            ("SELECT * FROM users TABLESAMPLE SYSTEM (10)", .route(.scatter(all, .read))),
            ("SELECT * FROM users u, generate_series(1, 3) g", .route(.scatter(all, .read))),
            ("WITH c AS (SELECT * FROM countries) SELECT * FROM users u JOIN c ON c.code = u.country", .route(.scatter(all, .read))),
            ("SELECT * FROM users WHERE id IN (\(a), \(other))", .route(.scatter(pair, .read))),
            ("SELECT id, generate_series(1, 2) FROM users", .route(.scatter(all, .read))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testCombiningClausesAcrossShardsThatCannotBeMergedAreRefused() {
        let a: Int64 = 1
        let cases: [(String, Expected)] = [
            ("SELECT sum(age) || 'x' FROM users", .refused("operator || in an expression over aggregates across shards")),
            ("SELECT name FROM users ORDER BY name COLLATE \"de-x-icu\"", .refused("ORDER BY … COLLATE \"de-x-icu\" across shards")),
            ("SELECT id FROM users HAVING true", .refused("HAVING without GROUP BY or aggregates")),
            ("SELECT name FROM users GROUP BY name HAVING sum(age) > ALL (SELECT 1)", .refused("SubLink in an expression over aggregates")),
            ("SELECT string_agg(name, ',') FROM users", .refused("aggregate string_agg(…) across shards")),
            ("SELECT my_agg(DISTINCT name) FROM users", .refused("my_agg(DISTINCT …) across shards")),
            ("SELECT count(DISTINCT name), count(DISTINCT age) FROM users", .refused("count(DISTINCT …) of different expressions")),
            ("SELECT name, count(DISTINCT age) FROM users", .refused("count(DISTINCT …) next to columns without GROUP BY")),
            ("SELECT sum(DISTINCT age) FROM users", .refused("sum(DISTINCT …) across shards")),
            ("SELECT id, row_number() OVER () FROM users", .refused("window functions across shards")),
            ("SELECT DISTINCT ON (name) name, count(*) FROM users GROUP BY name", .refused("DISTINCT together with aggregates")),
            ("SELECT name FROM users GROUP BY ROLLUP (name)", .refused("GROUPING SETS, ROLLUP and CUBE")),
            ("SELECT * FROM users ORDER BY id LIMIT 10 + 1", .refused("LIMIT with an expression")),
            ("SELECT * FROM users ORDER BY id FOR UPDATE", .refused("FOR UPDATE/SHARE")),
            ("SELECT * FROM users ORDER BY id FETCH FIRST 2 ROWS WITH TIES", .refused("WITH TIES")),
            ("SELECT id FROM users EXCEPT SELECT id FROM users WHERE id = 1", .refused("UNION, INTERSECT and EXCEPT across shards")),
            ("(SELECT id FROM users) UNION ALL (SELECT id FROM users) ORDER BY 1", .refused("UNION, INTERSECT and EXCEPT")),
            // An aggregate over an outer column belongs to the outer (sharded) level.
            ("SELECT (SELECT max(u.age) FROM countries) FROM users u", .refused("aggregate in a subquery that may aggregate rows of sharded table \"users\"")),
            ("SELECT (SELECT max(age) FROM countries) FROM users", .refused("aggregate in a subquery")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
        // PostgreSQL's own error, which the shards would give too.
        guard case .refuse(let distinct)? = Fixture.route("SELECT DISTINCT name FROM users ORDER BY id") else { return XCTFail() }
        XCTAssertEqual(distinct.sqlState, "42P10")
        guard case .refuse(let negative)? = Fixture.route("SELECT id FROM users ORDER BY id LIMIT -1") else { return XCTFail() }
        XCTAssertEqual(negative.sqlState, "2201W")
        // Combining clauses are fine when the statement runs on one shard.
        assertRoute("SELECT count(*), max(age) FROM users WHERE id = \(a) GROUP BY name ORDER BY 1 LIMIT 3", .route(.shard(Fixture.shard(a))))
        assertRoute("SELECT id FROM users WHERE id = \(a) UNION SELECT user_id FROM orders WHERE user_id = \(a)", .route(.shard(Fixture.shard(a))))
    }

    private func mergePlan(_ sql: String, file: StaticString = #filePath, line: UInt = #line) -> MergePlan? {
        guard case .scatter(_, .merge(let plan))? = Fixture.route(sql) else {
            XCTFail("no merge plan for \(sql): \(String(describing: Fixture.route(sql)))", file: file, line: line)
            return nil
        }
        return plan
    }

    /// What each shard runs, and how the merge combines it.
    func testMergePlansRewriteWhatEachShardRuns() {
        let a: Int64 = 1
        let other = Fixture.key(awayFrom: a)
        guard case .scatter(let pair, .merge)? = Fixture.route("SELECT * FROM users WHERE id IN (\(a), \(other)) ORDER BY id") else { return XCTFail() }
        XCTAssertEqual(pair.count, 2)

        let limited = mergePlan("SELECT id, name FROM users ORDER BY name DESC, id LIMIT 10 OFFSET 5")
        XCTAssertEqual(limited?.sql, "SELECT id, name FROM users ORDER BY name DESC, id LIMIT 15 OFFSET 0")
        XCTAssertEqual(limited?.order, [SortKey(column: 1, descending: true), SortKey(column: 0)])
        XCTAssertEqual(limited?.limit, RowLimit(count: .constant(10), offset: .constant(5)))
        XCTAssertEqual(limited?.hiddenColumns, 0)

        let hidden = mergePlan("SELECT name FROM users ORDER BY age * 2 NULLS FIRST FETCH FIRST 3 ROWS ONLY")
        XCTAssertEqual(hidden?.sql, "SELECT age * 2 AS __pgshard_1, name FROM users ORDER BY age * 2 NULLS FIRST FETCH FIRST 3 ROWS ONLY")
        XCTAssertEqual(hidden?.hiddenColumns, 1)
        XCTAssertEqual(hidden?.order, [SortKey(column: 0, descending: false, nullsFirst: true)])

        let grouped = mergePlan("SELECT name, count(*), avg(age) AS mean FROM users GROUP BY name ORDER BY count(*) DESC LIMIT 3")
        XCTAssertEqual(grouped?.sql, "SELECT name, count(*), sum(age) AS \"mean\", count(age) AS __pgshard_1 FROM users GROUP BY name ORDER BY count(*) DESC LIMIT NULL")
        XCTAssertEqual(grouped?.aggregation, Aggregation(partials: [1: .count, 2: .sum, 3: .count],
                                                         columns: [.column(0), .column(1), .average(sum: 2, count: 3)]))
        XCTAssertEqual(grouped?.order, [SortKey(column: 1, descending: true)])
        XCTAssertEqual(grouped?.limit.count, .constant(3))

        let groupHidden = mergePlan("SELECT max(age) FROM users GROUP BY lower(name) ORDER BY min(age)")
        XCTAssertEqual(groupHidden?.sql, "SELECT lower(name) AS __pgshard_1, min(age) AS __pgshard_2, max(age) FROM users GROUP BY lower(name) ORDER BY min(age)")
        XCTAssertEqual(groupHidden?.hiddenColumns, 2)
        XCTAssertEqual(groupHidden?.aggregation?.partials, [1: .min, 2: .max])
        XCTAssertEqual(groupHidden?.order, [SortKey(column: 1)])

        let filtered = mergePlan("select avg(age) filter (where age > 1) as a, bool_and(true), every(false), bool_or(age > 3) from users")
        XCTAssertEqual(filtered?.sql, "select sum(age) filter (where age > 1) AS \"a\", count(age) filter (where age > 1) AS __pgshard_1, bool_and(true), every(false), bool_or(age > 3) from users")
        XCTAssertEqual(filtered?.aggregation?.partials, [0: .sum, 1: .count, 2: .boolAnd, 3: .boolAnd, 4: .boolOr])

        let distinct = mergePlan("SELECT DISTINCT name FROM users ORDER BY 1 OFFSET 2")
        XCTAssertEqual(distinct?.sql, "SELECT DISTINCT name FROM users ORDER BY 1 OFFSET 0")
        XCTAssertEqual(distinct?.distinct, true)
        XCTAssertEqual(distinct?.limit, RowLimit(offset: .constant(2)))

        let on = mergePlan("SELECT DISTINCT ON (name) id FROM users ORDER BY name, age DESC LIMIT 2")
        XCTAssertEqual(on?.sql, "SELECT DISTINCT ON (name) name AS __pgshard_1, age AS __pgshard_2, id FROM users ORDER BY name, age DESC LIMIT 2")
        XCTAssertEqual(on?.distinctOn, [0])
        XCTAssertEqual(on?.order, [SortKey(column: 0), SortKey(column: 1, descending: true)])
        let unordered = mergePlan("SELECT DISTINCT ON (lower(name), id) id FROM users")
        XCTAssertEqual(unordered?.sql, "SELECT DISTINCT ON (lower(name), id) lower(name) AS __pgshard_1, id FROM users")
        XCTAssertEqual(unordered?.distinctOn, [0, 1])

        let countDistinct = mergePlan("SELECT count(DISTINCT age) AS ages, count(*) FROM users ORDER BY 1")
        XCTAssertEqual(countDistinct?.sql, "SELECT age AS __pgshard_1, count(*) FROM users  GROUP BY age ORDER BY 1")
        XCTAssertEqual(countDistinct?.aggregation, Aggregation(partials: [1: .count], columns: [.countDistinct(0, name: "ages"), .column(1)], implicitGroup: true))
        let groupedDistinct = mergePlan("SELECT name, count(DISTINCT age) FROM users GROUP BY name")
        XCTAssertEqual(groupedDistinct?.sql, "SELECT name, age AS __pgshard_1 FROM users GROUP BY name, age")

        let expression = mergePlan("SELECT coalesce(sum(age), 0) AS total, max(age) - min(age) FROM users GROUP BY name HAVING count(*) > 1")
        XCTAssertEqual(expression?.sql, "SELECT name AS __pgshard_1, sum(age) AS __pgshard_2, min(age) AS __pgshard_3, max(age) AS __pgshard_4, count(*) AS __pgshard_5, "
                       + "CASE WHEN false THEN (coalesce(sum(age), 0)) END AS \"total\", CASE WHEN false THEN (max(age) - min(age)) END AS \"?column?\" FROM users GROUP BY name  ")
        XCTAssertEqual(expression?.aggregation?.columns.last, .expression(.arithmetic(.subtract, .column(3), .column(2)), typeFrom: 6))
        XCTAssertEqual(expression?.aggregation?.having, .compare(.greater, .column(4), .constant(.integer(1))))
        XCTAssertEqual(expression?.hiddenColumns, 5)

        let collated = mergePlan("SELECT name COLLATE \"C\" AS n, id FROM users ORDER BY 1 DESC, id")
        XCTAssertEqual(collated?.order, [SortKey(column: 0, descending: true, bytewise: true), SortKey(column: 1)])

        // A key condition keeps the plan: only the admitted shards run it.
        let comment = mergePlan("/* c */ SELECT count(*) FROM users -- tail")
        XCTAssertEqual(comment?.sql, "/* c */ SELECT count(*) FROM users -- tail")
    }

    func testCopyToStdoutRoutesLikeTheSelect() {
        let all = Array(0..<Fixture.shardCount)
        XCTAssertEqual(Fixture.route("COPY users TO STDOUT"), .scatter(all, .copyOut(header: false)))
        XCTAssertEqual(Fixture.route("COPY users (id, name) TO STDOUT WITH (FORMAT csv, HEADER)"), .scatter(all, .copyOut(header: true)))
        XCTAssertEqual(Fixture.route("COPY users TO STDOUT WITH CSV HEADER"), .scatter(all, .copyOut(header: true)))
        XCTAssertEqual(Fixture.route("COPY (SELECT * FROM users WHERE id = 1) TO STDOUT"), .shard(Fixture.shard(1)))
        XCTAssertEqual(Fixture.route("COPY countries TO STDOUT"), .anyShard)
        assertRoute("COPY users TO STDOUT (FORMAT binary)", .refused("FORMAT binary"))
        assertRoute("COPY (SELECT id FROM users ORDER BY id) TO STDOUT", .refused("COPY of a SELECT with ORDER BY"))
        assertRoute("COPY users TO '/tmp/users'", .refused("a file on the server"))
        assertRoute("COPY nope TO STDOUT", .refused("table \"nope\" is not known"))
    }

    /// A plan-cache hit re-plans a merge from the statement itself: the LIMIT of the new text counts.
    func testMergePlansDoNotComeFromTheCache() {
        XCTAssertEqual(mergePlan("SELECT id FROM users ORDER BY id LIMIT 5 OFFSET 1")?.sql, "SELECT id FROM users ORDER BY id LIMIT 6 OFFSET 0")
        XCTAssertEqual(mergePlan("SELECT id FROM users ORDER BY id LIMIT 7 OFFSET 1")?.sql, "SELECT id FROM users ORDER BY id LIMIT 8 OFFSET 0")
        XCTAssertEqual(mergePlan("SELECT id FROM users ORDER BY id LIMIT 7 OFFSET 1")?.limit.count, .constant(7))
    }

    /// UNION ALL of arms that each run on every shard separately is their concatenation.
    func testUnionAllOfScatterableArms() {
        let a: Int64 = 1, other = Fixture.key(awayFrom: 1)
        let pair = [Fixture.shard(a), Fixture.shard(other)].sorted()
        let cases: [(String, Expected)] = [
            ("SELECT id FROM users WHERE id = \(a) UNION ALL SELECT id FROM users WHERE id = \(other)", .route(.scatter(pair, .read))),
            ("SELECT id FROM users UNION ALL SELECT user_id FROM orders", .route(.scatter(all, .read))),
            ("SELECT id FROM users UNION ALL SELECT user_id FROM orders UNION ALL SELECT id FROM users WHERE id = \(a)", .route(.scatter(all, .read))),
            ("(SELECT id FROM users WHERE id = \(a)) UNION ALL (SELECT u.id FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = \(other))", .route(.scatter(pair, .read))),
            ("WITH c AS (SELECT code FROM countries) SELECT id FROM users UNION ALL SELECT user_id FROM orders", .route(.scatter(all, .read))),
            // Not exact: an arm answered once per shard, a combining arm, a UNION without ALL, ORDER BY over the union.
            ("SELECT id FROM users UNION ALL SELECT 1", .refused("UNION, INTERSECT and EXCEPT across shards")),
            ("SELECT id FROM users UNION ALL SELECT count(*) FROM orders", .refused("aggregate functions across shards")),
            ("SELECT id FROM users UNION SELECT user_id FROM orders", .refused("UNION, INTERSECT and EXCEPT across shards")),
            ("SELECT id FROM users UNION ALL SELECT user_id FROM orders ORDER BY 1", .refused("UNION, INTERSECT and EXCEPT across shards")),
            ("WITH c AS (SELECT id FROM users) SELECT id FROM c UNION ALL SELECT user_id FROM orders", .refused("UNION, INTERSECT and EXCEPT across shards")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testOuterJoins() {
        let cases: [(String, Expected)] = [
            // The trap: every shard would return the countries without users, null-extended.
            ("SELECT * FROM countries c LEFT JOIN users u ON u.country = c.code", .refused("LEFT JOIN with sharded table \"users\" on its nullable side")),
            ("SELECT * FROM users u RIGHT JOIN countries c ON u.country = c.code", .refused("RIGHT JOIN with sharded table \"users\"")),
            ("SELECT * FROM users u FULL JOIN countries c ON u.country = c.code", .refused("FULL JOIN with sharded table \"users\"")),
            ("SELECT * FROM countries c LEFT JOIN (users u JOIN pg_class k ON true) ON true", .refused("LEFT JOIN with sharded table \"users\"")),
            ("SELECT * FROM (users u LEFT JOIN countries c ON true) LEFT JOIN pg_class k ON true", .route(.scatter(all, .read))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
        let a: Int64 = 7
        assertRoute("SELECT * FROM countries c LEFT JOIN users u ON u.country = c.code WHERE u.id = \(a)", .route(.shard(Fixture.shard(a))))
    }

    func testJoinsAndSubqueriesOfShardedTables() {
        let a: Int64 = 1
        let same = Fixture.key(besides: a)
        let other = Fixture.key(awayFrom: a)
        let cases: [(String, Expected)] = [
            ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = \(a) AND o.user_id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = \(a) AND o.user_id = \(same)", .route(.shard(Fixture.shard(a)))),
            // Co-located tables joined on their keys: the key of one side fixes the other.
            ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users u, orders o WHERE o.user_id = u.id AND o.user_id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id", .route(.scatter(all, .read))),
            ("SELECT * FROM users u LEFT JOIN orders o ON o.user_id = u.id LEFT JOIN countries c ON c.code = u.country", .route(.scatter(all, .read))),
            ("SELECT * FROM users u FULL JOIN orders o ON o.user_id = u.id", .route(.scatter(all, .read))),
            ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id IN (\(a), \(other))", .route(.scatter([Fixture.shard(a), Fixture.shard(other)].sorted(), .read))),
            // Joined on the key with contradictory values: no row, any shard.
            ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = \(a) AND o.user_id = \(other)", .route(.shard(0))),
            // Not on the key, or a key of another function: across shards.
            ("SELECT * FROM users u JOIN orders o ON o.id = u.id", .refused("join of sharded tables users and orders")),
            ("SELECT * FROM users u JOIN orders o ON o.user_id > u.id", .refused("join of sharded tables users and orders")),
            ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id OR o.total = 0", .refused("join of sharded tables users and orders")),
            ("SELECT * FROM users u JOIN accounts a ON a.name = u.name", .refused("join of sharded tables users and accounts")),
            // A superset: the contradiction inside the first branch is not seen through the join.
            ("SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = \(a) AND o.user_id = \(other) OR u.id = \(other)", .route(.scatter([Fixture.shard(a), Fixture.shard(other)].sorted(), .read))),
            // A preserved reference side with a sharded nullable side would repeat rows per shard.
            ("SELECT * FROM countries c LEFT JOIN users u ON u.country = c.code", .refused("on its nullable side")),
            ("SELECT * FROM generate_series(1, 3) g LEFT JOIN users u ON u.id = g", .refused("on its nullable side")),
            ("SELECT * FROM users u FULL JOIN countries c ON u.country = c.code", .refused("on its nullable side")),
            // Unqualified key columns: each name belongs to exactly one sharded table here.
            ("SELECT * FROM users, orders WHERE id = \(a) AND user_id = \(a)", .route(.shard(Fixture.shard(a)))),
            // ... but not with two sharded tables keyed by `id` (a self-join).
            ("SELECT * FROM users a, users b WHERE id = \(a)", .refused("join of sharded tables users and users")),
            ("SELECT * FROM users a JOIN users b ON a.id = b.id WHERE a.id = \(a) AND b.id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users a JOIN users b ON a.id = b.id WHERE a.id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users a JOIN users b ON a.id <> b.id WHERE a.id = \(a)", .refused("join of sharded tables users and users")),
            // Subqueries: each level is restricted by its own WHERE clause.
            ("SELECT * FROM users WHERE id = \(a) AND EXISTS (SELECT 1 FROM orders WHERE user_id = \(same))", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users WHERE id = \(a) AND EXISTS (SELECT 1 FROM orders WHERE user_id = \(other))", .refused("statement needs rows of users from shard")),
            // Correlated on the key: the subquery reads the outer row's shard only.
            ("SELECT * FROM users WHERE id = \(a) AND EXISTS (SELECT 1 FROM orders o WHERE o.user_id = users.id)", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)", .route(.scatter(all, .read))),
            ("SELECT u.id, (SELECT count(*) FROM orders o WHERE o.user_id = u.id) FROM users u", .route(.scatter(all, .read))),
            ("SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id LIMIT 1)", .route(.scatter(all, .read))),
            // Unqualified, the name could be the subquery's own column: not a correlation.
            ("SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = id)", .refused("subqueries on sharded table \"orders\"")),
            ("SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.total = u.id)", .refused("subqueries on sharded table \"orders\"")),
            ("SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders u WHERE u.user_id = u.id)", .refused("subqueries on sharded table \"orders\"")),
            // A condition in the subquery does not restrict the outer table.
            ("SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM countries c WHERE u.id = \(a))", .route(.scatter(all, .read))),
            ("SELECT * FROM countries WHERE code IN (SELECT country FROM users)", .refused("subqueries on sharded table \"users\"")),
            ("SELECT * FROM (SELECT * FROM users) s", .refused("subqueries on sharded table \"users\"")),
            ("SELECT * FROM (SELECT * FROM users WHERE id = \(a)) s", .route(.shard(Fixture.shard(a)))),
            ("SELECT count(*) FROM (SELECT * FROM users WHERE id = \(a) LIMIT 5) s", .route(.shard(Fixture.shard(a)))),
            ("SELECT * FROM users u, LATERAL (SELECT * FROM orders o WHERE o.user_id = u.id LIMIT 3) x", .route(.scatter(all, .read))),
            ("SELECT * FROM users u, LATERAL (SELECT * FROM orders o WHERE o.total = u.id) x", .refused("subqueries on sharded table \"orders\"")),
            ("SELECT * FROM users u, LATERAL (SELECT * FROM orders o WHERE o.user_id = \(a)) x WHERE u.id = \(a)", .route(.shard(Fixture.shard(a)))),
            ("SELECT (SELECT name FROM users WHERE id = \(a)), (SELECT total FROM orders WHERE user_id = \(same))", .route(.shard(Fixture.shard(a)))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testCommonTableExpressions() {
        let a: Int64 = 3
        let cases: [(String, Expected)] = [
            ("WITH x AS (SELECT * FROM users WHERE id = \(a)) SELECT * FROM x", .route(.shard(Fixture.shard(a)))),
            ("WITH x AS (SELECT * FROM users) SELECT * FROM x", .refused("subqueries on sharded table \"users\"")),
            // A CTE named like a sharded table hides the table.
            ("WITH users AS (SELECT * FROM countries) SELECT * FROM users", .route(.anyShard)),
            ("WITH users AS (SELECT * FROM countries) SELECT count(*) FROM users u JOIN users v ON true", .route(.anyShard)),
            // ... but not a schema-qualified name.
            ("WITH users AS (SELECT 1) SELECT * FROM public.users", .route(.scatter(Array(0..<4), .read))),
            // In a plain WITH, a CTE's own name inside its body is the table.
            ("WITH users AS (SELECT * FROM users WHERE id = \(a)) SELECT * FROM users", .route(.shard(Fixture.shard(a)))),
            ("WITH users AS (SELECT * FROM users) SELECT * FROM users", .refused("subqueries on sharded table \"users\"")),
            // Later CTEs see earlier ones.
            ("WITH a AS (SELECT * FROM countries), users AS (SELECT * FROM a) SELECT * FROM users", .route(.anyShard)),
            // The name is visible in nested subqueries too.
            ("WITH users AS (SELECT 1 AS id) SELECT * FROM countries WHERE EXISTS (SELECT 1 FROM users)", .route(.anyShard)),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testPinnedTables() {
        let onTwo = Fixture.key(onShard: 2)
        let elsewhere = Fixture.key(onShard: 1)
        let cases: [(String, Expected)] = [
            ("SELECT * FROM audit_log a JOIN users u ON true WHERE u.id = \(onTwo)", .route(.shard(2))),
            ("SELECT * FROM audit_log a JOIN users u ON true WHERE u.id = \(elsewhere)", .refused("pinned table audit_log (shard 2) cannot be combined with sharded table users")),
            ("SELECT * FROM audit_log a JOIN users u ON true", .refused("pinned table audit_log (shard 2) cannot be combined")),
            ("SELECT * FROM audit_log WHERE EXISTS (SELECT 1 FROM orders WHERE user_id = \(onTwo))", .route(.shard(2))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
        let router = Router(schema: ShardingSchema(shardCount: 4, tables: [
            "a": .pinned(shard: 1), "b": .pinned(shard: 3), "c": .pinned(shard: 1),
        ]))
        assertRoute("SELECT * FROM a JOIN c ON true", .route(.shard(1)), router: router)
        assertRoute("SELECT * FROM a JOIN b ON true", .refused("statement reads pinned tables on different shards: a on shard 1, b on shard 3"), router: router)
        assertRoute("INSERT INTO a SELECT * FROM b", .refused("pinned tables on different shards"), router: router)
    }

    func testExplain() {
        let a: Int64 = 9
        func inner(_ sql: String) -> Route? {
            if case .explain(let inner, _)? = Fixture.route(sql) { return inner }
            return nil
        }
        XCTAssertEqual(inner("EXPLAIN SELECT * FROM users WHERE id = \(a)"), .shard(Fixture.shard(a)))
        XCTAssertEqual(inner("EXPLAIN (ANALYZE, BUFFERS) UPDATE users SET name = 'x' WHERE id = \(a)"), .shard(Fixture.shard(a)))
        XCTAssertEqual(inner("EXPLAIN SELECT * FROM countries"), .anyShard)
        XCTAssertEqual(inner("EXPLAIN SELECT * FROM users"), .scatter(all, .read))
        XCTAssertEqual(inner("EXPLAIN INSERT INTO countries VALUES ('x')"), .allShards(.referenceWrite))
        assertRoute("EXPLAIN (FORMAT YAML) SELECT * FROM users", .refused("EXPLAIN in a format other than TEXT"))
        assertRoute("EXPLAIN SELECT id, row_number() OVER () FROM users", .refused("window functions across shards"))
        guard case .explain(.scatter(_, .merge(let plan)), _)? = Fixture.route("EXPLAIN SELECT count(*) FROM users") else { return XCTFail() }
        XCTAssertEqual(plan.sql, "EXPLAIN SELECT count(*) FROM users")
        assertRoute("EXPLAIN SELECT * FROM nope", .refused("table \"nope\" is not known"))
    }
}
