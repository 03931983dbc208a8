import Backend
import PGWire

/// A Query message that runs whole on one shard (``ClientSession/runWholeMessage(on:sql:kind:)``).
struct WholeMessageRun {
    let link: ShardLink
    let kind: ProxyMetrics.RouteKind
    let started: UInt64
    /// The shard answered an error (or was lost): the client's transaction fails.
    var failed = false
}

extension ClientSession: BackendReceiver {
    /// Sends a Query message that one shard owns entirely, as the client wrote it, and forwards
    /// the shard's answer. When the link is ready at once (a connection attached or idle in the
    /// pool, nothing to replay) the answer comes back through ``BackendReceiver`` with no
    /// closure or fan-out object made — the path of nearly every statement of an OLTP client;
    /// otherwise through ``runOnShards(_:sql:perShard:mode:positionOffset:atomic:twoPhase:copyHeader:completion:)``.
    func runWholeMessage(on shard: Int, sql: String, kind: ProxyMetrics.RouteKind) {
        let link = links[shard]
        let started = monotonicNanoseconds()
        if prepareAtOnce(soleLinks[shard]), let backend = link.connection {
            wholeMessageRun = WholeMessageRun(link: link, kind: kind, started: started)
            backend.execute(sql, forwardingTo: self)
            return
        }
        runOnShards([shard], sql: sql, mode: .single, positionOffset: 0) { [self] _ in
            recordDuration(kind, shard: shard, since: started)
            finishQuery()
        }
    }

    /// A statement's latency, and its shard's when it ran on one.
    func recordDuration(_ kind: ProxyMetrics.RouteKind, shard: Int?, since started: UInt64) {
        let elapsed = monotonicNanoseconds() &- started
        let metrics = context.metrics
        metrics.duration(kind, nanoseconds: elapsed)
        if let shard { metrics.shardDuration(shard, nanoseconds: elapsed) }
    }

    func backendForward(_ messages: UnsafeRawBufferPointer, from backend: BackendConnection) -> (taken: Int, flow: BackendConnection.Flow) {
        connection.output.forward(messages: messages)
        return (messages.count, connection.throttle(backend))
    }

    func backendTakesRuns(from backend: BackendConnection) -> Bool { true }

    func backendMessage(_ message: BackendMessage, from backend: BackendConnection) -> BackendConnection.Flow {
        if singleShardMessage(message, from: backend, positionOffset: 0) { wholeMessageRun?.failed = true }
        return connection.throttle(backend)
    }

    func backendFinished(_ backend: BackendConnection, failure: BackendError?) {
        guard var run = wholeMessageRun else { return }
        wholeMessageRun = nil
        if let failure {
            if !run.failed { connection.output.errorResponse(shardFailure(failure, link: run.link)) }
            run.failed = true
            run.link.close()
        }
        if run.failed { transaction?.failed = true }
        reportParameterChanges(soleLinks[run.link.index])
        recordDuration(run.kind, shard: run.link.index, since: run.started)
        finishQuery()
    }

    /// Forwards a message of one shard's answer that is not passed through as bytes: an error
    /// (true: the statement failed), a notice, COPY TO STDOUT. A COPY FROM STDIN that was not
    /// routed as one gets no data.
    func singleShardMessage(_ message: BackendMessage, from backend: BackendConnection, positionOffset: Int?) -> Bool {
        switch message.type {
        case BackendMessage.errorResponse:
            connection.output.errorResponse(clientError(from: Diagnostics(message), positionOffset: positionOffset))
            return true
        case BackendMessage.noticeResponse:
            forwardNotice(Diagnostics(message))
        case BackendMessage.copyInResponse:
            backend.send { $0.copyFail("pgshard sends no COPY data for this statement") }
        case BackendMessage.copyOutResponse, BackendMessage.copyData, BackendMessage.copyDone,
             BackendMessage.dataRow, BackendMessage.rowDescription, BackendMessage.commandComplete, BackendMessage.emptyQueryResponse:
            connection.output.forward(message)
        default:
            break
        }
        return false
    }
}
