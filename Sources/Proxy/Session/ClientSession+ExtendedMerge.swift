import Backend
import Merge
import PGWire
import SQLRouter

/// Cross-shard SELECTs that need the merge, in the extended protocol: each shard binds the
/// plan's statement (prepared under its own shared name) as the client's portal, with text
/// results (the merge converts the client's binary columns); a Describe of the portal asks the
/// first shard and answers with the merged columns; an Execute reads every shard at once
/// through the portal's ``RowMerger``.
extension ClientSession {
    func bindMerge(_ bind: Bind, statement: ClientStatement, route: Route, shards: [Int], plan: MergePlan, parameters: BoundParameters) {
        var limitValues: [Int: Int64] = [:]
        for case .parameter(let number)? in [plan.limit.count, plan.limit.offset] {
            guard number >= 1, number <= bind.parameters.count else {
                return failBatch(.error(.protocolViolation, "bind message supplies \(bind.parameters.count) parameters, but the statement needs $\(number)"))
            }
            guard let bytes = bind.parameters[number - 1] else { continue }
            guard let value = Self.integerParameter(bytes, binary: bind.parameterFormat(at: number - 1) == 1) else {
                return failBatch(.error(.invalidTextRepresentation, "invalid input syntax for type bigint: LIMIT/OFFSET parameter $\(number)"))
            }
            guard value >= 0 else {
                let offset = plan.limit.offset == .parameter(number)
                return failBatch(.error(SQLState(rawValue: offset ? "2201X" : "2201W"), "\(offset ? "OFFSET" : "LIMIT") must not be negative"))
            }
            limitValues[number] = value
        }
        let targets = shards.map { links[$0] }
        let portal = ClientPortal(name: bind.portal, statement: statement, route: route, links: targets, mode: .concatenate)
        let dateStyle = reportedParameters["DateStyle"] ?? "ISO"
        let intervalStyle = reportedParameters["IntervalStyle"] ?? "postgres"
        let textOrder = context.collations.textOrder(shards)
        portal.merger = RowMerger(plan: plan, streams: targets.count, maxMemory: context.config.merge.maxMemory,
                                  textIsBytes: textOrder == .bytes, collationKnown: textOrder != .unknown, dateStyleISO: dateStyle.hasPrefix("ISO"),
                                  intervalStylePostgres: intervalStyle == "postgres", limitValues: limitValues,
                                  resultFormats: bind.resultFormats)
        ext.portals[bind.portal] = portal
        let merged = ClientStatement(
            sql: plan.sql, parameterTypes: statement.parameterTypes, routed: nil, parameterized: nil,
            backendName: context.statementNames.name(sql: plan.sql, types: statement.parameterTypes),
            routingContext: statement.routingContext)
        var shardBind = bind
        shardBind.resultFormats = []
        withLinks(targets) { [self] in
            for (n, link) in targets.enumerated() {
                guard let backend = link.connection else { continue }
                ensurePrepared(merged, on: link)
                backend.send { $0.bind(shardBind, portal: bind.portal, statement: merged.backendName) }
                owe(.shard(link, .bind(silent: n > 0)))
            }
        }
    }

