import Backend
import Dispatch
import Foundation

/// Reads, every `interval` seconds, each shard's estimate of the rows of every sharded table
/// (`pg_class.reltuples`, kept by ANALYZE and autovacuum: no table scan) into the metrics, for
/// the row-count skew alert. A shard that cannot be reached keeps its last figures.
final class RowEstimates: @unchecked Sendable {
    private let context: ProxyContext
    private let interval: Double
    private let task = PeriodicTask(label: "pgshard.row-estimates")

    init(context: ProxyContext, interval: Double = 60) {
        self.context = context
        self.interval = interval
    }

    func start() {
        task.start(after: 0, every: interval) { [weak self] in self?.refresh() }
    }

    func stop() {
        task.stop()
    }

    /// One round over every shard, now (on the caller's thread).
    func refresh() {
        let tables = context.config.tables.compactMap { name, table -> String? in
            if case .sharded = table { return name }
            return nil
        }.sorted()
        guard !tables.isEmpty else { return }
        let list = "{" + tables.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
        for (index, shard) in context.config.shards.enumerated() {
            guard let connection = try? BlockingConnection(conninfo: shard.primary, timeout: Int(context.config.backend.connectTimeout.rounded(.up))),
                  let rows = try? connection.query(
                      "SELECT c.relname::text, c.reltuples::float8 FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p') "
                          + "AND c.relname = ANY($1::text[]) AND pg_catalog.pg_table_is_visible(c.oid)",
                      parameters: [Array(list.utf8)])
            else { continue }
            for row in rows {
                // -1: never analyzed, no estimate yet.
                guard let name = row[0] ?? nil, let text = row[1] ?? nil, let value = Double(text), value >= 0 else { continue }
                context.metrics.tableRows(shard: index, table: name, rows: value)
            }
        }
    }
}
