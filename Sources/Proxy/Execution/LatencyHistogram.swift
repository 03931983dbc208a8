import Synchronization

/// A Prometheus histogram of durations kept in atomic counters: recording one is a few relaxed
/// atomic adds, where the metrics library's histogram takes a lock and compares `Duration`s per
/// bucket — per statement, that was a visible share of the single-shard path.
///
/// Each bucket counts the observations of its own range; ``render(into:name:labels:)`` sums
/// them into Prometheus' cumulative `le` buckets.
final class LatencyHistogram: Sendable {
    /// Upper bounds, in nanoseconds, ascending; the last bucket (`+Inf`) is implicit.
    let bounds: [UInt64]
    /// The bounds as Prometheus prints them (seconds).
    private let labels: [String]
    /// One counter per bound, then one for `+Inf`.
    private let buckets: [Tally]
    private let sum = Atomic<UInt64>(0)

    private final class Tally: Sendable {
        let count = Atomic<Int>(0)
    }

    /// `seconds`: the bucket bounds, ascending.
    init(seconds: [Double]) {
        bounds = seconds.map { UInt64(($0 * 1e9).rounded()) }
        labels = seconds.map { "\($0)" }
        buckets = (0...seconds.count).map { _ in Tally() }
    }

    func record(nanoseconds: UInt64) {
        var index = 0
        while index < bounds.count, nanoseconds > bounds[index] { index += 1 }
        buckets[index].count.add(1, ordering: .relaxed)
        sum.add(nanoseconds, ordering: .relaxed)
    }

    /// The `_bucket`, `_sum` and `_count` lines of one series; `labels` as Prometheus writes
    /// them inside the braces (`route="single"`), without a trailing comma.
    func render(into text: inout String, name: String, labels series: String) {
        var cumulative = 0
        for (index, bucket) in buckets.enumerated() {
            cumulative += bucket.count.load(ordering: .relaxed)
            let bound = index < labels.count ? labels[index] : "+Inf"
            text += "\(name)_bucket{\(series),le=\"\(bound)\"} \(cumulative)\n"
        }
        let seconds = Double(sum.load(ordering: .relaxed)) / 1e9
        text += "\(name)_sum{\(series)} \(seconds)\n"
        text += "\(name)_count{\(series)} \(cumulative)\n"
    }
}
