import CEpoll
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One thread that owns a set of sockets, timers and queued work, and runs all of it itself:
/// it blocks in `epoll_wait`, then runs the handlers of the ready sockets, the work other
/// threads gave it, the timers that are due and the work put after them, and waits again.
///
/// Everything a client session does is confined to its loop, so none of it takes a lock. The
/// loop thread is the only executor: there is no libdispatch queue to enter per turn (a
/// `DispatchQueue.sync` converts its closure to a block on every call) and no worker thread to
/// wake for a timer or for work queued from the loop itself. Other threads reach the loop with
/// `async` (a locked list and an eventfd) or `sync` (the same, then a wait).
///
/// A loop lives as long as the process, like its thread.
public final class EventLoop: @unchecked Sendable {
    public let label: String
    private let epoll: Int32
    /// Written by other threads to wake the loop; its epoll token is 0 (registrations use
    /// their address, never 0).
    private let wakeup: Int32
    /// The loop's thread; set before `init` returns.
    private var thread = pthread_t()

    private let lock = NSLock()
    // Guarded by `lock`: work other threads gave the loop, run in the next turn.
    private var posted: [DeferredWork] = []

    // Touched on the loop thread only.
    /// Whether a turn is running (always, for code the loop runs).
    private var firing = false
    /// Work `soon` put after the turn's handlers, and the list being run (swapped, so that
    /// neither array is made again each turn).
    private var deferred: [DeferredWork] = []
    private var running: [DeferredWork] = []
    /// Work the loop gave itself with `async`: the next turn runs it, without blocking first.
    private var later: [DeferredWork] = []
    private var foreign: [DeferredWork] = []
    private var timers = TimerHeap()
    /// Registrations taken out of epoll in this turn: kept alive until it ends, because the
    /// turn's batch of events may still name them.
    private var removed: [PollRegistration] = []

