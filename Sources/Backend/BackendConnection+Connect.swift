import Dispatch
import Foundation
internal import CLibPQ

extension BackendConnection {
    /// Starts connecting with `conninfo` (a libpq keyword/value string or URI) plus extra
    /// libpq keywords (`application_name`, `options`, `client_encoding`, ...) that override it.
    /// `completion` runs on `queue` with `nil` once the connection is ready.
    public func connect(
        conninfo: String,
        parameters: [(keyword: String, value: String)],
        timeout: Double,
        completion: @escaping (BackendError?) -> Void
    ) {
        precondition(conn == nil && connectCompletion == nil, "connect called twice")
        let keywords = ["dbname"] + parameters.map(\.keyword)
        let values = [conninfo] + parameters.map(\.value)
        let handle = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectStartParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let handle else {
            isBroken = true
            completion(BackendError(.connectFailed, "out of memory"))
            return
        }
        conn = handle
        if PQstatus(handle) == CONNECTION_BAD {
            let message = libpqMessage
            isBroken = true
            completion(BackendError(.connectFailed, message))
            return
        }
        installNoticeReceiver(handle)
        connectCompletion = completion
        startConnectTimer(seconds: timeout)
        // After PQconnectStartParams libpq waits for the socket to become writable.
        watchSocket()
        watcher?.wantsWrite = true
    }

    private func startConnectTimer(seconds: Double) {
        // Strong: the timer is cancelled once connecting ends (a weak reference would slow every
        // retain of the connection for its whole life).
        connectTimer = queue.schedule(after: seconds) { [self] in
            guard connectCompletion != nil else { return }
            fail(BackendError(.connectTimeout, "timeout expired after \(Int(seconds)) s"))
        }
    }

    /// (Re)creates the socket watcher when libpq's socket changed (multi-host conninfo moves on
    /// to the next host with a new socket).
    func watchSocket() {
        guard let conn else { return }
        let fd = PQsocket(conn)
        if let watcher, watcher.fileDescriptor == fd { return }
        if let old = watcher {
            watcher = nil
            old.cancel {}
        }
        guard fd >= 0 else { return }
        watcher = SocketWatcher(
            fileDescriptor: fd,
            queue: queue,
            // Unowned: the watcher is cancelled in `close()` or `deinit`, after which no handler
            // runs (a weak reference would slow every retain of the connection).
            onReadable: { [unowned self] in socketReadable() },
            onWritable: { [unowned self] in socketWritable() }
        )
    }

    func continueConnecting() {
        guard let conn else { return }
        let status = PQconnectPoll(conn)
        watchSocket()
        switch status {
        case PGRES_POLLING_READING:
            watcher?.wantsWrite = false
            watcher?.wantsRead = true
        case PGRES_POLLING_WRITING:
            watcher?.wantsRead = false
            watcher?.wantsWrite = true
        case PGRES_POLLING_OK:
            PQsetnonblocking(conn, 1)
            takeOver(conn)
            watcher?.wantsWrite = false
            // Keep reading while idle so a server that closes the connection is noticed.
            watcher?.wantsRead = true
            connectTimer?.cancel()
            connectTimer = nil
            let completion = connectCompletion
            connectCompletion = nil
            completion?(nil)
        default:
            fail(BackendError(.connectFailed, libpqMessage))
        }
    }

    private func installNoticeReceiver(_ handle: OpaquePointer) {
        let receiver: PQnoticeReceiver = { argument, result in
            guard let argument, let result else { return }
            let connection = Unmanaged<BackendConnection>.fromOpaque(argument).takeUnretainedValue()
            connection.noticeHandler?(Diagnostics(result: result))
        }
        // Unretained: the receiver is removed in close() and PQfinish runs before deinit ends.
        PQsetNoticeReceiver(handle, receiver, Unmanaged.passUnretained(self).toOpaque())
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live as long as the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
