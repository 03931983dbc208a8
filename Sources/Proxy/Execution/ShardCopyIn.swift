import Backend
import Dispatch
import PGWire
import SQLRouter

/// Runs one `COPY … FROM STDIN` on prepared shard connections: sends the statement to every
/// shard, answers the client's CopyInResponse once all shards are ready, then streams the
/// client's data — each row to its shard through a ``CopyRowSplitter`` for a sharded table, the
/// bytes as they came to every shard otherwise — and ends every shard's COPY with the client's
/// CopyDone. Any error (a bad row, the client's CopyFail, a shard's error or loss) sends
/// CopyFail to the shards still copying; the session then rolls them all back.
///
/// Memory: each shard's rows wait until 64 KB or the end of the loop's turn; while a shard has
/// more than 1 MiB unsent, the client is not read.
///
/// `@unchecked Sendable`: confined to the session's queue, like the session; it is only
/// captured to schedule work on that queue.
final class ShardCopyIn: @unchecked Sendable {
    /// How the COPY ended: the `COPY n` tag, or the error for the client.
    enum Outcome {
        case copied(String)
        case failed(ErrorFields)
    }

    private enum Phase {
        /// Waiting for every shard's CopyInResponse.
        case starting
        /// The client sends data.
        case copying
        /// CopyDone went to the shards; waiting for their tags.
        case ending
        /// An error: CopyFail went to the shards still copying; waiting for them to finish.
        case aborting
        case finished
    }

    private unowned let session: ClientSession
    private let plan: CopyInPlan
    private let links: [ShardLink]
    /// Nil: every shard gets the client's data as it is (reference and pinned tables).
    private var splitter: CopyRowSplitter?
    /// The client's bytes not yet sent to the shards (without a splitter).
    private var unsplit: [UInt8] = []
    private var phase = Phase.starting
    /// Links whose statement is still running (no ReadyForQuery yet), by position.
    private var running: [Bool]
    /// Links that answered CopyInResponse and were not sent CopyDone or CopyFail.
    private var copying: [Bool]
    private var copyInResponse: [UInt8]?
    private var counts: [Int] = []
    private var error: ErrorFields?
    private var completion: ((Outcome) -> Void)?
    private var flushScheduled = false
    /// Reading the client stopped until the shards' output drains.
    private var throttled = false

    /// A shard's rows are sent once this many bytes wait.
    static let sendThreshold = 64 << 10
    /// Above this many unsent bytes on a shard connection, the client is not read.
    static let shardHighWater = 1 << 20

    init(session: ClientSession, plan: CopyInPlan, links: [ShardLink], splitter: CopyRowSplitter?) {
        self.session = session
        self.plan = plan
        self.links = links
        self.splitter = splitter
        self.running = Array(repeating: false, count: links.count)
        self.copying = Array(repeating: false, count: links.count)
    }

    private var out: ClientConnection { session.connection }

    /// Whether the session hands client messages to this COPY now.
    var receivesClientMessages: Bool { phase == .copying }
    /// Whether the client may be read.
    var acceptsData: Bool { phase == .copying && !throttled }

    /// Sends `sql` to every shard; `completion` runs once every shard finished.
    func run(_ sql: String, completion: @escaping (Outcome) -> Void) {
        self.completion = completion
        for (position, link) in links.enumerated() {
            guard let backend = link.connection else {
                shardFinished(position, BackendError(.connectionLost, "connection is not open"))
                continue
            }
            running[position] = true
            backend.execute(sql, onMessage: { [self] message in
                messageArrived(message, from: position)
            }, completion: { [self] failure in
                shardFinished(position, failure)
            })
        }
    }

    // MARK: Client messages

    /// A CopyData message of the client.
    func dataReceived(_ bytes: [UInt8]) {
        guard phase == .copying else { return }
        if splitter == nil {
            unsplit.append(contentsOf: bytes)
            if unsplit.count >= Self.sendThreshold { sendUnsplit() }
        } else {
            var failure: CopyDataError?
            bytes.withUnsafeBytes { chunk in
                do throws(CopyDataError) { try splitter!.feed(chunk) } catch { failure = error }
            }
            if let failure { return abort(Self.clientError(failure)) }
            sendPending(minimum: Self.sendThreshold)
        }
        scheduleFlush()
        throttleIfBehind()
    }

    /// The client's CopyDone: the last rows, then CopyDone to every shard.
    func doneReceived() {
        guard phase == .copying else { return }
        if splitter != nil {
            do throws(CopyDataError) {
                try splitter!.finish()
            } catch {
                return abort(Self.clientError(error))
            }
        }
        sendPending(minimum: 0)
        sendUnsplit()
        phase = .ending
        for (position, link) in links.enumerated() where copying[position] {
            copying[position] = false
            link.connection?.send { $0.copyDone() }
        }
    }

    /// The client's CopyFail.
    func failReceived(_ message: String) {
        guard phase == .copying else { return }
        abort(.error(.queryCanceled, "COPY from stdin failed: \(message)"))
    }

    /// Any other message during COPY: PostgreSQL fails the COPY and drops the message.
    func unexpectedReceived(_ type: UInt8) {
        guard phase == .copying else { return }
        let hex = String(type, radix: 16, uppercase: true)
        abort(.error(.protocolViolation, "unexpected message type 0x\(type < 16 ? "0" : "")\(hex) during COPY from stdin"))
    }

    /// The client went away: the shards' connections are closed by the session (their
    /// transactions roll back); nothing more is sent.
    func clientLeft() {
        phase = .finished
        completion = nil
    }

    // MARK: Shards

