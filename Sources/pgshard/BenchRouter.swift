import ArgumentParser
import Dispatch
import Sharding
import SQLRouter

/// `pgshard bench-router`: routing time per statement (plan cache hit, miss, lexer-free full
/// parse) for a small corpus, and the plan cache's hit rate on pgbench's statements. Run it from
/// a release build; the figures go to docs/performance.md.
struct BenchRouter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-router", abstract: "Measure routing time per statement and the plan cache hit rate.")

    @Option(help: "Timed iterations per statement and path.")
    var iterations = 100_000
    @Flag(help: .hidden)
    var profileHits = false
    @Option(help: "Also time this statement shape; {} stands for a number that changes with every call.")
    var sql: String?

    func run() {
        let schema = ShardingSchema(shardCount: 4, tables: [
            "users": .sharded(keyColumn: "id", keyType: .bigint, function: .hash(shardCount: 4)),
            "orders": .sharded(keyColumn: "user_id", keyType: .bigint, function: .hash(shardCount: 4)),
            "countries": .reference,
            "pgbench_accounts": .sharded(keyColumn: "aid", keyType: .integer, function: .hash(shardCount: 4)),
            "pgbench_tellers": .sharded(keyColumn: "tid", keyType: .integer, function: .hash(shardCount: 4)),
            "pgbench_branches": .sharded(keyColumn: "bid", keyType: .integer, function: .hash(shardCount: 4)),
            "pgbench_history": .sharded(keyColumn: "aid", keyType: .integer, function: .hash(shardCount: 4)),
        ])
        var corpus: [(name: String, sql: (Int) -> String)] = [
            ("point lookup", { "SELECT id, name, email FROM users WHERE id = \($0)" }),
            ("10-row INSERT", { i in
                "INSERT INTO orders (user_id, id, total, note) VALUES " + (0..<10).map { "(\(i), \($0 + i * 10), \($0 * 3).50, 'n\($0)')" }.joined(separator: ", ")
            }),
            ("30-line analytic SELECT", { i in Self.analytic(i) }),
        ]
        if let sql {
            corpus.append(("--sql", { sql.replacingOccurrences(of: "{}", with: String($0)) }))
        }
        if profileHits {
            let router = Router(schema: schema)
            for i in 0..<iterations { _ = router.route(corpus[0].sql(i)) }
            return
        }
        print("routing time per statement, \(iterations) iterations (median / p99, microseconds)")
        print(pad("statement", 26) + pad("hit", 18) + pad("miss (lex+parse)", 20) + "parse only (no cache)")
        for (name, sql) in corpus {
            let cached = Router(schema: schema)
            let uncached = Router(schema: schema, planCacheSize: 0)
            _ = cached.route(sql(1))  // the plan
            let hit = measure { cached.route(sql($0 % 1_000_000 + 2)) }
            let missRouter = Router(schema: schema, planCacheSize: 1)
            // Another shape routed (untimed) before each call evicts the plan: every call misses.
            let miss = measure(before: { _ = missRouter.route("SELECT 1") }) { missRouter.route(sql($0)) }
            let parse = measure { uncached.route(sql($0)) }
            print(pad(name, 26) + pad(format(hit), 18) + pad(format(miss), 20) + format(parse))
        }
        pgbenchHitRate(schema)
    }

    private func measure(before: () -> Void = {}, _ body: (Int) -> RoutingOutcome) -> [Double] {
        let warmup = min(iterations, 2000)
        for i in 0..<warmup { before(); _ = body(i) }
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        for i in 0..<iterations {
            before()
            let start = DispatchTime.now().uptimeNanoseconds
            _ = body(i + warmup)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        return samples.sorted()
    }

    private func format(_ sorted: [Double]) -> String {
        let median = sorted[sorted.count / 2], p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        return String(format: "%.2f / %.2f", median, p99)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }

    /// pgbench's TPC-B and select-only statements with random keys, as `-M simple` sends them.
    private func pgbenchHitRate(_ schema: ShardingSchema) {
        let router = Router(schema: schema)
        var generator = SystemRandomNumberGenerator()
        var statements = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<20_000 {
            let aid = Int.random(in: 1...500_000, using: &generator), tid = Int.random(in: 1...50, using: &generator)
            let bid = Int.random(in: 1...5, using: &generator), delta = Int.random(in: -5000...5000, using: &generator)
            for sql in [
                "BEGIN;",
                "UPDATE pgbench_accounts SET abalance = abalance + \(delta) WHERE aid = \(aid);",
                "SELECT abalance FROM pgbench_accounts WHERE aid = \(aid);",
                "UPDATE pgbench_tellers SET tbalance = tbalance + \(delta) WHERE tid = \(tid);",
                "UPDATE pgbench_branches SET bbalance = bbalance + \(delta) WHERE bid = \(bid);",
                "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (\(tid), \(bid), \(aid), \(delta), CURRENT_TIMESTAMP);",
                "END;",
                "SELECT abalance FROM pgbench_accounts WHERE aid = \(aid);",
            ] {
                _ = router.route(sql)
                statements += 1
            }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1000
        let statistics = router.planCacheStatistics
        let rate = Double(statistics.hits) / Double(max(1, statistics.hits + statistics.misses)) * 100
        print(String(format: "pgbench statements: %d routed, plan cache hit rate %.3f %% (%d hits, %d misses, %d plans), mean %.2f µs per statement",
                     statements, rate, statistics.hits, statistics.misses, statistics.count, elapsed / Double(statements)))
    }

    private static func analytic(_ i: Int) -> String {
        """
        WITH recent AS (
            SELECT o.user_id, o.id, o.total, o.created_at
            FROM orders o
            WHERE o.user_id = \(i)
              AND o.created_at >= DATE '2025-01-01'
              AND o.status IN ('paid', 'shipped', 'delivered')
        ),
        totals AS (
            SELECT r.user_id,
                   count(*) AS n,
                   sum(r.total) AS revenue,
                   avg(r.total) AS average,
                   max(r.created_at) AS last_order
            FROM recent r
            GROUP BY r.user_id
        )
        SELECT u.id,
               u.name,
               c.name AS country,
               t.n,
               t.revenue,
               round(t.average, 2) AS average,
               t.last_order,
               CASE WHEN t.revenue > 1000 THEN 'gold'
                    WHEN t.revenue > 100 THEN 'silver'
                    ELSE 'bronze' END AS tier
        FROM users u
        JOIN totals t ON t.user_id = u.id
        LEFT JOIN countries c ON c.code = u.country
        WHERE u.id = \(i)
          AND u.deleted_at IS NULL
        ORDER BY t.revenue DESC
        LIMIT 20
        """
    }
}
