import PGWire
internal import CLibPQ
internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

// After libpq has opened and authenticated a connection, pgshard speaks the protocol on its
// socket itself: libpq's query API cannot express named portals, Execute with a row limit,
// per-column result formats or Flush, and forwarding a shard's DataRow bytes unchanged is far
// cheaper than building a PGresult per row. libpq keeps what it is good at: conninfo, TLS,
// authentication, cancel and closing. With TLS, reads and writes go through libpq's own SSL
// object.

extension BackendConnection {
    /// Queues messages for the shard and starts writing them.
    public func send(_ encode: (inout FrontendMessageEncoder) -> Void) {
        guard !isBroken else { return }
        // Query and Sync each end with exactly one ReadyForQuery (the encoder counts them).
        let before = output.readyForQueryCount
        encode(&output)
        pendingReadyForQuery += output.readyForQueryCount &- before
        // Inside a turn of the event loop: one write for every message of the turn (a flush
        // pending is one: it runs before the turn ends).
        guard !flushPending else { return }
        guard let watcher, watcher.isHandlingEvents else { return flush() }
        flushPending = true
        watcher.soon(self)
    }

    /// The end of the event loop's turn in which messages were queued: writes them.
    public func turnEnded() {
        flushPending = false
        flush()
    }

    /// Delivers every message the shard sends to `handler` until `stopReceiving()`; `failure`
    /// runs once if the connection is lost meanwhile.
    /// `passthrough`: see ``passthrough``.
    public func receive(
        _ handler: @escaping (BackendMessage) -> Flow, failure: @escaping (BackendError) -> Void,
        passthrough: ((UnsafeRawBufferPointer) -> Flow)? = nil
    ) {
        // A receiver installed before (a batch's, which the batch ends itself) would otherwise
        // take these messages: it is checked first. `startDelivery` drops it.
        startDelivery(handler: handler, failure: failure, passthrough: passthrough)
    }

    /// Ends delivery to the current handler; later messages are handled by the connection
    /// (ParameterStatus, notices) or, if unexpected, break it.
    public func stopReceiving() {
        // Nothing installed since the last stop (a batch stops its links at its end, and the
        // pool stops a connection again when it is given back): nothing to undo, and the
        // generation already differs from any a caller remembers.
        guard receiving || paused else { return }
        receiving = false
        receiverGeneration = Self.nextReceiverGeneration()
        receiver = nil
        receiverReadsReadyForQuery = false
        messageHandler = nil
        passthrough = nil
        failureHandler = nil
        if paused {
            paused = false
            if !isBroken { watcher?.wantsRead = true }
        }
    }

    /// Sends `sql` with the simple query protocol. `onMessage` receives every message up to the
    /// ReadyForQuery that ends it (not included); `completion` runs then, with an error only if
    /// the connection itself failed.
    public func execute(
        _ sql: String,
        onMessage: @escaping (BackendMessage) -> Flow,
        passthrough: ((UnsafeRawBufferPointer) -> Flow)? = nil,
        completion: @escaping (BackendError?) -> Void
    ) {
        guard !isBroken, conn != nil else {
            completion(BackendError(.connectionLost, "connection is not open"))
            return
        }
        send { $0.query(sql) }
        receive({ [unowned self] message in
            if message.type == BackendMessage.readyForQuery {
                stopReceiving()
                completion(nil)
                return .proceed
            }
            return onMessage(message)
        }, failure: { error in completion(error) }, passthrough: passthrough)
    }

    /// Sends `sql` with the simple query protocol and hands the answer to `receiver` (see
    /// ``BackendReceiver``), which is held until the ReadyForQuery or a failure. No closure is
    /// made: this is the path of every single-shard statement.
    public func execute(_ sql: String, forwardingTo receiver: any BackendReceiver) {
        guard !isBroken, conn != nil else {
            receiver.backendFinished(self, failure: BackendError(.connectionLost, "connection is not open"))
            return
        }
        send { $0.query(sql) }
        install(receiver, readsReadyForQuery: false)
    }

    /// Hands every message the shard sends to `receiver`, ReadyForQuery included, until
    /// `stopReceiving()` (an extended-protocol batch, which the caller ends); a failure of the
    /// connection reaches `backendFinished`. No closure is made: this runs for every batch.
    public func receive(forwardingTo receiver: any BackendReceiver) {
        install(receiver, readsReadyForQuery: true)
    }

