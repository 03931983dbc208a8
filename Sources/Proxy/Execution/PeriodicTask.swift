import Dispatch

/// Work that runs on its own serial queue every few seconds until stopped: the background
/// readers of shard state (row estimates, in-doubt transaction recovery).
final class PeriodicTask: @unchecked Sendable {
    /// Where the work runs; also where its owner keeps the state the work touches.
    let queue: DispatchQueue
    // Touched on `queue` only.
    private var timer: DispatchSourceTimer?

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Whether it runs (started and not stopped); read on `queue`.
    var isRunning: Bool { timer != nil }

    /// Runs `body` first after `delay` seconds, then every `interval` seconds.
    func start(after delay: Double, every interval: Double, _ body: @escaping @Sendable () -> Void) {
        queue.async { [self] in
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + delay, repeating: interval)
            timer.setEventHandler(handler: body)
            timer.resume()
            self.timer = timer
        }
    }

    /// Stops it; a run in progress finishes first.
    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }
}