    /// A bigint (or smaller integer) parameter in text or binary format.
    static func integerParameter(_ bytes: [UInt8], binary: Bool) -> Int64? {
        guard binary else { return Int64(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)) }
        var value: Int64 = 0
        switch bytes.count {
        case 8: for byte in bytes { value = value << 8 | Int64(byte) }
        case 4: value = Int64(Int32(bitPattern: UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])))
        case 2: value = Int64(Int16(bitPattern: UInt16(bytes[0]) << 8 | UInt16(bytes[1])))
        default: return nil
        }
        return value
    }

    func executeMerge(_ execute: Execute, portal: ClientPortal) {
        guard let merger = portal.merger else { return }
        let maxRows = Int(max(0, execute.maxRows))
        if !portal.mergeDescribed, let first = portal.links.first, let backend = first.connection {
            portal.mergeDescribed = true
            touch(first)
            backend.send { $0.describe(.portal, name: portal.name) }
            owe(.shard(first, .describeMerge(portal, silent: true)))
        }
        // Every shard not at its end gets the same limit; grouping needs every row first.
        let shardRows = merger.plan.aggregation == nil ? Int32(maxRows) : 0
        var outstanding = Set<Int>()
        for (stream, link) in portal.links.enumerated() where !portal.mergeEnded.contains(stream) {
            guard let backend = link.connection else { continue }
            touch(link)
            backend.send {
                $0.execute(portal: portal.name, maxRows: shardRows)
                // A shard holds what it has until Flush or Sync: the client may be waiting for it.
                if maxRows > 0 { $0.flush() }
            }
            outstanding.insert(stream)
        }
        if shardRows == 0 { portal.mergeEnded.formUnion(outstanding) }
        owe(.merge(MergeExecution(portal: portal, merger: merger, maxRows: maxRows, outstanding: outstanding)))
    }

    /// The first shard described a merge portal: the merge learns the shards' columns and the
    /// client gets its own. True when the Describe is answered.
    func describeMergeMessage(_ message: BackendMessage, portal: ClientPortal, silent: Bool) -> Bool {
        guard message.type == BackendMessage.rowDescription, let merger = portal.merger else {
            if !silent { connection.output.forward(message) }
            return true
        }
        do throws(MergeError) {
            _ = try merger.describe(stream: 0, fields: message.rowDescription)
            if !silent, let fields = merger.clientFields { connection.output.rowDescription(fields) }
        } catch {
            mergeFailed(error.fields, failing: [])
        }
        return true
    }

    /// One message of a merge portal's Execute from one of its shards.
    func mergeMessage(_ message: BackendMessage, execution: MergeExecution, link: ShardLink, index: Int) -> BackendConnection.Flow {
        guard let stream = execution.stream(of: link), let backend = link.connection else { return .proceed }
        let merger = execution.merger
        switch message.type {
        case BackendMessage.dataRow:
            guard execution.error == nil, !execution.silent, !merger.isSatisfied else { return .proceed }
            do throws(MergeError) {
                try merger.add(stream: stream, row: message.body)
            } catch {
                execution.error = error.fields
                return .proceed
            }
            pumpMerge(execution)
            // Reading every row: a shard far ahead of the others waits. With a row limit each
            // shard sends at most that many per call, and what waits is bounded by max_memory.
            if execution.maxRows == 0,
               merger.queued(stream) >= ShardMerge.queueLimit || merger.queuedBytes(stream) >= ShardMerge.queueBytes {
                execution.waiting[stream] = backend
                return .pause
            }
            if execution.maxRows > 0, merger.queuedBytes > context.config.merge.maxMemory, execution.error == nil {
                execution.error = MergeError.outOfMemory(limit: context.config.merge.maxMemory).fields
            }
            return connection.throttle(backend)
        case BackendMessage.portalSuspended:
            execution.outstanding.remove(stream)
        case BackendMessage.commandComplete, BackendMessage.emptyQueryResponse:
            execution.outstanding.remove(stream)
            execution.portal.mergeEnded.insert(stream)
            if execution.error == nil, !execution.silent {
                do throws(MergeError) {
                    try merger.finish(stream: stream)
                } catch {
                    execution.error = error.fields
                }
                pumpMerge(execution)
            }
        case BackendMessage.errorResponse:
            execution.outstanding.remove(stream)
            execution.portal.mergeEnded.insert(stream)
            if execution.error == nil { execution.error = clientError(from: Diagnostics(message), positionOffset: nil) }
            execution.failedLinks.append(link)
        default:
            return .proceed
        }
        if execution.isFinished { finishMerge(execution, index: index) }
        return .proceed
    }

    /// Sends the rows the merge can release, up to the call's row limit.
    private func pumpMerge(_ execution: MergeExecution) {
        do throws(MergeError) {
            while execution.allowance.map({ $0 > 0 }) ?? true, let body = try execution.merger.nextRow() {
                execution.rowsInCall += 1
                if execution.silent || execution.error != nil { continue }
                body.withUnsafeBytes { connection.output.forward(BackendMessage(type: BackendMessage.dataRow, body: $0)) }
            }
        } catch {
            execution.error = error.fields
        }
        connection.scheduleFlush()
        resumeMergeStreams(execution, all: execution.merger.isSatisfied || execution.error != nil)
    }

    private func resumeMergeStreams(_ execution: MergeExecution, all: Bool) {
        for (stream, backend) in execution.waiting
        where all || (execution.merger.queued(stream) < ShardMerge.queueLimit / 2 && execution.merger.queuedBytes(stream) < ShardMerge.queueBytes / 2) {
            execution.waiting[stream] = nil
            connection.soon { backend.resumeReading() }
        }
    }

    /// Every shard answered this Execute: the client gets the rest of its rows and the end of
    /// the call (PortalSuspended when the row limit was reached).
    func finishMerge(_ execution: MergeExecution, index: Int) {
        pumpMerge(execution)
        resumeMergeStreams(execution, all: true)
        ext.owed[index] = .done
        if let error = execution.error, !execution.silent {
            mergeFailed(error, failing: execution.failedLinks)
        } else if !execution.silent {
            if let allowance = execution.allowance, allowance == 0, !execution.merger.isSatisfied {
                connection.output.portalSuspended()
            } else {
                connection.output.commandComplete("SELECT \(execution.rowsInCall)")
            }
        }
        advance()
    }

    /// The merge failed (a shard's error, or one of its own): the client gets the error, the
    /// failing shards skip the rest of the batch, the others' answers are read but not sent.
    private func mergeFailed(_ error: ErrorFields, failing: [ShardLink]) {
        if !ext.failed { connection.output.errorResponse(error) }
        for link in failing {
            ext.failedLinks.insert(link.index)
            silenceAfterError(failing: link)
        }
        if failing.isEmpty { silenceAfterError(failing: nil) }
        transaction?.failed = true
        if !ext.syncing { ext.skipping = true }
        ext.failed = true
    }
}