    private func install(_ receiver: any BackendReceiver, readsReadyForQuery: Bool) {
        startDelivery(receiver: receiver, readsReadyForQuery: readsReadyForQuery)
    }

    /// Installs what takes the shard's messages from now on — handlers or a receiver, never
    /// both — and delivers what is buffered.
    private func startDelivery(
        handler: ((BackendMessage) -> Flow)? = nil, failure: ((BackendError) -> Void)? = nil,
        passthrough: ((UnsafeRawBufferPointer) -> Flow)? = nil,
        receiver: (any BackendReceiver)? = nil, readsReadyForQuery: Bool = false
    ) {
        receiverGeneration = Self.nextReceiverGeneration()
        receiving = true
        messageHandler = handler
        self.passthrough = passthrough
        failureHandler = failure
        self.receiver = receiver
        receiverReadsReadyForQuery = readsReadyForQuery
        paused = false
        watcher?.wantsRead = true
        deliverMessages()
    }

    /// Continues delivering messages after the handler answered `.pause`.
    public func resumeReading() {
        guard paused else { return }
        paused = false
        guard !isBroken else { return }
        watcher?.wantsRead = true
        deliverMessages()
    }

    func socketWritable() {
        if connectCompletion != nil {
            continueConnecting()
        } else {
            flush()
        }
    }

    func socketReadable() {
        if connectCompletion != nil {
            continueConnecting()
            return
        }
        readAvailable()
        deliverMessages()
    }

    /// Reads what the socket has into `input` (bytes `inputStart..<inputEnd` are unhandled).
    private func readAvailable() {
        guard !isBroken, let fd = socketFD else { return }
        for _ in 0..<16 {
            // A chunk of unhandled bytes that holds a whole message is enough: reading on
            // would only grow the buffer (a big result must not pile up here while the client
            // reads it). A message larger than that is read to its end.
            if inputEnd - inputStart >= Self.readChunk, hasWholeMessage { return }
            makeRoomForInput()
            let space = input.count - inputEnd
            let end = inputEnd
            let target = input.baseAddress! + end
            let n: Int
            if let ssl = sslHandle {
                let r = SSL_read(ssl, target, Int32(space))
                if r > 0 {
                    n = Int(r)
                } else {
                    let code = SSL_get_error(ssl, r)
                    if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { n = -2 } else { n = code == SSL_ERROR_ZERO_RETURN ? 0 : -1 }
                }
            } else {
                let r = Glibc.read(fd, target, space)
                n = r >= 0 ? r : errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -2 : -1
            }
            if n == -2 { return }
            if n <= 0 {
                lose(n == 0 ? "the shard closed the connection" : "could not read from the shard")
                return
            }
            inputEnd += n
            if n < space { return }
        }
    }

    /// Whether the unhandled bytes start with a complete message.
    private var hasWholeMessage: Bool {
        guard inputEnd - inputStart >= 5 else { return false }
        let length = Int(input[inputStart + 1]) << 24 | Int(input[inputStart + 2]) << 16 | Int(input[inputStart + 3]) << 8 | Int(input[inputStart + 4])
        return inputEnd - inputStart >= 1 + length
    }

