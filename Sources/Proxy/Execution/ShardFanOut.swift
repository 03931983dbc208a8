import Backend
import Merge
import PGWire

/// Runs one statement text on one or more prepared shard connections and streams the merged
/// answer to the client: rows as they arrive (pausing the shards while the client's socket is
/// full), one RowDescription, one command tag, the first error. A single shard's messages are
/// forwarded byte for byte.
final class ShardFanOut {
    private unowned let session: ClientSession
    private let links: [ShardLink]
    private var merge: FanOutMerge
    /// Added to error positions a shard reports; nil drops them (the shard ran other text).
    private let positionOffset: Int?
    private var running = 0
    private var error: ErrorFields?
    private var completion: ((Bool) -> Void)?

    /// COPY TO STDOUT across shards: one CopyOutResponse and one CopyDone reach the client; with
    /// `copyHeader` (CSV HEADER) the first CopyData of every shard but the first is its header.
    private let copyHeader: Bool
    private var copyStarted = false
    private var copyDataSeen: Set<Int> = []

    init(session: ClientSession, links: [ShardLink], mode: FanOutMode, positionOffset: Int?, copyHeader: Bool = false) {
        self.session = session
        self.links = links
        self.merge = FanOutMerge(mode: mode, shards: links.map(\.index))
        self.positionOffset = positionOffset
        self.copyHeader = copyHeader
    }

    /// Sends `sql` (or the link's text in `perShard`) to every link; `completion(true)` when all
    /// succeeded. The backend connections hold this object (through their handlers) until their
    /// query completes.
    func run(_ sql: String, perShard: [Int: String] = [:], completion: @escaping (Bool) -> Void) {
        self.completion = completion
        running = links.count
        for link in links {
            guard let connection = link.connection else {
                shardFinished(link, BackendError(.connectionLost, "connection is not open"))
                continue
            }
            // One shard's rows, descriptions and tags go to the client as they are: in blocks,
            // without a handler call per message.
            let passthrough: ((UnsafeRawBufferPointer) -> BackendConnection.Flow)? = merge.mode != .single ? nil : { bytes in
                self.out.output.forward(messages: bytes)
                return self.out.throttle(connection)
            }
            connection.execute(perShard[link.index] ?? sql, onMessage: { message in
                self.messageArrived(message, from: link, connection: connection)
            }, passthrough: passthrough, completion: { failure in
                self.shardFinished(link, failure)
            })
        }
    }

    private var out: ClientConnection { session.connection }

    private func messageArrived(_ message: BackendMessage, from link: ShardLink, connection: BackendConnection) -> BackendConnection.Flow {
        let shard = link.index
        if merge.mode == .single {
            if session.singleShardMessage(message, from: connection, positionOffset: positionOffset) {
                _ = merge.errorArrived(fromShard: shard)
            }
            return out.throttle(connection)
        }
        switch message.type {
        case BackendMessage.dataRow:
            if merge.rowArrived(fromShard: shard) { out.output.forward(message) }
        case BackendMessage.rowDescription:
            if merge.descriptionArrived(fromShard: shard) { out.output.forward(message) }
        case BackendMessage.commandComplete:
            if merge.completed(fromShard: shard, tag: CommandTag(message.commandTag)) != nil {
                out.output.forward(message)
            }
        case BackendMessage.errorResponse:
            let fields = session.clientError(from: Diagnostics(message), positionOffset: positionOffset)
            if merge.errorArrived(fromShard: shard) { error = fields }
        case BackendMessage.noticeResponse:
            session.forwardNotice(Diagnostics(message))
        case BackendMessage.copyInResponse:
            // COPY FROM runs through ``ShardCopyIn``; a statement that asks for data anyway gets none.
            connection.send { $0.copyFail("pgshard sends no COPY data for this statement") }
        case BackendMessage.copyOutResponse, BackendMessage.copyData, BackendMessage.copyDone:
            if merge.mode == .concatenate, !merge.failed {
                copyMessage(message, shard: shard)
            }
        default:
            break
        }
        return out.throttle(connection)
    }

    /// A COPY TO STDOUT message of one of several shards.
    private func copyMessage(_ message: BackendMessage, shard: Int) {
        switch message.type {
        case BackendMessage.copyOutResponse:
            guard !copyStarted else { return }
            copyStarted = true
            out.output.forward(message)
        case BackendMessage.copyData:
            let first = copyDataSeen.insert(shard).inserted
            // The header line: the first shard to send one speaks for all.
            if copyHeader, first, copyDataSeen.count > 1 { return }
            out.output.forward(message)
        default:
            break  // CopyDone: one, before the summed tag (finish)
        }
    }

    private func shardFinished(_ link: ShardLink, _ failure: BackendError?) {
        if let failure {
            let fields = session.shardFailure(failure, link: link)
            if merge.errorArrived(fromShard: link.index) {
                if merge.mode == .single { out.output.errorResponse(fields) } else { error = fields }
            }
            link.close()
        }
        running -= 1
        guard running == 0 else { return }
        finish()
    }

    private func finish() {
        if let error {
            out.output.errorResponse(error)
        } else if !merge.failed {
            if copyStarted { out.output.copyDone() }
            let (tag, disagree) = merge.finalTag()
            if disagree {
                out.output.noticeResponse(.error(
                    .internalError, "shards answered this statement differently",
                    hint: "a reference table may differ between shards; compare it on every shard",
                    severity: "WARNING"))
            }
            if let tag { out.output.commandComplete(tag.description) }
        }
        let ok = !merge.failed
        let done = completion
        completion = nil
        out.scheduleFlush()
        done?(ok)
    }
}
