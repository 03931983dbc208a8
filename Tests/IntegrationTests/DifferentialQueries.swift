/// One SELECT asked of pgshard and of the reference server, and how their answers are compared.
struct DifferentialQuery {
    /// How two answers must agree.
    enum Check {
        /// Row for row: the statement's ORDER BY is total.
        case inOrder
        /// As multisets of rows: there is no ORDER BY, or it is not total.
        case asMultiset
        /// Only the number of rows: which rows a LIMIT without ORDER BY keeps is not defined.
        case rowCount
    }

    var sql: String
    var check: Check

    static func ordered(_ sql: String) -> Self { Self(sql: sql, check: .inOrder) }
    static func unordered(_ sql: String) -> Self { Self(sql: sql, check: .asMultiset) }
    static func rowCount(_ sql: String) -> Self { Self(sql: sql, check: .rowCount) }
}

/// Hand-written statements over `d_users` and `d_orders`, one or more for each shape the
/// cross-shard merge has to get right (DESIGN.md section 6), and some it must refuse.
enum DifferentialQueries {
    /// The id of a user with many orders (index 1 is among the first 500 users).
    static let busyUser = DifferentialData.userID(1)

    static let handWritten: [DifferentialQuery] = scatter + sorted + aggregates + groups + distinct + joins + singleShard + refusals

    /// Plain scatter: rows from every shard, no merge beyond concatenation.
    static let scatter: [DifferentialQuery] = [
        .unordered("SELECT * FROM d_users WHERE score > 990"),
        .unordered("SELECT id, name, city FROM d_users WHERE city = 'Zürich' AND active"),
        .unordered("SELECT o.* FROM d_orders o WHERE amount < -45"),
        .unordered("SELECT id, rating, balance FROM d_users WHERE rating < -45 OR balance < -950"),
        .unordered("SELECT id, born, created FROM d_users WHERE born IS NULL OR created IS NULL"),
        .unordered("SELECT id, score * 2, lower(name), balance + 0.005 FROM d_users WHERE id % 97 = 5"),
    ]

    /// ORDER BY on one to three keys of every type, LIMIT and OFFSET.
    static let sorted: [DifferentialQuery] = [
        .ordered("SELECT id, created - timestamptz '2021-06-01 12:00+00' AS age FROM d_users WHERE created IS NOT NULL ORDER BY age DESC, id LIMIT 12"),
        .ordered("SELECT id, make_interval(months => score % 13, days => score % 31, secs => score) AS span FROM d_users WHERE score IS NOT NULL ORDER BY span, id LIMIT 12"),
        .ordered("SELECT min(created - timestamptz '2021-06-01 12:00+00'), max(make_interval(days => score)) FROM d_users"),
        .ordered("SELECT name COLLATE \"C\" AS n, id FROM d_users ORDER BY 1 DESC, id LIMIT 7"),
        .ordered("SELECT id, name FROM d_users ORDER BY id LIMIT 10"),
        .ordered("SELECT id, name, score FROM d_users ORDER BY score DESC, id LIMIT 20"),
        .ordered("SELECT id, score FROM d_users ORDER BY score NULLS FIRST, id LIMIT 15"),
        .ordered("SELECT id, score FROM d_users ORDER BY score DESC NULLS LAST, id DESC LIMIT 15"),
        .ordered("SELECT id, score * 2 AS doubled FROM d_users ORDER BY score * 2, id LIMIT 12"),
        .ordered("SELECT id, score * 2 AS doubled FROM d_users ORDER BY doubled DESC NULLS LAST, id LIMIT 12"),
        .ordered("SELECT name FROM d_users ORDER BY name, id LIMIT 30"),
        .ordered("SELECT name, city FROM d_users WHERE city IS NOT NULL ORDER BY city DESC, name, id LIMIT 25 OFFSET 40"),
        .ordered("SELECT id, rating FROM d_users ORDER BY rating DESC NULLS LAST, id LIMIT 15 OFFSET 30"),
        .ordered("SELECT id, rating FROM d_users ORDER BY rating NULLS FIRST, id LIMIT 1200"),
        .ordered("SELECT id, balance FROM d_users ORDER BY balance, id LIMIT 25"),
        .ordered("SELECT id, balance FROM d_users ORDER BY balance DESC, id LIMIT 25"),
        .ordered("SELECT id, active FROM d_users ORDER BY active, id LIMIT 10 OFFSET 7500"),
        .ordered("SELECT id, born FROM d_users ORDER BY born DESC, id DESC LIMIT 10 OFFSET 100"),
        .ordered("SELECT id, created FROM d_users ORDER BY created, id LIMIT 10"),
        .ordered("SELECT id, created FROM d_users WHERE created IS NOT NULL ORDER BY created DESC, id LIMIT 10"),
        .ordered("SELECT id FROM d_users ORDER BY lower(name), id LIMIT 20"),
        .ordered("SELECT id, name FROM d_users ORDER BY 2 DESC, 1 LIMIT 20"),
        .ordered("SELECT id, city, score FROM d_users WHERE score BETWEEN 10 AND 12 ORDER BY city NULLS FIRST, score DESC, id"),
        .ordered("SELECT id FROM d_users ORDER BY id OFFSET 19990"),
        .ordered("SELECT id FROM d_users ORDER BY id LIMIT 0"),
        .ordered("SELECT id FROM d_users ORDER BY id LIMIT 5 OFFSET 25000"),
        .ordered("SELECT id, name FROM d_users ORDER BY name DESC, id FETCH FIRST 7 ROWS ONLY"),
        .ordered("SELECT id, name, score FROM d_users ORDER BY abs(score - 500), id LIMIT 10"),
        .ordered("SELECT name FROM d_users WHERE name > 'Z' ORDER BY name DESC, id LIMIT 10"),
        .ordered("SELECT user_id, id, amount FROM d_orders ORDER BY amount DESC NULLS LAST, user_id, id LIMIT 20"),
        .ordered("SELECT user_id, id, placed FROM d_orders WHERE status = 'refunded' ORDER BY placed, user_id, id LIMIT 50 OFFSET 5"),
        .ordered("SELECT id, qty FROM d_orders ORDER BY qty, id LIMIT 10"),
        .rowCount("SELECT id FROM d_users LIMIT 5"),
        .rowCount("SELECT id FROM d_users WHERE active LIMIT 100 OFFSET 10"),
    ]