    /// Keeps at least half a read's worth of free space after the unhandled bytes, moving them
    /// to the front or doubling the buffer (a message larger than the buffer).
    private func makeRoomForInput() {
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
            if input.count > 1 << 20 {
                input.deallocate()
                input = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            }
        }
        if input.count == 0 { input = .allocate(byteCount: Self.readChunk, alignment: 8) }
        guard input.count - inputEnd < Self.readChunk / 2 else { return }
        if inputStart > 0 {
            let base = input.baseAddress!
            memmove(base, base + inputStart, inputEnd - inputStart)
            inputEnd -= inputStart
            inputStart = 0
        }
        if input.count - inputEnd < Self.readChunk / 2 {
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * input.count, alignment: 8)
            larger.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: inputEnd)
            input.deallocate()
            input = larger
        }
    }

    /// Hands complete messages to the handler until it pauses or none is left.
    func deliverMessages() {
        // A handler may start the next exchange (`receive`): the loop already running delivers
        // it. Without buffered bytes there is nothing to deliver (the usual case when a handler
        // is installed, with every statement).
        guard !delivering, inputEnd > inputStart else { return }
        delivering = true
        defer { delivering = false }
        // (The loop ends when every byte was handled without asking the framing: the usual end.)
        while !paused, !isBroken, inputStart < inputEnd {
            if passthrough != nil || receiver != nil, !heldMessageTracked, forwardRun() { continue }
            let bytes = UnsafeRawBufferPointer(input)
            let next: (type: UInt8, body: Range<Int>)?
            do {
                next = try BackendMessageFraming.message(in: UnsafeRawBufferPointer(rebasing: bytes[..<inputEnd]), at: inputStart)
            } catch {
                lose("the shard sent a message of invalid length")
                return
            }
            guard let (type, body) = next else { return }
            // The bytes stay where they are while the handler runs: `input` is only replaced or
            // moved by `readAvailable`, which never runs inside a delivery.
            let flow = handle(BackendMessage(type: type, body: UnsafeRawBufferPointer(rebasing: bytes[body])))
            if flow != .hold {
                inputStart = body.upperBound
                heldMessageTracked = false
            }
            if flow != .proceed {
                paused = true
                watcher?.wantsRead = false
            }
        }
    }

    /// Messages a pass-through receiver takes as bytes: rows, row descriptions, command tags and
    /// the other answers that say nothing about the connection's state. Errors, notices,
    /// parameter changes, ReadyForQuery, notifications and COPY go to the handler one by one.
    static func passesThrough(_ type: UInt8) -> Bool {
        switch type {
        case BackendMessage.dataRow, BackendMessage.rowDescription, BackendMessage.commandComplete,
             BackendMessage.emptyQueryResponse, BackendMessage.noData, BackendMessage.parseComplete,
             BackendMessage.bindComplete, BackendMessage.closeComplete, BackendMessage.portalSuspended,
             BackendMessage.parameterDescription:
            true
        default:
            false
        }
    }

    /// Hands the run of whole pass-through messages at the front of the input to the receiver or
    /// `passthrough` as one block; false when there is none (the next message is for the handler,
    /// incomplete, or malformed — the caller's framing reports that) or the receiver took none of it.
    private func forwardRun() -> Bool {
        let start = inputStart
        // The message after a run (ReadyForQuery, mostly) is not one: no need to ask.
        guard start < inputEnd, Self.passesThrough(input[start]) else { return false }
        if let receiver {
            guard receiver.backendTakesRuns(from: self) else { return false }
        } else if passthrough == nil {
            return false
        }
        var end = start
        var traffic = RunTraffic()
        let available = UnsafeRawBufferPointer(rebasing: input[..<inputEnd])
        while let next = Self.wholeMessageEnd(in: available, at: end), Self.passesThrough(available[end]) {
            traffic.count(available[end], bodyBytes: next - end - 5)
            end = next
        }
        guard end > start else { return false }
        let run = UnsafeRawBufferPointer(rebasing: available[start..<end])
        let (taken, flow) = if let receiver {
            receiver.backendForward(run, from: self)
        } else {
            (run.count, passthrough?(run) ?? .proceed)
        }
        guard taken > 0 else { return false }
        if taken < end - start {
            // The rest is delivered again: counted then.
            traffic = RunTraffic(available, from: start, to: start + taken)
        }
        record(traffic)
        inputStart = start + taken
        if flow != .proceed {
            paused = true
            watcher?.wantsRead = false
        }
        return true
    }

    /// Where the message at `offset` of `bytes` ends, when all of it is there; nil when it is
    /// incomplete or its length is malformed (either ends a run: the framing of the message
    /// one by one tells which). ``BackendMessageFraming/message(in:at:)`` without the throw
    /// and the bytes read one at a time: this runs for every message of a run.
    @inline(__always)
    private static func wholeMessageEnd(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        guard bytes.count - offset >= 5 else { return nil }
        let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self)))
        guard length >= 4, length <= Int(Int32.max) else { return nil }
        let end = offset + 1 + length
        return end <= bytes.count ? end : nil
    }

    private func record(_ run: RunTraffic) {
        guard let traffic else { return }
        if run.rows > 0 {
            traffic.rows.add(run.rows, ordering: .relaxed)
            traffic.bytes.add(run.rowBytes, ordering: .relaxed)
        }
        if run.tags > 0 { traffic.statements.add(run.tags, ordering: .relaxed) }
    }

    private func handle(_ message: BackendMessage) -> Flow {
        // A held message is delivered again later; what it says about the connection is
        // recorded once, before its handler sees it.
        if !heldMessageTracked { track(message) }
        if message.type == BackendMessage.notificationResponse {
            // Asynchronous: never part of the exchange a handler reads.
            notificationHandler?(message)
            return .proceed
        }
        if let receiver {
            guard message.type == BackendMessage.readyForQuery, !receiverReadsReadyForQuery else {
                let flow = receiver.backendMessage(message, from: self)
                heldMessageTracked = flow == .hold
                return flow
            }
            stopReceiving()
            receiver.backendFinished(self, failure: nil)
            return .proceed
        }
        if let handler = messageHandler {
            let flow = handler(message)
            heldMessageTracked = flow == .hold
            return flow
        }
        switch message.type {
        case BackendMessage.noticeResponse:
            noticeHandler?(Diagnostics(message))
        case BackendMessage.parameterStatus, BackendMessage.readyForQuery:
            break
        case BackendMessage.errorResponse:
            // An error outside any exchange: the server is going away (shutdown, terminated).
            let text = message.fields.first { $0.0 == UInt8(ascii: "M") }?.1 ?? "the shard reported an error"
            lose(text)
        default:
            lose("the shard sent an unexpected message '\(Character(UnicodeScalar(message.type)))'")
        }
        return .proceed
    }

    /// What the connection itself learns from a message: transaction state, parameters.
    private func track(_ message: BackendMessage) {
        switch message.type {
        case BackendMessage.dataRow:
            if let traffic {
                traffic.rows.add(1, ordering: .relaxed)
                traffic.bytes.add(message.body.count, ordering: .relaxed)
            }
        case BackendMessage.commandComplete:
            traffic?.statements.add(1, ordering: .relaxed)
        case BackendMessage.errorResponse:
            traffic?.errors.add(1, ordering: .relaxed)
        case BackendMessage.readyForQuery:
            pendingReadyForQuery = max(0, pendingReadyForQuery - 1)
            transactionStatus = message.transactionStatus ?? .idle
        case BackendMessage.parameterStatus:
            let (name, value) = message.parameterStatus
            parameters[name] = value
        default:
            break
        }
    }

    /// Writes as much queued output as the socket takes.
    func flush() {
        guard !isBroken, let fd = socketFD else { return }
        while !output.isEmpty {
            let n = output.withUnsafeBytes { buffer -> Int in
                if let ssl = sslHandle {
                    let r = SSL_write(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
                    if r > 0 { return Int(r) }
                    let code = SSL_get_error(ssl, r)
                    return code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE ? -2 : -1
                }
                let r = Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                if r < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -2 : -1 }
                return r
            }
            if n == -2 {
                watcher?.wantsWrite = true
                return
            }
            if n < 0 {
                lose("could not write to the shard")
                return
            }
            output.consume(n)
        }
        watcher?.wantsWrite = false
        if let drained = onOutputDrained {
            onOutputDrained = nil
            drained()
        }
    }

    /// The connection is unusable: every waiting party hears it once.
    func lose(_ message: String) {
        fail(BackendError(.connectionLost, message))
        watcher?.wantsRead = false
        watcher?.wantsWrite = false
    }
}

/// What a run of pass-through messages adds to a connection's ``ShardTraffic``.
private struct RunTraffic {
    var rows = 0, rowBytes = 0, tags = 0

    init() {}

    /// The traffic of the whole messages in `input[start..<end]`.
    init(_ input: UnsafeRawBufferPointer, from start: Int, to end: Int) {
        let run = UnsafeRawBufferPointer(rebasing: input[..<end])
        var offset = start
        while let (type, body) = (try? BackendMessageFraming.message(in: run, at: offset)) ?? nil {
            count(type, bodyBytes: body.count)
            offset = body.upperBound
        }
    }

    mutating func count(_ type: UInt8, bodyBytes: Int) {
        if type == BackendMessage.dataRow {
            rows += 1
            rowBytes += bodyBytes
        } else if type == BackendMessage.commandComplete {
            tags += 1
        }
    }
}
