import CoreMetrics
import Foundation
import Prometheus
import SQLRouter

/// The proxy's Prometheus metrics, made through swift-metrics with a swift-prometheus factory of
/// this server's own (no process-wide bootstrap: several servers can run in one process, as in
/// the tests). `render()` is what `GET /metrics` answers.
final class ProxyMetrics: @unchecked Sendable {
    /// How a statement was routed, as the `route` label says.
    enum RouteKind: String, CaseIterable {
        case single, any, multi, all, session, refused
    }

    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let statements: [RouteKind: CoreMetrics.Counter]
    private let durations: [RouteKind: CoreMetrics.Timer]
    private let lock = NSLock()
    private var errors: [String: CoreMetrics.Counter] = [:]
    private let clients: Prometheus.Gauge
    private let planHits: Prometheus.Gauge
    private let planMisses: Prometheus.Gauge
    private let planEntries: Prometheus.Gauge

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
        ]
        self.factory = factory
        var statements: [RouteKind: CoreMetrics.Counter] = [:]
        var durations: [RouteKind: CoreMetrics.Timer] = [:]
        for kind in RouteKind.allCases {
            statements[kind] = CoreMetrics.Counter(label: "pgshard_statements_total", dimensions: [("route", kind.rawValue)], factory: factory)
            durations[kind] = CoreMetrics.Timer(label: "pgshard_statement_duration_seconds", dimensions: [("route", kind.rawValue)], factory: factory)
        }
        self.statements = statements
        self.durations = durations
        clients = registry.makeGauge(name: "pgshard_client_connections", help: "Client connections open now.")
        planHits = registry.makeGauge(name: "pgshard_plan_cache_hits", help: "Statements routed from the plan cache since start.")
        planMisses = registry.makeGauge(name: "pgshard_plan_cache_misses", help: "Statements parsed to fill the plan cache since start.")
        planEntries = registry.makeGauge(name: "pgshard_plan_cache_entries", help: "Plans in the plan cache.")
    }

    /// The `route` label of a route.
    static func kind(of route: Route, shardCount: Int) -> RouteKind {
        switch route {
        case .shard: .single
        case .anyShard: .any
        case .scatter(let shards, _): shards.count >= shardCount ? .all : .multi
        case .allShards, .insertSplit: .all
        case .session: .session
        case .refuse: .refused
        case .explain(let inner, _): kind(of: inner, shardCount: shardCount)
        }
    }

    /// A statement was routed.
    func statement(_ kind: RouteKind) {
        statements[kind]?.increment()
    }

    /// A statement (or a message sent to one shard as a whole) ran this long.
    func duration(_ kind: RouteKind, nanoseconds: UInt64) {
        durations[kind]?.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// An error went to a client: counted by SQLSTATE class (its first two characters).
    func error(sqlState: String) {
        let errorClass = String(sqlState.prefix(2))
        lock.lock()
        let counter = errors[errorClass] ?? {
            let made = CoreMetrics.Counter(label: "pgshard_errors_total", dimensions: [("class", errorClass)], factory: factory)
            errors[errorClass] = made
            return made
        }()
        lock.unlock()
        counter.increment()
    }

    /// The Prometheus text format, with the gauges read now.
    func render(clientConnections: Int, router: Router) -> String {
        clients.set(Double(clientConnections))
        let cache = router.planCacheStatistics
        planHits.set(Double(cache.hits))
        planMisses.set(Double(cache.misses))
        planEntries.set(Double(cache.count))
        return registry.emitToString()
    }
}
