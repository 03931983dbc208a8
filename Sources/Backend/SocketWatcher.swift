import CEpoll
import Dispatch
import Foundation

/// Watches one non-blocking socket for the event loop that owns it: the handlers run on that
/// loop's thread (confined to it, like everything the session does).
///
/// The descriptor must not be closed while it is registered (a reused number would then be
/// watched for the wrong socket): callers say which directions they want and, when done,
/// `cancel(then:)` unregisters it and only then runs their `close`.
///
/// Confined to `queue`: every method must be called on its thread.
public final class SocketWatcher {
    public let fileDescriptor: Int32
    private let registration: PollRegistration
    private let queue: EventLoop

    public init(
        fileDescriptor: Int32,
        queue: EventLoop,
        onReadable: @escaping () -> Void,
        onWritable: @escaping () -> Void
    ) {
        self.fileDescriptor = fileDescriptor
        self.queue = queue
        registration = PollRegistration(fileDescriptor: fileDescriptor, onReadable: onReadable, onWritable: onWritable)
    }

    /// Whether the owner wants to hear that the socket is readable.
    public var wantsRead: Bool {
        get { registration.wantsRead }
        set {
            guard !registration.cancelled, newValue != registration.wantsRead else { return }
            registration.wantsRead = newValue
            queue.update(registration)
        }
    }

    /// Whether the owner wants to hear that the socket is writable. Keep it off unless output
    /// is pending: a writable socket fires continuously.
    public var wantsWrite: Bool {
        get { registration.wantsWrite }
        set {
            guard !registration.cancelled, newValue != registration.wantsWrite else { return }
            registration.wantsWrite = newValue
            queue.update(registration)
        }
    }

    /// Runs `work` on the loop soon: right after the socket events being handled now, in the
    /// same turn.
    public func soon(_ work: @escaping () -> Void) {
        queue.soon(.closure(work))
    }

    /// Like the closure form, for work an object does (``TurnEndWork``): no closure is
    /// made, which matters for the flushes scheduled with every statement.
    public func soon(_ work: any TurnEndWork) {
        queue.soon(.object(work))
    }

    /// Whether the loop is running a turn now (the caller is part of it): work given to `soon`
    /// runs before the turn ends.
    public var isHandlingEvents: Bool { queue.isFiring }

    /// Stops watching; `close` runs afterwards on the loop (at the end of the turn), and is
    /// where the owner closes the descriptor (or hands it to `PQfinish`).
    public func cancel(then close: @escaping () -> Void) {
        guard !registration.cancelled else { return }
        registration.cancelled = true
        let (registration, queue) = (registration, queue)
        guard queue.inLoop else {
            // A watcher released on another thread (a session torn down at shutdown).
            let job = UncheckedHandler {
                queue.remove(registration)
                close()
            }
            return queue.async { job.body() }
        }
        queue.remove(registration)
        queue.soon(.closure(close))
    }

    deinit {
        precondition(registration.cancelled, "SocketWatcher released without cancel(then:)")
    }
}

/// Work an object does at the end of a turn of the event loop (``SocketWatcher/soon(_:)``),
/// such as writing the output the turn's handlers queued.
public protocol TurnEndWork: AnyObject {
    func turnEnded()
}

/// Work a loop runs: put after a turn's socket handlers (in the order it was given), or
/// queued for its next turn.
enum DeferredWork {
    case closure(() -> Void)
    case object(any TurnEndWork)
    /// What is left in a list in place of work taken out to run (nothing to do).
    case ran

    func run() {
        switch self {
        case .closure(let work): work()
        case .object(let work): work.turnEnded()
        case .ran: break
        }
    }
}

/// One watched socket as its event loop sees it; touched on the loop's thread only.
final class PollRegistration: @unchecked Sendable {
    let fileDescriptor: Int32
    let onReadable: () -> Void
    let onWritable: () -> Void
    var wantsRead = false
    var wantsWrite = false
    var cancelled = false
    /// In the epoll set (which then holds its address, and the loop a reference).
    var registered = false
    /// The events epoll reports for it: what it wants, or more until an event disarms it.
    var armed: UInt32 = 0

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

/// A handler that is only ever invoked on the serial queue its owner is confined to.
public struct UncheckedHandler: @unchecked Sendable {
    public let body: () -> Void
    public init(_ body: @escaping () -> Void) { self.body = body }
}
