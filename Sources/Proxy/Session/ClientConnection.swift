import Backend
import Dispatch
import Logging
import PGWire
#if canImport(Glibc)
import Glibc
#endif

/// One client socket: reads bytes into the frontend decoder, writes what the session encoded,
/// and runs the startup handshake. Everything happens on `queue`, the loop that owns it.
///
/// `@unchecked Sendable`: confined to `queue`.
final class ClientConnection: @unchecked Sendable, TurnEndWork {
    let queue: EventLoop
    let context: ProxyContext
    let id: Int
    var logger: Logger
    let fd: Int32
    var watcher: SocketWatcher?
    private(set) var decoder: FrontendMessageDecoder
    /// Bytes waiting to be written to the client.
    var output = BackendMessageEncoder(capacity: 1024)
    private var startup: StartupMachine
    /// The client's TLS session, once SSLRequest was answered 'S'; nil for plain connections.
    var tls: TLSSession?
    private(set) var session: ClientSession?
    private(set) var isClosed = false
    private var flushScheduled = false
    /// Set while `processInput` runs, so a statement that finishes at once does not recurse.
    private var processingInput = false
    private var closeAfterFlush = false
    private static let readChunk = 64 << 10
    /// Above this many unsent bytes the session stops reading from shards.
    static let outputHighWater = 1 << 20
    /// Shared by every connection of the loop: a loop reads one socket at a time, and an idle
    /// connection then costs no read buffer of its own.
    private let scratch: ReadScratch
    /// Shards paused because the client's output is full; they read on once it drained.
    private var pausedBackends: [BackendConnection] = []
    /// Called once when the connection closes.
    var onClose: (() -> Void)?

    init(fd: Int32, id: Int, queue: EventLoop, context: ProxyContext) {
        self.fd = fd
        self.id = id
        self.queue = queue
        self.scratch = context.readScratch(for: queue, size: Self.readChunk)
        self.context = context
        self.decoder = FrontendMessageDecoder(maxMessageSize: context.config.limits.maxMessageSize)
        self.startup = StartupMachine(settings: context.authentication)
        var logger = context.logger
        logger[metadataKey: "client.id"] = "\(id)"
        self.logger = logger
    }

    /// Turns the client away with `error` (too many clients) without counting it.
    func refuse(_ error: ErrorFields) {
        admitted = false
        start()
        output.errorResponse(error)
        closeAfterWrite()
    }

    private var admitted = true

    /// Starts reading; must be called on `queue`.
    func start() {
        let watcher = SocketWatcher(
            fileDescriptor: fd,
            queue: queue,
            // Unowned: `close()` cancels the watcher, after which no handler runs (a weak
            // reference would give the connection a side table and slow every retain).
            onReadable: { [unowned self] in socketReadable() },
            onWritable: { [unowned self] in socketWritable() }
        )
        self.watcher = watcher
        watcher.wantsRead = true
        logger.info("client connected")
    }

    /// Whether the socket is read. The session turns reading off while a statement runs, so a
    /// client that sends ahead is held by TCP instead of filling pgshard's memory.
    var wantsInput: Bool {
        get { watcher?.wantsRead ?? false }
        set {
            if !isClosed { watcher?.wantsRead = newValue }
            if newValue, tls?.hasBufferedInput == true { scheduleBufferedTLSRead() }
        }
    }

    var outputIsFull: Bool { output.count >= Self.outputHighWater }

    /// What a shard's message handler answers after adding output: go on (the output is
    /// written soon), or pause that shard while more than `outputHighWater` bytes wait for a
    /// slow client — memory is bounded by that, never by the size of a result.
    func throttle(_ backend: BackendConnection) -> BackendConnection.Flow {
        guard outputIsFull else {
            scheduleFlush()
            return .proceed
        }
        flush()
        guard outputIsFull, !isClosed else { return .proceed }
        pausedBackends.append(backend)
        return .pause
    }

    func socketReadable() {
        guard !isClosed else { return }
        if let tls, !tls.isEstablished { return continueTLSHandshake() }
        var sawEOF = false
        readLoop: for _ in 0..<16 {
            let result: IOResult
            do {
                result = try scratch.bytes.withUnsafeMutableBytes { buffer throws -> IOResult in
                    if let tls { return try tls.read(into: buffer) }
                    return try Syscall.read(fd, into: buffer)
                }
            } catch {
                logger.debug("client read failed", metadata: ["error": "\(error)"])
                sawEOF = true
                break
            }
            switch result {
            case .wouldBlock: break readLoop
            case .processed(0): sawEOF = true; break readLoop
            case .processed(let n):
                scratch.bytes.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                // Why TLS reads on: a short read is one record; the next may be in OpenSSL already.
                if n < Self.readChunk && tls == nil { break readLoop }
            }
        }
        if tls != nil { tlsReadFinished() }
        processInput()
        if sawEOF && !isClosed {
            logger.info("client disconnected")
            close()
        }
    }

