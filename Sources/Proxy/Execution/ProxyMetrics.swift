import Backend
import CoreMetrics
import Foundation
import Prometheus
import Synchronization
import SQLRouter

/// The proxy's Prometheus metrics, made through swift-metrics with a swift-prometheus factory of
/// this server's own (no process-wide bootstrap: several servers can run in one process, as in
/// the tests). `render()` is what `GET /metrics` answers.
final class ProxyMetrics: @unchecked Sendable {
    /// How a statement was routed, as the `route` label says.
    enum RouteKind: String, CaseIterable {
        case single, any, multi, all, session, refused

        /// Its place in `allCases`: the per-kind metrics are arrays (a dictionary lookup would
        /// hash the raw string on every statement).
        var ordinal: Int {
            switch self {
            case .single: 0
            case .any: 1
            case .multi: 2
            case .all: 3
            case .session: 4
            case .refused: 5
            }
        }
    }

    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// Statement latency by ``RouteKind/ordinal``: atomic counters rendered by this type (see
    /// ``LatencyHistogram``), like the statement counts in ``routed``.
    private let durations: [LatencyHistogram]
    private let lock = NSLock()
    /// Counters with one label whose values appear as they happen (error classes, outcomes).
    private var labeledCounters: [String: CoreMetrics.Counter] = [:]
    private let clients: Prometheus.Gauge
    private let planHits: Prometheus.Gauge
    private let planMisses: Prometheus.Gauge
    private let planEntries: Prometheus.Gauge
    /// Per shard (in shard order): what its connections carried, its counters in the registry
    /// with the values they were last set from, and single-shard statement latency.
    let traffic: [ShardTraffic]
    private let shardNames: [String]
    private let shardCounters: [(statements: Prometheus.Counter, rows: Prometheus.Counter, bytes: Prometheus.Counter, errors: Prometheus.Counter)]
    private var rendered: [(statements: Int, rows: Int, bytes: Int, errors: Int)]
    private let shardDurations: [LatencyHistogram]
    private let crossShardRatio: Prometheus.Gauge
    /// Estimated rows per shard and table (`pg_class.reltuples`), set by ``RowEstimates``.
    private var tableRows: [String: Prometheus.Gauge] = [:]
    /// Pool gauges per shard: connections by state, clients waiting; wait timeouts.
    private let poolGauges: [(active: Prometheus.Gauge, idle: Prometheus.Gauge, connecting: Prometheus.Gauge, waiting: Prometheus.Gauge, size: Prometheus.Gauge)]
    private let poolTimeouts: [Prometheus.Counter]
    private var renderedTimeouts: [Int]

    init(shardNames: [String] = []) {
        self.factory = PrometheusMetricsFactory(registry: registry)
        self.durations = RouteKind.allCases.map { _ in LatencyHistogram(seconds: Self.latencyBuckets) }
        clients = registry.makeGauge(name: "pgshard_client_connections", help: "Client connections open now.")
        planHits = registry.makeGauge(name: "pgshard_plan_cache_hits", help: "Statements routed from the plan cache since start.")
        planMisses = registry.makeGauge(name: "pgshard_plan_cache_misses", help: "Statements parsed to fill the plan cache since start.")
        planEntries = registry.makeGauge(name: "pgshard_plan_cache_entries", help: "Plans in the plan cache.")
        self.shardNames = shardNames
        traffic = shardNames.map { _ in ShardTraffic() }
        let registry = self.registry
        shardCounters = shardNames.map { name in
            (registry.makeCounter(name: "pgshard_shard_statements_total", labels: [("shard", name)],
                                  help: "Statements each shard completed (pgshard's own BEGIN/COMMIT and setting replays included)."),
             registry.makeCounter(name: "pgshard_shard_rows_total", labels: [("shard", name)], help: "Rows each shard returned."),
             registry.makeCounter(name: "pgshard_shard_bytes_total", labels: [("shard", name)], help: "Bytes of the rows each shard returned."),
             registry.makeCounter(name: "pgshard_shard_errors_total", labels: [("shard", name)], help: "Errors each shard answered."))
        }
        rendered = shardNames.map { _ in (0, 0, 0, 0) }
        shardDurations = shardNames.map { _ in LatencyHistogram(seconds: Self.latencyBuckets) }
        poolGauges = shardNames.map { name in
            func gauge(_ state: String) -> Prometheus.Gauge {
                registry.makeGauge(name: "pgshard_pool_connections", labels: [("shard", name), ("state", state)],
                                   help: "Shard connections by state (active: lent to a client).")
            }
            return (gauge("active"), gauge("idle"), gauge("connecting"),
                    registry.makeGauge(name: "pgshard_pool_waiting_clients", labels: [("shard", name)], help: "Clients waiting for a connection."),
                    registry.makeGauge(name: "pgshard_pool_size", labels: [("shard", name)], help: "The most connections to each shard (pool.size)."))
        }
        poolTimeouts = shardNames.map { name in
            registry.makeCounter(name: "pgshard_pool_wait_timeouts_total", labels: [("shard", name)],
                                 help: "Clients that waited pool.query_wait_timeout for a connection and got 53300.")
        }
        renderedTimeouts = shardNames.map { _ in 0 }
        crossShardRatio = registry.makeGauge(name: "pgshard_cross_shard_ratio",
                                             help: "Share of routed data statements that needed more than one shard, since start.")
    }