    /// Aggregates over the whole table (one row), in expressions, over no rows at all.
    static let aggregates: [DifferentialQuery] = [
        .ordered("SELECT count(*) FROM d_users"),
        .ordered("SELECT count(*), count(city), count(score), count(rating), count(active) FROM d_users"),
        .ordered("SELECT sum(score), sum(balance), sum(rating) FROM d_users"),
        .ordered("SELECT avg(score), avg(balance), avg(rating) FROM d_users"),
        .ordered("SELECT min(score), max(score), min(name), max(name), min(city), max(city) FROM d_users"),
        .ordered("SELECT min(rating), max(rating), min(balance), max(balance), min(born), max(born), min(created), max(created) FROM d_users"),
        .ordered("SELECT bool_and(active), bool_or(active), every(score > -200), bool_and(score > 0), bool_or(score > 999) FROM d_users"),
        .ordered("SELECT count(*), sum(score), avg(score), min(name), max(balance), bool_and(active), bool_or(active) FROM d_users WHERE id < -100000"),
        .ordered("SELECT count(*) AS n, count(*) total, sum(score) AS \"Sum Of Scores\" FROM d_users"),
        .ordered("SELECT sum(score) / count(*) FROM d_users"),
        .ordered("SELECT sum(score) / count(*), max(score) - min(score), count(*) * 2 + 1 FROM d_users WHERE city = 'Oslo'"),
        .ordered("SELECT round(avg(score), 2), avg(score)::numeric(10,3), sum(balance)::bigint FROM d_users"),
        .ordered("SELECT count(DISTINCT city), count(DISTINCT score), count(DISTINCT active) FROM d_users"),
        .ordered("SELECT count(DISTINCT name) FROM d_users"),
        .ordered("SELECT count(*), sum(amount), avg(amount), sum(qty), avg(qty), min(placed), max(placed) FROM d_orders"),
        .ordered("SELECT sum(amount * qty), sum(qty::bigint), max(amount) - min(amount) FROM d_orders WHERE status = 'paid'"),
        .ordered("SELECT avg(qty), avg(amount) FROM d_orders WHERE qty < 0"),
        .ordered("SELECT max(name) FROM d_users WHERE city = 'Zürich'"),
        .ordered("SELECT min(created), max(created) FROM d_users WHERE city IS NULL"),
        .ordered("SELECT count(*) FROM d_users HAVING count(*) > 0"),
        .ordered("SELECT 1 AS one FROM d_users HAVING count(*) > 1000000"),
        .ordered("SELECT count(*) FILTER (WHERE active), sum(score) FILTER (WHERE city IS NULL) FROM d_users"),
    ]