    private func messageArrived(_ message: BackendMessage, from position: Int) -> BackendConnection.Flow {
        switch message.type {
        case BackendMessage.copyInResponse:
            copying[position] = true
            if phase == .aborting {
                failShard(position)
            } else if copyInResponse == nil {
                copyInResponse = Array(message.body)
            }
            if phase == .starting, copying.allSatisfy({ $0 }) { beginCopying() }
        case BackendMessage.commandComplete:
            let tag = message.commandTag
            if tag.hasPrefix("COPY "), let count = Int(tag.dropFirst(5)) { counts.append(count) }
        case BackendMessage.errorResponse:
            copying[position] = false
            if error == nil { abort(shardError(Diagnostics(message), position: position)) }
        case BackendMessage.noticeResponse:
            session.forwardNotice(Diagnostics(message))
        default:
            break
        }
        return .proceed
    }

    private func shardFinished(_ position: Int, _ failure: BackendError?) {
        running[position] = false
        copying[position] = false
        if let failure {
            let link = links[position]
            let fields = session.shardFailure(failure, link: link)
            link.close()
            if error == nil { abort(fields) }
        } else if phase == .starting, error == nil {
            // The statement ended without asking for data (it cannot, for COPY FROM STDIN).
            abort(.error(.protocolViolation, "shard \"\(links[position].name)\" did not start COPY"))
        }
        if !running.contains(true) { finish() }
    }

    private func beginCopying() {
        phase = .copying
        if let copyInResponse {
            copyInResponse.withUnsafeBytes { out.output.forward(BackendMessage(type: BackendMessage.copyInResponse, body: $0)) }
        }
        out.flush()
        resumeClient()
    }

    /// Sends CopyFail to the shards still copying and waits for all of them to finish.
    private func abort(_ fields: ErrorFields) {
        if error == nil { error = fields }
        guard phase == .starting || phase == .copying || phase == .ending else { return }
        phase = .aborting
        for position in links.indices where copying[position] { failShard(position) }
    }

    private func failShard(_ position: Int) {
        copying[position] = false
        links[position].connection?.send { $0.copyFail("COPY aborted by pgshard: another shard or the client data failed") }
    }

    private func finish() {
        guard phase != .finished else { return }
        phase = .finished
        for link in links { link.connection?.onOutputDrained = nil }
        let outcome: Outcome
        if let error {
            outcome = .failed(error)
        } else if case .sharded = plan.target {
            outcome = .copied("COPY \(counts.reduce(0, +))")
        } else {
            // A reference table: every shard holds the same rows; report them once.
            outcome = .copied("COPY \(counts.first ?? 0)")
        }
        let done = completion
        completion = nil
        done?(outcome)
    }

    // MARK: Sending rows

    /// Sends each shard's rows once at least `minimum` bytes wait.
    private func sendPending(minimum: Int) {
        guard splitter != nil else { return }
        for (position, link) in links.enumerated() where copying[position] {
            let shard = link.index
            guard splitter!.pendingCount(shard) > max(minimum - 1, 0), let backend = link.connection else { continue }
            splitter!.takePending(shard) { bytes in backend.send { $0.copyData(bytes) } }
        }
    }

    private func sendUnsplit() {
        guard !unsplit.isEmpty else { return }
        unsplit.withUnsafeBytes { bytes in
            for (position, link) in links.enumerated() where copying[position] {
                link.connection?.send { $0.copyData(bytes) }
            }
        }
        unsplit.removeAll(keepingCapacity: true)
    }

    /// What waits goes out at the end of the loop's turn, after every message read in it.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        session.queue.async { [self] in
            flushScheduled = false
            guard phase == .copying else { return }
            sendPending(minimum: 0)
            sendUnsplit()
            throttleIfBehind()
        }
    }

    private func throttleIfBehind() {
        guard phase == .copying else { return }
        for link in links {
            guard let backend = link.connection, backend.unsentByteCount > Self.shardHighWater else { continue }
            throttled = true
            out.wantsInput = false
            backend.onOutputDrained = { [weak self] in self?.shardDrained() }
        }
    }

    private func shardDrained() {
        guard throttled, phase == .copying,
              !links.contains(where: { ($0.connection?.unsentByteCount ?? 0) > Self.shardHighWater })
        else { return }
        throttled = false
        resumeClient()
    }

    private func resumeClient() {
        guard !out.isClosed else { return }
        out.wantsInput = true
        session.queue.async { [self] in
            guard acceptsData else { return }
            out.processInput()
        }
    }

    // MARK: Errors

    /// A bad row as the client sees it: PostgreSQL's fields, with the COPY context.
    static func clientError(_ error: CopyDataError) -> ErrorFields {
        var fields = ErrorFields.error(SQLState(rawValue: error.sqlState), error.message, hint: error.hint)
        if !error.context.isEmpty { fields.fields.append((UInt8(ascii: "W"), error.context)) }
        return fields
    }

    /// A shard's error, with the shard named in its context. Rows of a sharded table are
    /// numbered by the shard among the rows it received, not as the client sent them.
    private func shardError(_ diagnostics: Diagnostics, position: Int) -> ErrorFields {
        var fields = session.clientError(from: diagnostics, positionOffset: nil)
        var note = "on shard \"\(links[position].name)\""
        if splitter != nil { note += " (its line numbers count only the rows pgshard sent to that shard)" }
        if let index = fields.fields.firstIndex(where: { $0.code == UInt8(ascii: "W") }) {
            fields.fields[index].value += "\n" + note
        } else {
            fields.fields.append((UInt8(ascii: "W"), note))
        }
        return fields
    }
}
