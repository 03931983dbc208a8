import Dispatch
import Foundation
import PGWire
import Synchronization
internal import CLibPQ

/// One libpq connection to a shard, driven without blocking: its socket is watched by the event
/// loop of the session that uses it, and every callback runs on that loop.
///
/// Lifecycle: `connect` → any number of `execute` (one at a time) → `close`. A connection whose
/// socket broke reports `isBroken` and must be closed and replaced.
///
/// `@unchecked Sendable`: all state is touched on `queue` (its loop) only; the type is handed
/// between threads only to be used on that loop.
public final class BackendConnection: @unchecked Sendable, TurnEndWork {
    /// What the result handler wants next.
    public enum Flow {
        /// Keep delivering results.
        case proceed
        /// Stop reading from the shard until `resumeReading()` (the client is not keeping up).
        case pause
        /// Like `pause`, and deliver this same message again on `resumeReading()` (it is not
        /// the handler's turn yet).
        case hold
    }

    /// The shard's name, for errors and logs.
    public let shardName: String
    public let queue: EventLoop
    var conn: OpaquePointer?
    var watcher: SocketWatcher?
    var connectTimer: LoopTimer?
    var connectCompletion: ((BackendError?) -> Void)?
    var messageHandler: ((BackendMessage) -> Flow)?
    /// Set with the handler when the caller forwards rows, descriptions and command tags
    /// unchanged: runs of those messages are handed over as one block of bytes instead of one
    /// handler call each (``passesThrough(_:)``); the handler still gets every other message.
    var passthrough: ((UnsafeRawBufferPointer) -> Flow)?
    /// Changes with every `receive` and `stopReceiving`, to a value no connection of the process
    /// had before: a caller that remembers it can tell that its handler is still the one
    /// installed, even if it now looks at another connection.
    public internal(set) var receiverGeneration = 0
    static let receiverGenerations = Atomic<Int>(0)
    static func nextReceiverGeneration() -> Int {
        receiverGenerations.add(1, ordering: .relaxed).newValue
    }
    var failureHandler: ((BackendError) -> Void)?
    /// The object that takes the shard's messages instead of the handlers above: a simple
    /// Query's answer (``execute(_:forwardingTo:)``), held until the query ends, or every answer
    /// until `stopReceiving()` (``receive(forwardingTo:)``).
    var receiver: (any BackendReceiver)?
    /// Whether ``receiver`` gets ReadyForQuery as a message and ends the exchange itself
    /// (``receive(forwardingTo:)``), rather than being finished by the first one.
    var receiverReadsReadyForQuery = false
    var paused = false
    /// Handlers or a receiver were installed (``startDelivery``) and not stopped since
    /// (`stopReceiving`); `close` and a failure drop them without clearing this.
    var receiving = false
    /// Bytes read from the shard: `inputStart..<inputEnd` are not handled yet. Memory of the
    /// connection's own (freed in `deinit`), not an array: reading an array property in place
    /// retains its storage around every access, several times per message delivered.
    var input = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    var inputStart = 0
    var inputEnd = 0
    /// The message at `inputStart` was held by its handler and has been tracked already.
    var heldMessageTracked = false
    /// Set while `deliverMessages` runs.
    var delivering = false
    /// Messages waiting to be written to the shard.
    var output = FrontendMessageEncoder()
    /// A flush is scheduled for the end of the event loop's turn.
    var flushPending = false
    /// The socket and, with TLS, libpq's SSL object, once the connection is open.
    var socketFD: Int32?
    var sslHandle: OpaquePointer?
    /// Query and Sync messages sent whose ReadyForQuery has not arrived.
    public internal(set) var pendingReadyForQuery = 0
    /// The named prepared statements this connection holds; kept by the session layer, which
    /// prepares statements lazily per connection.
    public var preparedStatements = PreparedStatements()
    /// Called once when everything queued for the shard has been written (set again to wait
    /// for the next drain): COPY FROM stops reading its client while a shard is behind.
    public var onOutputDrained: (() -> Void)?
    /// Bytes queued for the shard and not yet written.
    public var unsentByteCount: Int { output.count }
    /// Run-time parameters the shard reported.
    var parameters: [String: String] = [:] {
        didSet { parameterFingerprint = Self.fingerprint(of: parameters) }
    }
    /// A hash of every reported parameter and its value: connections of a pool mostly report
    /// the same, and a session compares this number, not the parameters, after each statement.
    public private(set) var parameterFingerprint = 0