    /// GROUP BY with small and medium group counts, HAVING, ORDER BY and LIMIT over groups.
    static let groups: [DifferentialQuery] = [
        .unordered("SELECT city, count(*) FROM d_users GROUP BY city"),
        .ordered("SELECT city, count(*), sum(score), min(name), max(born) FROM d_users GROUP BY city ORDER BY city NULLS FIRST"),
        .ordered("SELECT city, avg(score), avg(balance), avg(rating) FROM d_users GROUP BY city ORDER BY city"),
        .ordered("SELECT city, max(rating), min(rating), sum(rating) FROM d_users GROUP BY city ORDER BY city"),
        .ordered("SELECT active, count(*), bool_and(score > 0), bool_or(score > 990), every(city IS NOT NULL) FROM d_users GROUP BY active ORDER BY active NULLS FIRST"),
        .ordered("SELECT city, active, count(*) FROM d_users GROUP BY city, active ORDER BY city, active DESC"),
        .ordered("SELECT city, count(*) FROM d_users GROUP BY city HAVING count(*) > 1500 ORDER BY count(*) DESC, city"),
        .unordered("SELECT city FROM d_users GROUP BY city HAVING sum(score) > 700000"),
        .ordered("SELECT name, count(*) FROM d_users GROUP BY name ORDER BY count(*) DESC, name LIMIT 10"),
        .ordered("SELECT name, count(*), sum(score) FROM d_users GROUP BY name ORDER BY name LIMIT 20 OFFSET 100"),
        .ordered("SELECT score % 10 AS digit, count(*), sum(score) FROM d_users GROUP BY score % 10 ORDER BY digit NULLS FIRST"),
        .ordered("SELECT extract(year FROM born) AS y, count(*), min(born) FROM d_users GROUP BY y ORDER BY y DESC NULLS LAST LIMIT 15"),
        .ordered("SELECT date_trunc('month', created) AS m, count(*) FROM d_users GROUP BY 1 ORDER BY 1 LIMIT 12"),
        .ordered("SELECT city, count(*) * 2 + 1, max(score) - min(score), sum(score) / count(*) FROM d_users GROUP BY city ORDER BY city"),
        .ordered("SELECT city, count(DISTINCT active), count(DISTINCT score) FROM d_users GROUP BY city ORDER BY city"),
        .ordered("SELECT status, count(*), sum(amount), avg(amount), sum(qty) / count(*) FROM d_orders GROUP BY status ORDER BY status NULLS FIRST"),
        .ordered("SELECT user_id, count(*), sum(amount) FROM d_orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 20"),
        .ordered("SELECT user_id, sum(qty) FROM d_orders GROUP BY user_id HAVING sum(qty) > 300 ORDER BY user_id"),
        .unordered("SELECT count(*) AS n, city FROM d_users WHERE score > 900 GROUP BY city"),
        .ordered("SELECT city, count(*) FROM d_users GROUP BY city ORDER BY 2 DESC, 1 LIMIT 3"),
        .unordered("SELECT qty, count(*), avg(amount) FROM d_orders GROUP BY qty"),
    ]

    /// DISTINCT and DISTINCT ON.
    static let distinct: [DifferentialQuery] = [
        .unordered("SELECT DISTINCT city FROM d_users"),
        .ordered("SELECT DISTINCT city, active FROM d_users ORDER BY city, active"),
        .ordered("SELECT DISTINCT status FROM d_orders ORDER BY status NULLS FIRST"),
        .ordered("SELECT DISTINCT user_id FROM d_orders WHERE qty > 18 ORDER BY user_id LIMIT 50"),
        .unordered("SELECT DISTINCT score / 100 AS bucket FROM d_users"),
        .unordered("SELECT DISTINCT name FROM d_users"),
        .ordered("SELECT DISTINCT ON (city) city, id, score FROM d_users ORDER BY city, score DESC NULLS LAST, id"),
        .ordered("SELECT DISTINCT ON (status) status, user_id, id, amount FROM d_orders ORDER BY status, amount DESC NULLS LAST, user_id, id"),
    ]

