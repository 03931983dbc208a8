import Dispatch
import Foundation
internal import CLibPQ

/// One libpq connection to a shard, driven without blocking: its socket is watched by Dispatch
/// sources on the queue of the session that uses it, and every callback runs on that queue.
///
/// Lifecycle: `connect` → any number of `execute` (one at a time) → `close`. A connection whose
/// socket broke reports `isBroken` and must be closed and replaced.
///
/// `@unchecked Sendable`: all state is touched on `queue` only; the type is handed between
/// threads only to be used on that queue.
public final class BackendConnection: @unchecked Sendable {
    /// What the result handler wants next.
    public enum Flow {
        /// Keep delivering results.
        case proceed
        /// Stop reading from the shard until `resumeReading()` (the client is not keeping up).
        case pause
    }

    /// The shard's name, for errors and logs.
    public let shardName: String
    public let queue: DispatchQueue
    var conn: OpaquePointer?
    var watcher: SocketWatcher?
    var connectTimer: DispatchSourceTimer?
    var connectCompletion: ((BackendError?) -> Void)?
    var resultHandler: ((BackendResult) -> Flow)?
    var queryCompletion: ((BackendError?) -> Void)?
    var paused = false
    var flushPending = false

    /// Receives NoticeResponses (warnings, notices) the shard sends, whenever they come.
    public var noticeHandler: ((Diagnostics) -> Void)?
    /// True once the connection failed; it must be closed and not reused.
    public internal(set) var isBroken = false
    /// True while a query runs.
    public var isBusy: Bool { queryCompletion != nil }
    public var isConnected: Bool { conn != nil && connectCompletion == nil && !isBroken }

    public init(shardName: String, queue: DispatchQueue) {
        self.shardName = shardName
        self.queue = queue
    }

    deinit {
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
        guard let conn, let value = PQparameterStatus(conn, name) else { return nil }
        return String(cString: value)
    }

    /// The shard's view of the transaction: idle, in a transaction, or in a failed one.
    public var serverTransactionStatus: ServerTransactionStatus {
        guard let conn else { return .unknown }
        switch PQtransactionStatus(conn) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .failed
        case PQTRANS_ACTIVE: return .active
        default: return .unknown
        }
    }

    /// Closes the connection; pending callbacks are dropped.
    public func close() {
        connectTimer?.cancel()
        connectTimer = nil
        connectCompletion = nil
        resultHandler = nil
        queryCompletion = nil
        isBroken = true
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
        if let completion = queryCompletion {
            queryCompletion = nil
            resultHandler = nil
            completion(error)
        }
    }

    var libpqMessage: String {
        guard let conn else { return "no connection" }
        return String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
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
