import Backend
import Merge
import PGWire

/// Runs one FETCH or MOVE of the simple protocol on a cursor that several shards hold: one
/// shard at a time (``ShardedFetch`` says which and for how many rows), its rows streamed to
/// the client as they arrive. The client gets one RowDescription (the first shard's), the rows
/// in shard order, and one tag with the total; or the first error, which ends the statement.
final class ShardedCursorRead {
    private unowned let session: ClientSession
    /// The cursor's shard links, in the order it reads them.
    private let links: [ShardLink]
    private let cursor: String
    private let isMove: Bool
    private(set) var fetch: ShardedFetch
    private var described = false
    private var stepRows: Int64 = 0
    private var error: ErrorFields?
    private var completion: ((Bool) -> Void)?

    init(session: ClientSession, links: [ShardLink], cursor: String, isMove: Bool, fetch: ShardedFetch) {
        self.session = session
        self.links = links
        self.cursor = cursor
        self.isMove = isMove
        self.fetch = fetch
    }

    private var out: ClientConnection { session.connection }

    /// Reads until the client has what it asked for or the last shard is at its end;
    /// `completion(true)` after the tag was sent. The shard connection holds this object
    /// (through its handlers) while a step runs. ``fetch`` then tells where the cursor stands.
    func run(completion: @escaping (Bool) -> Void) {
        self.completion = completion
        step()
    }

    private func step() {
        let link = links[fetch.position]
        guard let connection = link.connection else {
            return finished(link, BackendError(.connectionLost, "connection is not open"))
        }
        stepRows = 0
        connection.execute(fetch.statement(cursor: cursor, isMove: isMove), onMessage: { message in
            self.messageArrived(message, connection: connection)
        }, completion: { failure in
            self.finished(link, failure)
        })
    }

    private func messageArrived(_ message: BackendMessage, connection: BackendConnection) -> BackendConnection.Flow {
        switch message.type {
        case BackendMessage.rowDescription:
            // Every shard describes the same columns: the client hears it once.
            if !described, error == nil { out.output.forward(message) }
            described = true
        case BackendMessage.dataRow:
            if error == nil { out.output.forward(message) }
        case BackendMessage.commandComplete:
            stepRows = Int64(CommandTag(message.commandTag).rows ?? 0)
        case BackendMessage.errorResponse:
            if error == nil { error = session.clientError(from: Diagnostics(message), positionOffset: nil) }
        case BackendMessage.noticeResponse:
            session.forwardNotice(Diagnostics(message))
        default:
            break
        }
        return out.throttle(connection)
    }

    private func finished(_ link: ShardLink, _ failure: BackendError?) {
        if let failure {
            if error == nil { error = session.shardFailure(failure, link: link) }
            link.close()
        }
        if error == nil, fetch.shardAnswered(rows: stepRows) {
            return step()
        }
        if let error {
            out.output.errorResponse(error)
        } else {
            out.output.commandComplete(fetch.tag(isMove: isMove))
        }
        out.scheduleFlush()
        let done = completion
        completion = nil
        done?(error == nil)
    }
}