    private static func fingerprint(of parameters: [String: String]) -> Int {
        var hasher = Hasher()
        for name in parameters.keys.sorted() {
            hasher.combine(name)
            hasher.combine(parameters[name])
        }
        return hasher.finalize()
    }
    var transactionStatus: TransactionStatus = .idle
    static let readChunk = 32 << 10

    /// Receives NoticeResponses (warnings, notices) the shard sends, whenever they come.
    public var noticeHandler: ((Diagnostics) -> Void)?
    /// Receives every NotificationResponse (`LISTEN`), whenever it comes: during a statement
    /// or while the connection is idle.
    public var notificationHandler: ((BackendMessage) -> Void)?
    /// True once the connection failed; it must be closed and not reused.
    public internal(set) var isBroken = false
    /// True while the shard owes answers (a statement runs or waits to be answered).
    public var isBusy: Bool { pendingReadyForQuery > 0 }
    public var isConnected: Bool { conn != nil && connectCompletion == nil && !isBroken }

    /// When the connection was created (``monotonicNanoseconds()``).
    public let created = monotonicNanoseconds()
    /// Seconds since the connection was created.
    public var age: Double { age(at: monotonicNanoseconds()) }

    /// Seconds from the connection's creation to `now` (``monotonicNanoseconds()``), for a
    /// caller that has read the clock already.
    public func age(at now: UInt64) -> Double { Double(now &- created) / 1e9 }
    /// The session settings (SET statements, in order) this connection runs with, so a pool
    /// can tell whether the next client needs RESET ALL and its own settings.
    public var sessionSettings: [String] = []

    /// Counts what this connection carries (set by the pool that opens it).
    public var traffic: ShardTraffic?
    /// The pool's bookkeeping entry for this connection (what the admin console shows).
    public var monitorRecord: AnyObject?

    public init(shardName: String, queue: EventLoop) {
        self.shardName = shardName
        self.queue = queue
    }

    deinit {
        input.deallocate()
        connectTimer?.cancel()
        if let watcher {
            let handle = conn
            watcher.cancel { if let handle { PQfinish(handle) } }
        } else if let conn {
            PQfinish(conn)
        }
    }

    /// The value of a run-time parameter the shard reported (`server_version`, `TimeZone`, ...).
    public func parameterStatus(_ name: String) -> String? {
        parameters[name]
    }

    /// The shard's view of the transaction as of its last ReadyForQuery.
    public var serverTransactionStatus: ServerTransactionStatus {
        guard conn != nil, !isBroken else { return .unknown }
        if pendingReadyForQuery > 0 { return .active }
        switch transactionStatus {
        case .idle: return .idle
        case .inTransaction: return .inTransaction
        case .failed: return .failed
        }
    }

    /// Takes over the socket libpq opened: from now on pgshard reads and writes it.
    func takeOver(_ conn: OpaquePointer) {
        socketFD = PQsocket(conn)
        if PQsslInUse(conn) != 0 {
            sslHandle = OpaquePointer(PQsslStruct(conn, "OpenSSL"))
        }
        for name in Self.reportedParameters {
            if let value = PQparameterStatus(conn, name) { parameters[name] = String(cString: value) }
        }
        switch PQtransactionStatus(conn) {
        case PQTRANS_INTRANS: transactionStatus = .inTransaction
        case PQTRANS_INERROR: transactionStatus = .failed
        default: transactionStatus = .idle
        }
        // Notices now arrive as messages pgshard reads itself.
        PQsetNoticeReceiver(conn, nil, nil)
    }

