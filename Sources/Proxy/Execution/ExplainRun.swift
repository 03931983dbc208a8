import Backend
import PGWire
import SQLRouter

/// `EXPLAIN` through pgshard: pgshard's own lines (``Explanation``), then each shard's plan,
/// the shards one after the other, as one result set of one `QUERY PLAN` column.
final class ExplainRun {
    private unowned let session: ClientSession
    private let links: [ShardLink]
    private let texts: [Int: String]
    private let lines: [String]
    private let positionOffset: Int?
    private var described = false
    private var error: ErrorFields?

    /// `texts`: the statement each shard runs, by shard index.
    init(session: ClientSession, links: [ShardLink], texts: [Int: String], lines: [String], positionOffset: Int?) {
        self.session = session
        self.links = links
        self.texts = texts
        self.lines = lines
        self.positionOffset = positionOffset
    }

    func run(completion: @escaping (ErrorFields?) -> Void) {
        next(0, completion: completion)
    }

    private var out: ClientConnection { session.connection }

    private func next(_ position: Int, completion: @escaping (ErrorFields?) -> Void) {
        guard error == nil, position < links.count else {
            if error == nil { out.output.commandComplete("EXPLAIN") }
            out.scheduleFlush()
            return completion(error)
        }
        let link = links[position]
        guard let connection = link.connection, let sql = texts[link.index] else {
            error = .error(.connectionFailure, "connection to shard \"\(link.name)\" is not open")
            return next(links.count, completion: completion)
        }
        connection.execute(sql, onMessage: { message in
            self.arrived(message, from: link, connection: connection)
        }, completion: { failure in
            if let failure {
                if self.error == nil { self.error = self.session.shardFailure(failure, link: link) }
                link.close()
            }
            self.next(position + 1, completion: completion)
        })
    }

    private func arrived(_ message: BackendMessage, from link: ShardLink, connection: BackendConnection) -> BackendConnection.Flow {
        guard error == nil else { return .proceed }
        switch message.type {
        case BackendMessage.rowDescription:
            if !described {
                described = true
                out.output.forward(message)
                for line in lines { out.output.dataRow([Array(line.utf8)]) }
            }
            if links.count > 1 { out.output.dataRow([Array("pgshard: plan of shard \(link.name):".utf8)]) }
        case BackendMessage.dataRow:
            out.output.forward(message)
        case BackendMessage.errorResponse:
            error = session.clientError(from: Diagnostics(message), positionOffset: positionOffset)
        case BackendMessage.noticeResponse:
            session.forwardNotice(Diagnostics(message))
        default:
            break
        }
        return out.throttle(connection)
    }
}