    public init(label: String) {
        self.label = label
        epoll = pgshard_epoll_create()
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        wakeup = pgshard_eventfd_create()
        precondition(wakeup >= 0, "eventfd failed: errno \(errno)")
        precondition(pgshard_epoll_ctl(epoll, Self.add, wakeup, pgshard_epoll_in, 0) == 0, "epoll_ctl failed: errno \(errno)")
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            self.thread = pthread_self()
            started.signal()
            run()
        }
        thread.name = label
        thread.qualityOfService = .userInteractive
        thread.start()
        started.wait()
    }

    /// Whether the caller runs on this loop's thread.
    public var inLoop: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Whether the loop is running a turn and the caller is part of it: work given to `soon`
    /// runs before the turn ends.
    public var isFiring: Bool { firing && inLoop }

    // MARK: Work

    /// Runs `work` on the loop: from another thread, in its next turn; from the loop itself,
    /// in the turn after this one (other sockets' events may come first, as with a queue).
    public func async(execute work: @escaping @Sendable () -> Void) {
        if inLoop {
            later.append(.closure(work))
            return
        }
        post(.closure(work))
    }

    /// Runs `work` on the loop and waits for it. Called on the loop, it runs `work` at once.
    /// Never call it from another loop that this one may `sync` with (each would wait for the
    /// other).
    public func sync<T>(execute work: () -> T) -> T {
        if inLoop { return work() }
        return withoutActuallyEscaping(work) { work in
            let call = SyncCall(work)
            post(.closure(UncheckedHandler(call.run).body))
            call.done.wait()
            return call.result!
        }
    }

    /// A `sync` call's work and result. The loop lets go of the work before it signals:
    /// `withoutActuallyEscaping` traps if the closure outlives the call.
    private final class SyncCall<T> {
        var work: (() -> T)?
        var result: T?
        let done = DispatchSemaphore(value: 0)

        init(_ work: @escaping () -> T) { self.work = work }

        func run() {
            result = work?()
            work = nil
            done.signal()
        }
    }

    /// Runs `work` after the handlers and tasks of the current turn, before the loop waits
    /// again; outside a turn of this loop, as `async`.
    func soon(_ work: consuming DeferredWork) {
        // Consumed: moved into the list, without a copy (a retain) and its release.
        if firing, inLoop {
            deferred.append(consume work)
        } else if inLoop {
            later.append(consume work)
        } else {
            post(consume work)
        }
    }

    private func post(_ work: consuming DeferredWork) {
        lock.lock()
        let wasEmpty = posted.isEmpty
        posted.append(consume work)
        lock.unlock()
        // A wake-up is already on its way when the list was not empty: the turn that drains
        // the eventfd takes every item posted before it locks.
        if wasEmpty { pgshard_eventfd_signal(wakeup) }
    }

    // MARK: Timers

    /// Runs `work` on the loop after `seconds`, and then every `interval` seconds if given,
    /// until the returned timer is cancelled.
    @discardableResult
    public func schedule(after seconds: Double, every interval: Double? = nil, _ work: @escaping () -> Void) -> LoopTimer {
        let timer = LoopTimer(
            deadline: monotonicNanoseconds() &+ Self.nanoseconds(seconds),
            interval: interval.map(Self.nanoseconds) ?? 0,
            work: work)
        if inLoop {
            timers.push(timer)
        } else {
            let job = UncheckedHandler { [self] in timers.push(timer) }
            post(.closure(job.body))
        }
        return timer
    }

    private static func nanoseconds(_ seconds: Double) -> UInt64 {
        seconds <= 0 ? 0 : UInt64(min(seconds, 1e9) * 1e9)
    }

    // MARK: Sockets

    /// Makes epoll report what the registration wants. Interest is added at once; interest
    /// dropped stays armed until an event for it arrives (then `fire` disarms it): sessions
    /// turn reading off and on around every statement, and most of those turns would
    /// otherwise cost two `epoll_ctl` calls for nothing.
    func update(_ registration: PollRegistration, lazily: Bool = true) {
        assert(inLoop, "\(label): socket interest changed off the loop")
        let wanted = registration.wantedMask
        if lazily, wanted & ~registration.armed == 0 { return }
        if wanted == 0 {
            remove(registration)
            return
        }
        let token = UInt64(UInt(bitPattern: Unmanaged.passUnretained(registration).toOpaque()))
        if registration.registered {
            _ = pgshard_epoll_ctl(epoll, Self.modify, registration.fileDescriptor, wanted, token)
        } else if pgshard_epoll_ctl(epoll, Self.add, registration.fileDescriptor, wanted, token) == 0 {
            // epoll holds the address: the loop holds the registration until it is removed.
            _ = Unmanaged.passRetained(registration)
            registration.registered = true
        }
        registration.armed = registration.registered ? wanted : 0
    }

    /// Takes the registration out of epoll (no handler of it runs afterwards).
    func remove(_ registration: PollRegistration) {
        guard registration.registered else { return }
        registration.registered = false
        registration.armed = 0
        _ = pgshard_epoll_ctl(epoll, Self.delete, registration.fileDescriptor, 0, 0)
        removed.append(registration)
        Unmanaged.passUnretained(registration).release()
    }

    private static let (add, delete, modify): (Int32, Int32, Int32) = (1, 2, 3)

    // MARK: The loop

    private func run() {
        let capacity = 64
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        while true {
            let timeout = later.isEmpty ? timers.timeoutMilliseconds(now: monotonicNanoseconds()) : 0
            let count = pgshard_epoll_wait(epoll, tokens, events, Int32(capacity), timeout)
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait failed: errno \(errno)")
            }
            firing = true
            var woken = false
            for i in 0..<Int(count) {
                guard tokens[i] != 0, let address = UnsafeRawPointer(bitPattern: UInt(tokens[i])) else {
                    woken = true
                    continue
                }
                // No retain: the loop holds the registration until the turn ends (see `remove`).
                Unmanaged<PollRegistration>.fromOpaque(address)._withUnsafeGuaranteedRef { fire($0, events[i]) }
            }
            if woken { runPosted() }
            if !later.isEmpty {
                swap(&later, &foreign)
                Self.runAndEmpty(&foreign)
            }
            if !timers.isEmpty {
                // Mostly none is due (the pools' idle sweeps run once a second): no call then.
                let now = monotonicNanoseconds()
                if timers.hasDue(now: now) { runTimers(now: now) }
            }
            while !deferred.isEmpty {
                swap(&deferred, &running)
                Self.runAndEmpty(&running)
            }
            firing = false
            if !removed.isEmpty { removed.removeAll(keepingCapacity: true) }
        }
    }

    private func runPosted() {
        pgshard_eventfd_drain(wakeup)
        lock.lock()
        swap(&posted, &foreign)
        lock.unlock()
        Self.runAndEmpty(&foreign)
    }

    /// Runs the list in order and empties it, keeping its storage. (`removeAll(keepingCapacity:)`
    /// goes through the generic `replaceSubrange`, which cost more than the list's work.)
    private static func runAndEmpty(_ list: inout [DeferredWork]) {
        // Each item is moved out of the list to run, and a placeholder that holds nothing
        // left in its place: running `list[index]` would copy it first (a retain and a release
        // of its closure or object, for every item). Nothing a work item calls touches the list
        // being run: `soon` and `async` append to `deferred` and `later`, and this list was
        // swapped out of those (or of `posted`) before it runs.
        list.withUnsafeMutableBufferPointer { items in
            guard let first = items.baseAddress else { return }
            for index in items.indices {
                let work = (first + index).move()
                (first + index).initialize(to: .ran)
                work.run()
            }
        }
        while !list.isEmpty { list.removeLast() }
    }

    private func runTimers(now: UInt64) {
        while let timer = timers.popDue(now: now) {
            guard let work = timer.work else { continue }
            if timer.interval > 0 {
                timer.deadline = now &+ timer.interval
                timers.push(timer)
            } else {
                timer.work = nil
            }
            work()
        }
    }

    /// Calls the socket's handlers, as its owner wants them now (an earlier handler of the
    /// batch may have changed that). A hang-up or error goes to whichever handler is on: its
    /// read or write then fails and the owner closes.
    private func fire(_ registration: PollRegistration, _ events: UInt32) {
        guard registration.registered else { return }
        let readable = pgshard_epoll_in | pgshard_epoll_rdhup | pgshard_epoll_hup | pgshard_epoll_err
        let writable = pgshard_epoll_out | pgshard_epoll_hup | pgshard_epoll_err
        // An event for a direction not wanted when it came: disarm that now (see `update`).
        let stray = events & readable != 0 && !registration.wantsRead
            || events & pgshard_epoll_out != 0 && !registration.wantsWrite
        if events & readable != 0, registration.wantsRead, !registration.cancelled {
            registration.onReadable()
        }
        if events & writable != 0, registration.wantsWrite, !registration.cancelled {
            registration.onWritable()
        }
        if stray, !registration.cancelled, registration.armed & ~registration.wantedMask != 0 {
            update(registration, lazily: false)
        }
    }
}

