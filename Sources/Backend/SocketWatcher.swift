import CEpoll
import Dispatch
import Foundation

/// Watches one non-blocking socket for the serial queue of the session that owns it: the
/// handlers run on that queue (confined to it, like everything the session does).
///
/// Readiness comes from a ``PollThread`` — one thread per queue blocked in `epoll_wait` — which
/// runs the handlers of every ready socket itself, inside one `queue.sync`. A Dispatch source
/// would deliver each event through libdispatch's manager thread and then wake a worker thread
/// to drain the queue: two thread switches per readiness, which on the single-shard path cost
/// more than routing the statement.
///
/// The descriptor must not be closed while it is registered (a reused number would then be
/// watched for the wrong socket): callers say which directions they want and, when done,
/// `cancel(then:)` unregisters it and only then runs their `close`.
///
/// Confined to `queue`: every method must be called on it.
public final class SocketWatcher {
    public let fileDescriptor: Int32
    private let registration: PollRegistration
    private let poller: PollThread
    private let queue: DispatchQueue

    public init(
        fileDescriptor: Int32,
        queue: DispatchQueue,
        onReadable: @escaping () -> Void,
        onWritable: @escaping () -> Void
    ) {
        self.fileDescriptor = fileDescriptor
        self.queue = queue
        poller = PollThread.serving(queue)
        registration = PollRegistration(fileDescriptor: fileDescriptor, onReadable: onReadable, onWritable: onWritable)
    }

    /// Whether the owner wants to hear that the socket is readable.
    public var wantsRead: Bool {
        get { registration.wantsRead }
        set {
            guard !registration.cancelled, newValue != registration.wantsRead else { return }
            registration.wantsRead = newValue
            poller.update(registration)
        }
    }

    /// Whether the owner wants to hear that the socket is writable. Keep it off unless output
    /// is pending: a writable socket fires continuously.
    public var wantsWrite: Bool {
        get { registration.wantsWrite }
        set {
            guard !registration.cancelled, newValue != registration.wantsWrite else { return }
            registration.wantsWrite = newValue
            poller.update(registration)
        }
    }

    /// Runs `work` on the queue soon: right after the socket events being handled now, in the
    /// same turn of the poll thread, or (called outside one) as a queue task. Cheaper than
    /// `queue.async`, which would wake another thread and then make the poll thread wait for it.
    public func soon(_ work: @escaping () -> Void) {
        poller.soon(.closure(work))
    }

    /// Like the closure form, for work an object does (``TurnEndWork``): no closure is
    /// made, which matters for the flushes scheduled with every statement.
    public func soon(_ work: any TurnEndWork) {
        poller.soon(.object(work))
    }

    /// Whether the poll thread is running socket handlers of this queue now (the caller is one
    /// of them, or runs inside one): work given to `soon` runs before the turn ends.
    public var isHandlingEvents: Bool { poller.isFiring }

    /// Stops watching; `close` runs afterwards on the queue, and is where the owner closes the
    /// descriptor (or hands it to `PQfinish`).
    public func cancel(then close: @escaping () -> Void) {
        guard !registration.cancelled else { return }
        registration.cancelled = true
        poller.remove(registration)
        let close = UncheckedHandler(close)
        queue.async { close.body() }
    }

    deinit {
        precondition(registration.cancelled, "SocketWatcher released without cancel(then:)")
    }
}

/// Work an object does at the end of a turn of the poll thread (``SocketWatcher/soon(_:)``),
/// such as writing the output the turn's handlers queued.
public protocol TurnEndWork: AnyObject {
    func turnEnded()
}

/// Work put after a turn's socket handlers, in the order it was given.
enum DeferredWork {
    case closure(() -> Void)
    case object(any TurnEndWork)

    func run() {
        switch self {
        case .closure(let work): work()
        case .object(let work): work.turnEnded()
        }
    }
}

/// One watched socket as the poll thread sees it. `wantsRead`, `wantsWrite` and `cancelled` are
/// written on the owner's queue and read by the poll thread only inside `queue.sync`.
final class PollRegistration: @unchecked Sendable {
    let fileDescriptor: Int32
    let onReadable: () -> Void
    let onWritable: () -> Void
    var wantsRead = false
    var wantsWrite = false
    var cancelled = false
    /// In the epoll set; guarded by the poll thread's lock.
    var registered = false
    /// The events epoll reports for it: what it wants, or more until an event disarms it.
    var armed: UInt32 = 0
    /// The epoll key (never reused), set when first added.
    var token: UInt64 = 0

    /// The epoll events of the directions wanted now.
    var wantedMask: UInt32 {
        (wantsRead ? pgshard_epoll_in | pgshard_epoll_rdhup : 0) | (wantsWrite ? pgshard_epoll_out : 0)
    }

    init(fileDescriptor: Int32, onReadable: @escaping () -> Void, onWritable: @escaping () -> Void) {
        self.fileDescriptor = fileDescriptor
        self.onReadable = onReadable
        self.onWritable = onWritable
    }
}

/// A thread blocked in `epoll_wait` on the sockets of one queue, running their handlers.
final class PollThread: @unchecked Sendable {
    private let epoll: Int32
    private let queue: DispatchQueue
    private let lock = NSLock()
    // Guarded by `lock`.
    private var registrations: [UInt64: PollRegistration] = [:]
    private var nextToken: UInt64 = 1