    /// Decodes and handles messages while the session can take them.
    func processInput() {
        guard !processingInput else { return }
        processingInput = true
        defer { processingInput = false }
        while !isClosed && !closeAfterFlush {
            if let session {
                guard session.acceptsMessages else { return }
                if session.takesMessagesDirectly, commonMessageHandled(by: session) { continue }
            }
            // Unwrapped before it is stored: a `FrontendMessage?` local is destroyed through
            // generic value witnesses, which cost more than decoding the message.
            let message: FrontendMessage
            do {
                guard let next = try decoder.next() else { return }
                message = next
            } catch {
                decodingFailed(error)
                continue
            }
            if let session {
                session.received(message)
            } else {
                startupReceived(message, bufferedBytes: decoder.bufferedByteCount)
            }
        }
    }

    /// Decodes the next message and hands it to `session` without a `FrontendMessage` when it
    /// is one of those an application sends for every statement, complete and well-formed;
    /// false otherwise, with nothing consumed: ``FrontendMessageDecoder/next()`` then decodes
    /// it or reports what is wrong with it.
    private func commonMessageHandled(by session: ClientSession) -> Bool {
        switch decoder.nextType {
        case UInt8(ascii: "Q"):
            guard let sql = decoder.nextQuery() else { return false }
            session.queryMessageReceived(sql)
        case UInt8(ascii: "B"):
            guard let bind = decoder.nextBind() else { return false }
            session.commonMessageStarts()
            session.bindReceived(bind)
        case UInt8(ascii: "D"):
            guard let describe = decoder.nextDescribe() else { return false }
            session.commonMessageStarts()
            session.describeReceived(describe)
        case UInt8(ascii: "E"):
            guard let execute = decoder.nextExecute() else { return false }
            session.commonMessageStarts()
            session.executeReceived(execute)
        case UInt8(ascii: "S"):
            guard decoder.nextSync() else { return false }
            session.commonMessageStarts()
            session.syncReceived()
        default:
            return false
        }
        return true
    }

    private func decodingFailed(_ error: FrontendDecodingError) {
        if !error.isFatal, let session {
            session.invalidTextReceived()
            return
        }
        logger.warning("protocol violation", metadata: ["error": "\(error)"])
        output.errorResponse(error.errorFields)
        closeAfterWrite()
    }

    private func startupReceived(_ message: FrontendMessage, bufferedBytes: Int) {
        let action = startup.received(message, bufferedBytes: bufferedBytes)
        switch action {
        case .refuseEncryption:
            output.sslResponse(accepted: false)
            flush()
        case .acceptEncryption:
            startTLS()
        case .requestCleartextPassword, .requestMD5Password, .requestSASL, .continueSASL, .rejectAfterDelay, .ignore:
            authenticationStepped(action)
        case .authenticated(let startupMessage, let saslFinal):
            if let saslFinal { output.authenticationSASLFinal(saslFinal) }
            let session = ClientSession(connection: self, startup: startupMessage)
            self.session = session
            session.start()
        case .cancel(let request):
            context.registry.session(processID: request.processID, secret: request.secretKey)?.cancelRequested()
            close()
        case .reject(let error):
            logger.info("client rejected", metadata: ["sqlstate": "\(error.sqlState ?? "")"])
            output.errorResponse(error)
            closeAfterWrite()
        }
    }

    /// Writes pending output soon, once per turn of the loop.
    func scheduleFlush() {
        guard !flushScheduled, !isClosed else { return }
        flushScheduled = true
        guard let watcher else { return soon { [self] in turnEnded() } }
        watcher.soon(self)
    }

    /// The end of the loop's turn in which output was added: writes it.
    func turnEnded() {
        flushScheduled = false
        flush()
    }

    /// Runs `work` on `queue` after the socket events being handled now (see
    /// ``SocketWatcher/soon(_:)``).
    func soon(_ work: @escaping () -> Void) {
        if let watcher {
            watcher.soon(work)
        } else {
            let work = UncheckedHandler(work)
            queue.async { work.body() }
        }
    }

    /// Writes as much pending output as the socket takes.
    func flush() {
        guard !isClosed else { return }
        while !output.isEmpty {
            let result: IOResult
            do {
                result = try output.buffer.withUnsafeBytes { buffer throws -> IOResult in
                    if let tls { return try tls.write(buffer) }
                    return try Syscall.write(fd, buffer)
                }
            } catch {
                logger.debug("client write failed", metadata: ["error": "\(error)"])
                close()
                return
            }
            switch result {
            case .processed(let n):
                output.consume(n)
            case .wouldBlock:
                // A TLS write that waits for input is retried on the next readable event.
                watcher?.wantsWrite = tls?.writeWaitsForReadable != true
                return
            }
        }
        watcher?.wantsWrite = false
        if closeAfterFlush {
            close()
            return
        }
        if !pausedBackends.isEmpty {
            let paused = pausedBackends
            pausedBackends = []
            for backend in paused { backend.resumeReading() }
        }
    }

    /// Sends what is pending, then closes (after a fatal error).
    func closeAfterWrite() {
        closeAfterFlush = true
        wantsInput = false
        flush()
    }

    /// Closes the socket and ends the session.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        session?.ended()
        session = nil
        if admitted { context.registry.connectionClosed() }
        let closed = onClose
        onClose = nil
        closed?()
        tls?.shutdown()
        let fd = self.fd
        if let watcher {
            self.watcher = nil
            watcher.cancel { Glibc.close(fd) }
        } else {
            Glibc.close(fd)
        }
    }
}