    /// Co-located joins of d_users and d_orders on the shard key.
    static let joins: [DifferentialQuery] = [
        .unordered("SELECT u.id, u.name, o.id AS order_id, o.amount FROM d_users u JOIN d_orders o ON o.user_id = u.id WHERE o.amount > 1990"),
        .ordered("SELECT u.id, o.id, o.amount FROM d_users u JOIN d_orders o ON o.user_id = u.id WHERE u.city = 'Oslo' ORDER BY o.amount DESC NULLS LAST, o.user_id, o.id LIMIT 20"),
        .ordered("SELECT u.city, count(*), sum(o.amount), avg(o.qty) FROM d_users u JOIN d_orders o ON o.user_id = u.id GROUP BY u.city ORDER BY u.city"),
        .ordered("SELECT o.status, u.active, sum(o.qty) / count(*), count(DISTINCT u.id) FROM d_users u JOIN d_orders o ON o.user_id = u.id GROUP BY o.status, u.active ORDER BY 1, 2"),
        .ordered("SELECT count(*), sum(o.amount), min(u.name), max(o.placed) FROM d_users u JOIN d_orders o ON o.user_id = u.id WHERE u.score > 500"),
        .ordered("SELECT u.name, count(*) FROM d_users u JOIN d_orders o ON o.user_id = u.id GROUP BY u.name ORDER BY count(*) DESC, u.name LIMIT 5"),
        .ordered("SELECT count(*) FROM d_users u WHERE EXISTS (SELECT 1 FROM d_orders o WHERE o.user_id = u.id AND o.status = 'paid')"),
        .unordered("SELECT u.id, count(o.id) FROM d_users u LEFT JOIN d_orders o ON o.user_id = u.id WHERE u.id BETWEEN -9000 AND -8000 GROUP BY u.id"),
        .ordered("SELECT DISTINCT u.city, o.status FROM d_users u JOIN d_orders o ON o.user_id = u.id ORDER BY 1, 2"),
    ]

    /// Statements on one shard (the key is fixed), and key lists over a few shards.
    static let singleShard: [DifferentialQuery] = [
        .ordered("SELECT * FROM d_users WHERE id = 42"),
        .ordered("SELECT count(*), sum(amount), avg(qty) FROM d_orders WHERE user_id = \(busyUser)"),
        .ordered("SELECT id, amount, placed FROM d_orders WHERE user_id = \(busyUser) ORDER BY placed DESC NULLS LAST, id LIMIT 3"),
        .ordered("SELECT status, count(*) FROM d_orders WHERE user_id = \(DifferentialData.userID(100)) GROUP BY status ORDER BY status"),
        .ordered("SELECT u.name, o.id, o.amount FROM d_users u JOIN d_orders o ON o.user_id = u.id WHERE u.id = \(DifferentialData.userID(2)) ORDER BY o.id"),
        .ordered("SELECT DISTINCT status FROM d_orders WHERE user_id = \(busyUser) ORDER BY 1"),
        .ordered("SELECT id, name FROM d_users WHERE id IN (-9000, -8997, 42, 45, 48, 30000) ORDER BY name, id"),
        .ordered("SELECT count(*), sum(amount) FROM d_orders WHERE user_id IN (-9000, -8997, -8994, -8991)"),
    ]

    /// Shapes pgshard must refuse (or, one day, answer exactly).
    static let refusals: [DifferentialQuery] = [
        .ordered("SELECT id, row_number() OVER (ORDER BY id) FROM d_users WHERE id < -8900 ORDER BY id"),
        .unordered("SELECT city FROM d_users UNION SELECT status FROM d_orders"),
        .ordered("SELECT count(*) FROM (SELECT DISTINCT city FROM d_users) s"),
        .ordered("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY score) FROM d_users"),
        .ordered("SELECT string_agg(name, ',' ORDER BY id) FROM d_users WHERE id < -8900"),
        .ordered("SELECT stddev(score) FROM d_users"),
        .unordered("SELECT city, array_agg(id ORDER BY id) FROM d_users WHERE score = 7 GROUP BY city"),
    ]
}