    /// Parameters PostgreSQL reports with ParameterStatus (GUC_REPORT).
    public static let reportedParameters = [
        "application_name", "client_encoding", "DateStyle", "default_transaction_read_only",
        "in_hot_standby", "integer_datetimes", "IntervalStyle", "is_superuser", "server_encoding",
        "server_version", "session_authorization", "standard_conforming_strings", "TimeZone",
    ]

    /// Closes the connection; pending callbacks are dropped.
    public func close() {
        connectTimer?.cancel()
        connectTimer = nil
        connectCompletion = nil
        messageHandler = nil
        onOutputDrained = nil
        failureHandler = nil
        isBroken = true
        receiver = nil
        sslHandle = nil
        socketFD = nil
        guard let handle = conn else { return }
        conn = nil
        PQsetNoticeReceiver(handle, nil, nil)
        if let watcher {
            self.watcher = nil
            watcher.cancel { PQfinish(handle) }
        } else {
            PQfinish(handle)
        }
    }

    /// A handle that can cancel the statement running on this connection from any thread.
    public func makeCancelHandle() -> BackendCancelHandle? {
        guard let conn, let cancel = PQgetCancel(conn) else { return nil }
        return BackendCancelHandle(cancel)
    }

    func fail(_ error: BackendError) {
        isBroken = true
        if let completion = connectCompletion {
            connectCompletion = nil
            connectTimer?.cancel()
            connectTimer = nil
            completion(error)
        }
        pendingReadyForQuery = 0
        if let receiver {
            self.receiver = nil
            receiver.backendFinished(self, failure: error)
        }
        if let failure = failureHandler {
            failureHandler = nil
            messageHandler = nil
            failure(error)
        }
    }

    var libpqMessage: String {
        guard let conn else { return "no connection" }
        return String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Takes a shard's answers without a closure per statement (the single-shard paths): runs of
/// rows, descriptions and tags as blocks of bytes, every other message one by one, then the end.
/// Called on the connection's queue.
public protocol BackendReceiver: AnyObject {
    /// A run of whole messages that ``BackendConnection/passesThrough(_:)`` (rows, descriptions,
    /// tags). Returns how many bytes of it, from its start and ending at a message boundary, the
    /// receiver took — the rest is delivered again, its first message through `backendMessage`
    /// (so a receiver can leave a message it must hold or inspect) — and whether to go on
    /// (ignored when it took nothing).
    func backendForward(_ messages: UnsafeRawBufferPointer, from connection: BackendConnection) -> (taken: Int, flow: BackendConnection.Flow)
    /// Whether `backendForward` could take a run now. False spares the connection scanning a
    /// run that would be declined — once per message, that scan made a long result quadratic —
    /// and its next message goes to `backendMessage`.
    func backendTakesRuns(from connection: BackendConnection) -> Bool
    /// Any other message before the ReadyForQuery (errors, notices, COPY); with
    /// ``BackendConnection/receive(forwardingTo:)``, ReadyForQuery too.
    func backendMessage(_ message: BackendMessage, from connection: BackendConnection) -> BackendConnection.Flow
    /// The ReadyForQuery arrived (`failure` nil; not with ``BackendConnection/receive(forwardingTo:)``),
    /// or the connection failed.
    func backendFinished(_ connection: BackendConnection, failure: BackendError?)
}

/// The shard's transaction state as libpq tracks it.
public enum ServerTransactionStatus: Sendable {
    case idle, active, inTransaction, failed, unknown
}

/// Cancels the statement running on one backend connection. `PQcancel` blocks while it opens
/// its own connection to the shard, so call `cancel()` off the session's queue.
public final class BackendCancelHandle: @unchecked Sendable {
    // Safe to share: PQcancel is documented thread-safe on a PGcancel it does not free.
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQfreeCancel(handle) }

    /// Asks the shard to cancel the running statement. Returns libpq's error text on failure.
    @discardableResult
    public func cancel() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let ok = PQcancel(handle, &buffer, Int32(buffer.count))
        if ok == 1 { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
