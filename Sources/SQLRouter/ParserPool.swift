import Foundation

/// A small fixed set of threads with very large stacks on which statements are parsed and
/// analysed.
///
/// libpg_query recurses without a limit: the JSON of a 1 MiB `SELECT 1+1+…` needs about
/// 70–130 MiB of stack, far beyond the 8 MiB of a normal thread (measured with libpg_query
/// 15-4.0.0: 64 MiB crashes, 128 MiB holds). The stack is virtual memory, so only the pages a
/// statement touches cost anything. Callers block until their job is done: routing stays a
/// plain synchronous function.
final class ParserPool: @unchecked Sendable {
    // Invariant: `pending` is read and written only while `condition` is locked; each job's
    // result is written by one worker before it signals the job's semaphore and read by the
    // caller only after waiting on it.
    private let condition = NSCondition()
    private var pending: [@Sendable () -> Void] = []
    private var head = 0

    /// The stack size of every worker thread, in bytes.
    let stackSize: Int

    /// Starts `threadCount` worker threads with `stackSize`-byte stacks. They live as long as the
    /// process: pools are shared (see ``shared(stackSize:)``), never torn down.
    init(threadCount: Int, stackSize: Int) {
        self.stackSize = stackSize
        for number in 0..<threadCount {
            let thread = Thread { [self] in workLoop() }
            thread.name = "pgshard-parser-\(number)"
            thread.stackSize = stackSize
            thread.start()
        }
    }

    /// Runs `job` on a worker thread and returns its result; the calling thread waits.
    func run<Result: Sendable>(_ job: @escaping @Sendable () -> Result) -> Result {
        let box = ResultBox<Result>()
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        pending.append {
            box.value = job()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return box.value!
    }

    private func workLoop() {
        while true {
            condition.lock()
            while head == pending.count {
                condition.wait()
            }
            let job = pending[head]
            head += 1
            if head == pending.count {
                pending.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job()
        }
    }

    /// Threads per pool: parsing takes microseconds, so two threads keep up with many client
    /// loops while bounding the memory a burst of hostile statements can pin.
    static let threadCount = 2

    /// The smallest worker stack, in bytes: 256 MiB, twice what a 1 MiB `1+1+…` needs.
    static let minimumStackSize = 256 << 20

    /// The worker stack `limits` need, in whole MiB and at least ``minimumStackSize``: 256 bytes
    /// per byte of statement text for libpg_query (which needs about 130), or 4 KiB per level of
    /// nesting for decoding and analysis (which need about 1.4 KiB in a debug build), whichever
    /// is more: libpg_query's frames are gone before decoding starts.
    static func stackSize(for limits: RouterLimits) -> Int {
        let megabyte = 1 << 20
        let wanted = max(limits.maxStatementBytes * 256, limits.maxNestingDepth * 4096)
        return max(minimumStackSize, (wanted + megabyte - 1) / megabyte * megabyte)
    }

    /// The process-wide pool whose threads have `stackSize`-byte stacks, started on first use.
    static func shared(stackSize: Int) -> ParserPool {
        registry.pool(stackSize: stackSize)
    }

    private static let registry = Registry()

    private final class Registry: @unchecked Sendable {
        // Invariant: `pools` is touched only while `lock` is held.
        private let lock = NSLock()
        private var pools: [Int: ParserPool] = [:]

        func pool(stackSize: Int) -> ParserPool {
            lock.lock()
            defer { lock.unlock() }
            if let pool = pools[stackSize] { return pool }
            let pool = ParserPool(threadCount: ParserPool.threadCount, stackSize: stackSize)
            pools[stackSize] = pool
            return pool
        }
    }
}

/// Carries a job's result from the worker to the waiting caller.
private final class ResultBox<Value>: @unchecked Sendable {
    // Invariant: written once by the worker before it signals, read by the caller after waiting.
    var value: Value?
}