    /// The latency histograms' bounds: 100 µs to 5 s.
    static let latencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5]

    /// A statement that ran on one shard took this long (per-shard latency).
    func shardDuration(_ shard: Int, nanoseconds: UInt64) {
        guard shard < shardDurations.count else { return }
        shardDurations[shard].record(nanoseconds: nanoseconds)
    }

    /// The estimated row count of `table` on `shard` (`pg_class.reltuples`).
    func tableRows(shard: Int, table: String, rows: Double) {
        guard shard < shardNames.count else { return }
        let key = shardNames[shard] + "\u{0}" + table
        lock.lock()
        let gauge = tableRows[key] ?? {
            let made = registry.makeGauge(name: "pgshard_shard_table_rows", labels: [("shard", shardNames[shard]), ("table", table)],
                                          help: "Estimated rows of each sharded table on each shard (pg_class.reltuples).")
            tableRows[key] = made
            return made
        }()
        lock.unlock()
        gauge.set(rows)
    }

    /// The `route` label of a route.
    static func kind(of route: Route, shardCount: Int) -> RouteKind {
        switch route {
        case .shard: .single
        case .anyShard: .any
        case .scatter(let shards, _): shards.count >= shardCount ? .all : .multi
        case .insertSplit(let parts) where parts.count == 1: .single  // generated keys written in
        case .allShards, .insertSplit: .all
        case .copyIn(let plan): plan.shards.count >= shardCount ? .all : plan.shards.count == 1 ? .single : .multi
        case .cursor(.declare(let cursor)):
            switch cursor.placement {
            case .shard: .single
            case .anyShard: .any
            case .shards(let shards): shards.count >= shardCount ? .all : .multi
            }
        case .cursor(.currentOf): .single
        case .cursor: .session  // where the session's cursor lives
        case .session: .session
        case .refuse: .refused
        case .explain(let inner, _): kind(of: inner, shardCount: shardCount)
        }
    }

    /// A statement was routed.
    func statement(_ kind: RouteKind) {
        routed[kind.ordinal].count.add(1, ordering: .relaxed)
    }

    /// Statements by route since start: `pgshard_statements_total` and the cross-shard ratio
    /// (no lock on the statement path).
    private let routed: [Tally] = RouteKind.allCases.map { _ in Tally() }

    private final class Tally: Sendable {
        let count = Atomic<Int>(0)
    }

    /// A statement (or a message sent to one shard as a whole) ran this long.
    func duration(_ kind: RouteKind, nanoseconds: UInt64) {
        durations[kind.ordinal].record(nanoseconds: nanoseconds)
    }

    /// An error went to a client: counted by SQLSTATE class (its first two characters).
    func error(sqlState: String) {
        count("pgshard_errors_total", "class", String(sqlState.prefix(2)))
    }

    /// A transaction that wrote on several shards ended its two-phase commit: `committed`,
    /// `aborted` or `unknown` (the coordinator's answer was lost; recovery decides).
    func twoPhaseCommit(outcome: String) {
        count("pgshard_two_phase_commits_total", "outcome", outcome)
    }

    /// Recovery ended a prepared transaction a crash or a lost shard left behind.
    func transactionRecovered(decision: String) {
        count("pgshard_recovered_transactions_total", "decision", decision)
    }

    /// Increments the counter `name{label=value}`, made on first use.
    private func count(_ name: String, _ label: String, _ value: String) {
        let key = name + "\u{0}" + value
        lock.lock()
        let counter = labeledCounters[key] ?? {
            let made = CoreMetrics.Counter(label: name, dimensions: [(label, value)], factory: factory)
            labeledCounters[key] = made
            return made
        }()
        lock.unlock()
        counter.increment()
    }

    /// The pools' state now (from ``PoolMonitor``s of every worker), for the pool gauges.
    func pools(_ pools: [ShardPool]) {
        var totals = Array(repeating: (active: 0, idle: 0, connecting: 0, waiting: 0, timeouts: 0, size: 0), count: poolGauges.count)
        for pool in pools where pool.shard < totals.count {
            let counts = pool.monitor.counts
            totals[pool.shard].active += counts.active
            totals[pool.shard].idle += counts.idle
            totals[pool.shard].connecting += counts.connecting
            totals[pool.shard].waiting += counts.waiting
            totals[pool.shard].timeouts += counts.timeouts
            totals[pool.shard].size += pool.size
        }
        lock.lock()
        defer { lock.unlock() }
        for (index, total) in totals.enumerated() {
            poolGauges[index].active.set(Double(total.active))
            poolGauges[index].idle.set(Double(total.idle))
            poolGauges[index].connecting.set(Double(total.connecting))
            poolGauges[index].waiting.set(Double(total.waiting))
            poolGauges[index].size.set(Double(total.size))
            if total.timeouts > renderedTimeouts[index] {
                poolTimeouts[index].increment(by: Int64(total.timeouts - renderedTimeouts[index]))
                renderedTimeouts[index] = total.timeouts
            }
        }
    }

    /// The Prometheus text format, with the gauges read now.
    func render(clientConnections: Int, router: Router) -> String {
        clients.set(Double(clientConnections))
        let cache = router.planCacheStatistics
        planHits.set(Double(cache.hits))
        planMisses.set(Double(cache.misses))
        planEntries.set(Double(cache.count))
        lock.lock()
        for (index, counters) in shardCounters.enumerated() {
            let now = (traffic[index].statements.load(ordering: .relaxed), traffic[index].rows.load(ordering: .relaxed),
                       traffic[index].bytes.load(ordering: .relaxed), traffic[index].errors.load(ordering: .relaxed))
            counters.statements.increment(by: Int64(now.0 - rendered[index].statements))
            counters.rows.increment(by: Int64(now.1 - rendered[index].rows))
            counters.bytes.increment(by: Int64(now.2 - rendered[index].bytes))
            counters.errors.increment(by: Int64(now.3 - rendered[index].errors))
            rendered[index] = now
        }
        lock.unlock()
        func routedCount(_ kind: RouteKind) -> Int { routed[kind.ordinal].count.load(ordering: .relaxed) }
        let data = [RouteKind.single, .any, .multi, .all].reduce(0) { $0 + routedCount($1) }
        let cross = routedCount(.multi) + routedCount(.all)
        crossShardRatio.set(data == 0 ? 0 : Double(cross) / Double(data))
        var text = registry.emitToString()
        renderStatementSeries(into: &text)
        return text
    }

    /// The series this type keeps itself: statements by route, and the latency histograms.
    private func renderStatementSeries(into text: inout String) {
        text += "# TYPE pgshard_statements_total counter\n"
        for kind in RouteKind.allCases {
            text += "pgshard_statements_total{route=\"\(kind.rawValue)\"} \(routed[kind.ordinal].count.load(ordering: .relaxed))\n"
        }
        text += "# TYPE pgshard_statement_duration_seconds histogram\n"
        for kind in RouteKind.allCases {
            durations[kind.ordinal].render(into: &text, name: "pgshard_statement_duration_seconds", labels: "route=\"\(kind.rawValue)\"")
        }
        text += "# TYPE pgshard_shard_statement_duration_seconds histogram\n"
        for (index, name) in shardNames.enumerated() {
            shardDurations[index].render(into: &text, name: "pgshard_shard_statement_duration_seconds", labels: "shard=\"\(name)\"")
        }
    }
}
