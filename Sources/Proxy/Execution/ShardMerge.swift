import Backend
import Dispatch
import Merge
import PGWire

/// Runs a cross-shard SELECT by its ``MergePlan``: every shard runs the plan's statement, and
/// the ``RowMerger`` turns their rows into the one answer an unsharded PostgreSQL would give.
///
/// Rows stream: each shard's rows wait in a short queue until the merge knows which comes
/// next; a shard whose queue is long, or whose rows the client is not reading fast enough,
/// is paused (not read) until they move. Once the LIMIT is met the rest of every shard's
/// answer is read and dropped.
// Touched only on its session's queue (cancel requests hop back to it).
final class ShardMerge: @unchecked Sendable {
    private unowned let session: ClientSession
    private let links: [ShardLink]
    private let merger: RowMerger
    private var running = 0
    private var error: ErrorFields?
    private var described = false
    private var completion: ((Bool) -> Void)?
    /// Streams paused because their queue is long, by stream.
    private var waiting: [Int: BackendConnection] = [:]
    /// Streams whose statement ended (CommandComplete or ErrorResponse).
    private var ended: Set<Int> = []
    /// Streams whose statement pgshard cancelled once the LIMIT was met.
    private var cancelled: Set<Int> = []
    private var pendingCancels = 0

    /// Rows, and bytes, a stream may hold before it is paused.
    static let queueLimit = 256
    static let queueBytes = 1 << 20

    init(session: ClientSession, links: [ShardLink], plan: MergePlan, maxMemory: Int, textOrder: ShardCollations.TextOrder) {
        self.session = session
        self.links = links
        let dateStyle = session.reportedParameters["DateStyle"] ?? "ISO"
        let intervalStyle = session.reportedParameters["IntervalStyle"] ?? "postgres"
        self.merger = RowMerger(plan: plan, streams: links.count, maxMemory: maxMemory, textIsBytes: textOrder == .bytes,
                                collationKnown: textOrder != .unknown, dateStyleISO: dateStyle.hasPrefix("ISO"), intervalStylePostgres: intervalStyle == "postgres")
    }

    private var out: ClientConnection { session.connection }

    func run(completion: @escaping (Bool) -> Void) {
        self.completion = completion
        running = links.count
        for (stream, link) in links.enumerated() {
            guard let connection = link.connection else {
                shardFinished(stream, link, BackendError(.connectionLost, "connection is not open"))
                continue
            }
            connection.execute(merger.plan.sql, onMessage: { message in
                self.messageArrived(message, stream: stream, connection: connection)
            }, completion: { failure in
                self.shardFinished(stream, link, failure)
            })
        }
    }

    private func messageArrived(_ message: BackendMessage, stream: Int, connection: BackendConnection) -> BackendConnection.Flow {
        switch message.type {
        case BackendMessage.dataRow:
            guard error == nil, !merger.isSatisfied else { return .proceed }
            do throws(MergeError) {
                try merger.add(stream: stream, row: message.body)
            } catch {
                failMerge(error)
                return .proceed
            }
            pump()
            if merger.queued(stream) >= Self.queueLimit || merger.queuedBytes(stream) >= Self.queueBytes {
                waiting[stream] = connection
                return .pause
            }
            return out.throttle(connection)
        case BackendMessage.rowDescription:
            guard error == nil else { return .proceed }
            do throws(MergeError) {
                if let fields = try merger.describe(stream: stream, fields: message.rowDescription) {
                    out.output.rowDescription(fields)
                    described = true
                }
            } catch {
                failMerge(error)
            }
        case BackendMessage.commandComplete:
            ended.insert(stream)
            guard error == nil else { return .proceed }
            do throws(MergeError) {
                try merger.finish(stream: stream)
            } catch {
                failMerge(error)
                return .proceed
            }
            pump()
        case BackendMessage.errorResponse:
            ended.insert(stream)
            // The cancel pgshard sent once the LIMIT was met.
            if cancelled.contains(stream), message.fields.contains(where: { $0.0 == UInt8(ascii: "C") && $0.1 == "57014" }) {
                return .proceed
            }
            if error == nil {
                // Positions refer to the rewritten statement: left out.
                error = session.clientError(from: Diagnostics(message), positionOffset: nil)
                cancelRemaining()
            }
        case BackendMessage.noticeResponse:
            session.forwardNotice(Diagnostics(message))
        default:
            break
        }
        return .proceed
    }

    private func failMerge(_ failure: MergeError) {
        if error == nil { error = failure.fields }
        resumeWaiting(all: true)
        // Nothing more will be sent: the shards need not finish (a refusal at the first
        // RowDescription must not wait for every row).
        cancelRemaining()
    }

    /// Sends every row the merge can release, and resumes streams whose queue has drained.
    private func pump() {
        guard error == nil else { return }
        do throws(MergeError) {
            while let body = try merger.nextRow() {
                body.withUnsafeBytes { out.output.forward(BackendMessage(type: BackendMessage.dataRow, body: $0)) }
            }
        } catch {
            failMerge(error)
            return
        }
        out.scheduleFlush()
        resumeWaiting(all: merger.isSatisfied)
        if merger.isSatisfied { cancelRemaining() }
    }

    /// Once the LIMIT is met, the shards still running are asked to stop. Only outside a
    /// transaction: a cancelled statement would abort the shard's transaction. The connections
    /// are given back only after every cancel request was delivered (`finish` waits), so a
    /// late cancel cannot reach another client's statement.
    private func cancelRemaining() {
        guard session.transaction == nil, cancelled.isEmpty else { return }
        for (stream, link) in links.enumerated() where !ended.contains(stream) {
            guard let connection = link.connection, connection.isBusy, let handle = connection.makeCancelHandle() else { continue }
            cancelled.insert(stream)
            pendingCancels += 1
            let queue = connection.queue
            DispatchQueue.global().async { [self] in
                handle.cancel()
                queue.async { [self] in
                    pendingCancels -= 1
                    if running == 0, pendingCancels == 0 { finish() }
                }
            }
        }
    }

    private func resumeWaiting(all: Bool) {
        for (stream, connection) in waiting
        where all || (merger.queued(stream) < Self.queueLimit / 2 && merger.queuedBytes(stream) < Self.queueBytes / 2) {
            waiting[stream] = nil
            // Not from inside another stream's message handler: on the next turn of the loop.
            connection.queue.async { connection.resumeReading() }
        }
    }

    private func shardFinished(_ stream: Int, _ link: ShardLink, _ failure: BackendError?) {
        if let failure {
            if error == nil { error = session.shardFailure(failure, link: link) }
            link.close()
            resumeWaiting(all: true)
        }
        running -= 1
        guard running == 0, pendingCancels == 0 else { return }
        finish()
    }

    private func finish() {
        guard completion != nil else { return }
        if let error {
            out.output.errorResponse(error)
        } else {
            if !described, let fields = merger.clientFields { out.output.rowDescription(fields) }
            out.output.commandComplete("SELECT \(merger.rowsSent)")
        }
        let ok = error == nil
        let done = completion
        completion = nil
        out.scheduleFlush()
        done?(ok)
    }
}