/// Work scheduled on a loop after a delay (``EventLoop/schedule(after:every:_:)``). Cancel it
/// on the loop; a cancelled timer lets go of its work at once.
public final class LoopTimer: @unchecked Sendable {
    fileprivate var work: (() -> Void)?
    fileprivate var deadline: UInt64
    fileprivate let interval: UInt64

    fileprivate init(deadline: UInt64, interval: UInt64, work: @escaping () -> Void) {
        self.deadline = deadline
        self.interval = interval
        self.work = work
    }

    /// It does not run (again).
    public func cancel() { work = nil }
}

/// The loop's timers by deadline: a binary min-heap. Cancelled timers stay until their
/// deadline and are skipped then.
private struct TimerHeap {
    private var items: [LoopTimer] = []

    var isEmpty: Bool { items.isEmpty }

    /// How long `epoll_wait` may block: until the first deadline (rounded up), or for ever.
    func timeoutMilliseconds(now: UInt64) -> Int32 {
        guard let first = items.first else { return -1 }
        guard first.deadline > now else { return 0 }
        return Int32(min((first.deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }

    mutating func push(_ timer: LoopTimer) {
        items.append(timer)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// The first timer is due.
    func hasDue(now: UInt64) -> Bool {
        guard let first = items.first else { return false }
        return first.deadline <= now
    }

    /// The first timer if it is due, taken out.
    mutating func popDue(now: UInt64) -> LoopTimer? {
        guard let first = items.first, first.deadline <= now else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return first }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { break }
            let right = left + 1
            let smaller = right < items.count && items[right].deadline < items[left].deadline ? right : left
            guard items[smaller].deadline < items[parent].deadline else { break }
            items.swapAt(smaller, parent)
            parent = smaller
        }
        return first
    }
}
