import Synchronization

/// What the connections to one shard carried: statements completed, rows and bytes of rows
/// received, errors. Shared by every connection to the shard, whatever its loop; read by the metrics.
public final class ShardTraffic: Sendable {
    public let statements = Atomic<Int>(0)
    public let rows = Atomic<Int>(0)
    public let bytes = Atomic<Int>(0)
    public let errors = Atomic<Int>(0)

    public init() {}
}
