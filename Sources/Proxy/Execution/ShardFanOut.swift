import Backend
import Merge
import PGWire

/// Runs one statement text on one or more prepared shard connections and streams the merged
/// answer to the client: rows as they arrive (pausing the shards while the client's socket is
/// full), one RowDescription, one command tag, the first error.
final class ShardFanOut {
    private unowned let session: ClientSession
    private let links: [ShardLink]
    private var merge: FanOutMerge
    private let positionOffset: Int
    private var running = 0
    private var pending: [BackendConnection] = []
    private var error: ErrorFields?
    private var lostConnection = false
    private var completion: ((Bool) -> Void)?

    init(session: ClientSession, links: [ShardLink], mode: FanOutMode, positionOffset: Int) {
        self.session = session
        self.links = links
        self.merge = FanOutMerge(mode: mode, shards: links.map(\.index))
        self.positionOffset = positionOffset
    }

    /// Sends `sql` to every link; `completion(true)` when all succeeded. The backend
    /// connections hold this object (through their handlers) until their query completes.
    func run(_ sql: String, completion: @escaping (Bool) -> Void) {
        self.completion = completion
        running = links.count
        for link in links {
            guard let connection = link.connection else {
                shardFinished(link, BackendError(.connectionLost, "connection is not open"))
                continue
            }
            connection.execute(sql, onResult: { result in
                self.resultArrived(result, from: link, connection: connection)
            }, completion: { failure in
                self.shardFinished(link, failure)
            })
        }
    }

    private var out: ClientConnection { session.connection }

    private func resultArrived(_ result: BackendResult, from link: ShardLink, connection: BackendConnection) -> BackendConnection.Flow {
        switch result.status {
        case .singleRow:
            let decision = merge.rowArrived(fromShard: link.index)
            if decision.description { sendRowDescription(result) }
            if decision.row { sendRow(result) }
        case .rowsComplete, .commandComplete:
            if result.status == .rowsComplete && merge.owesRowDescription(fromShard: link.index) {
                sendRowDescription(result)
                merge.markRowDescriptionSent()
            }
            if let tag = merge.completed(fromShard: link.index, tag: CommandTag(result.commandTag)) {
                out.output.commandComplete(tag.description)
            }
        case .emptyQuery:
            if merge.mode == .single { out.output.emptyQueryResponse() }
        case .error:
            let fields = session.clientError(from: result.diagnostics, positionOffset: positionOffset)
            if merge.errorArrived(fromShard: link.index) {
                if merge.mode == .single {
                    out.output.errorResponse(fields)
                } else {
                    error = fields
                }
            }
        case .copy, .other:
            break
        }
        return backpressure(connection)
    }

    private func sendRowDescription(_ result: BackendResult) {
        let output = out
        output.output.beginRowDescription(fieldCount: result.fieldCount)
        for i in 0..<result.fieldCount {
            let f = result.field(i)
            output.output.appendField(FieldDescription(
                name: f.name, tableOID: f.tableOID, columnAttributeNumber: f.columnAttributeNumber,
                dataTypeOID: f.dataTypeOID, dataTypeSize: f.dataTypeSize, typeModifier: f.typeModifier, format: f.format))
        }
        output.output.endMessage()
    }

    private func sendRow(_ result: BackendResult) {
        let output = out
        let columns = result.fieldCount
        for row in 0..<result.rowCount {
            output.output.beginDataRow(columnCount: columns)
            for column in 0..<columns {
                result.withValue(row: row, column: column) { output.output.appendDataRowValue($0) }
            }
            output.output.endDataRow()
        }
    }

    private func backpressure(_ connection: BackendConnection) -> BackendConnection.Flow {
        let output = out
        guard output.outputIsFull else {
            output.scheduleFlush()
            return .proceed
        }
        output.flush()
        guard output.outputIsFull, !output.isClosed else { return .proceed }
        pending.append(connection)
        output.onOutputDrained = { [weak self] in
            guard let self else { return }
            let paused = self.pending
            self.pending = []
            for connection in paused { connection.resumeReading() }
        }
        return .pause
    }

    private func shardFinished(_ link: ShardLink, _ failure: BackendError?) {
        if let failure {
            lostConnection = true
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