    // Touched on `queue` only: whether the handlers of a batch are running, and the work
    // `soon` put after them.
    private var firing = false
    private var deferred: [DeferredWork] = []
    /// The work being run at the end of a turn; swapped with `deferred` so that neither array
    /// is made again each turn.
    private var running: [DeferredWork] = []

    private static let lock = NSLock()
    nonisolated(unsafe) private static var threads: [ObjectIdentifier: PollThread] = [:]

    /// The poll thread of `queue`, started on first use. Queues live as long as the process
    /// (the server's loops, its accept queue), and so do their threads.
    static func serving(_ queue: DispatchQueue) -> PollThread {
        lock.withLock {
            if let thread = threads[ObjectIdentifier(queue)] { return thread }
            let thread = PollThread(queue: queue)
            threads[ObjectIdentifier(queue)] = thread
            return thread
        }
    }

    private init(queue: DispatchQueue) {
        self.queue = queue
        epoll = pgshard_epoll_create()
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        let thread = Thread { [self] in run() }
        thread.name = "pgshard.poll." + queue.label
        thread.qualityOfService = .userInteractive
        thread.start()
    }

    /// Makes epoll report what the registration wants. Interest is added at once; interest
    /// dropped stays armed until an event for it arrives (then `fire` disarms it): sessions
    /// turn reading off and on around every statement, and most of those turns would
    /// otherwise cost two `epoll_ctl` calls for nothing.
    func update(_ registration: PollRegistration, lazily: Bool = true) {
        let wanted = registration.wantedMask
        if lazily, wanted & ~registration.armed == 0 { return }
        lock.lock()
        defer { lock.unlock() }
        if wanted == 0 {
            guard registration.registered else { return }
            registration.registered = false
            registration.armed = 0
            registrations[registration.token] = nil
            _ = pgshard_epoll_ctl(epoll, Self.delete, registration.fileDescriptor, 0, 0)
            return
        }
        if registration.registered {
            _ = pgshard_epoll_ctl(epoll, Self.modify, registration.fileDescriptor, wanted, registration.token)
        } else {
            registration.token = nextToken
            nextToken += 1
            registrations[registration.token] = registration
            registration.registered = pgshard_epoll_ctl(epoll, Self.add, registration.fileDescriptor, wanted, registration.token) == 0
            if !registration.registered { registrations[registration.token] = nil }
        }
        registration.armed = registration.registered ? wanted : 0
    }

    func remove(_ registration: PollRegistration) {
        lock.lock()
        defer { lock.unlock() }
        guard registration.registered else { return }
        registration.registered = false
        registration.armed = 0
        registrations[registration.token] = nil
        _ = pgshard_epoll_ctl(epoll, Self.delete, registration.fileDescriptor, 0, 0)
    }

    private static let (add, delete, modify): (Int32, Int32, Int32) = (1, 2, 3)

    private func run() {
        let capacity = 64
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        // Reused every turn: `fire` has let go of it when `queue.sync` returns.
        var ready: [ReadySocket] = []
        ready.reserveCapacity(capacity)
        while true {
            let count = pgshard_epoll_wait(epoll, tokens, events, Int32(capacity), -1)
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait failed: errno \(errno)")
            }
            lock.lock()
            for i in 0..<Int(count) {
                if let registration = registrations[tokens[i]] { ready.append(ReadySocket(registration: registration, events: events[i])) }
            }
            lock.unlock()
            guard !ready.isEmpty else { continue }
            // Runs here, on this thread, unless the queue is busy (then after it). `ready` is
            // emptied only afterwards: a copy still alive would make it allocate anew.
            queue.sync { fire(ready) }
            ready.removeAll(keepingCapacity: true)
        }
    }

    /// Calls each ready socket's handlers, as its owner wants them now (an earlier handler of
    /// the batch may have changed that). A hang-up or error goes to whichever handler is on:
    /// its read or write then fails and the owner closes.
    var isFiring: Bool { firing }

    /// See ``SocketWatcher/soon(_:)``; called on `queue`.
    func soon(_ work: DeferredWork) {
        if firing {
            deferred.append(work)
        } else {
            let work = UncheckedHandler { work.run() }
            queue.async { work.body() }
        }
    }

    /// A socket epoll reported, with its events. (A struct: an array of tuples looks up its
    /// type's metadata at run time.)
    private struct ReadySocket {
        let registration: PollRegistration
        let events: UInt32
    }

    private func fire(_ batch: [ReadySocket]) {
        firing = true
        defer { firing = false }
        let readable = pgshard_epoll_in | pgshard_epoll_rdhup | pgshard_epoll_hup | pgshard_epoll_err
        let writable = pgshard_epoll_out | pgshard_epoll_hup | pgshard_epoll_err
        for socket in batch {
            let (registration, events) = (socket.registration, socket.events)
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
        while !deferred.isEmpty {
            swap(&deferred, &running)
            for item in running { item.run() }
            running.removeAll(keepingCapacity: true)
        }
    }
}

/// A handler that is only ever invoked on the serial queue its owner is confined to.
public struct UncheckedHandler: @unchecked Sendable {
    public let body: () -> Void
    public init(_ body: @escaping () -> Void) { self.body = body }
}
