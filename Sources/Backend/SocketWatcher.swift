import Dispatch

/// Watches one non-blocking socket with a Dispatch read source and a write source, both
/// targeting the queue of the session that owns the socket.
///
/// Dispatch sources must be balanced (every `suspend` matched by a `resume`) and must not see
/// their file descriptor closed before their cancel handler ran, or a reused descriptor number
/// could be unregistered by the old source. This type keeps both rules in one place: callers
/// say which directions they want and, when done, `cancel(then:)` closes the descriptor only
/// after both sources are gone.
///
/// Confined to `queue`: every method must be called on it.
public final class SocketWatcher {
    public let fileDescriptor: Int32
    private let readSource: DispatchSourceRead
    private let writeSource: DispatchSourceWrite
    private var readEnabled = false
    private var writeEnabled = false
    private var cancelled = false

    public init(
        fileDescriptor: Int32,
        queue: DispatchQueue,
        onReadable: @escaping () -> Void,
        onWritable: @escaping () -> Void
    ) {
        self.fileDescriptor = fileDescriptor
        readSource = DispatchSource.makeReadSource(fileDescriptor: fileDescriptor, queue: queue)
        writeSource = DispatchSource.makeWriteSource(fileDescriptor: fileDescriptor, queue: queue)
        let read = UncheckedHandler(onReadable)
        let write = UncheckedHandler(onWritable)
        readSource.setEventHandler { read.body() }
        writeSource.setEventHandler { write.body() }
    }

    /// Whether the owner wants to hear that the socket is readable.
    public var wantsRead: Bool {
        get { readEnabled }
        set {
            guard !cancelled, newValue != readEnabled else { return }
            readEnabled = newValue
            if newValue { readSource.resume() } else { readSource.suspend() }
        }
    }

    /// Whether the owner wants to hear that the socket is writable. Keep it off unless output
    /// is pending: a writable socket fires continuously.
    public var wantsWrite: Bool {
        get { writeEnabled }
        set {
            guard !cancelled, newValue != writeEnabled else { return }
            writeEnabled = newValue
            if newValue { writeSource.resume() } else { writeSource.suspend() }
        }
    }

    /// Stops both sources; `close` runs once both are cancelled, and is where the owner closes
    /// the descriptor (or hands it to `PQfinish`).
    public func cancel(then close: @escaping () -> Void) {
        guard !cancelled else { return }
        cancelled = true
        let remaining = CancelCountdown(count: 2, whenDone: close)
        readSource.setCancelHandler { remaining.tick() }
        writeSource.setCancelHandler { remaining.tick() }
        readSource.setEventHandler(handler: nil)
        writeSource.setEventHandler(handler: nil)
        readSource.cancel()
        writeSource.cancel()
        // A suspended (or never activated) source runs its cancel handler only once resumed.
        if !readEnabled { readSource.resume() }
        if !writeEnabled { writeSource.resume() }
    }

    deinit {
        precondition(cancelled, "SocketWatcher released without cancel(then:)")
    }
}

/// Counts the cancel handlers of a watcher's two sources; both run on the watcher's queue.
private final class CancelCountdown: @unchecked Sendable {
    private var count: Int
    private let whenDone: () -> Void
    init(count: Int, whenDone: @escaping () -> Void) {
        self.count = count
        self.whenDone = whenDone
    }
    func tick() {
        count -= 1
        if count == 0 { whenDone() }
    }
}

/// A handler that is only ever invoked on the serial queue its owner is confined to.
struct UncheckedHandler: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
