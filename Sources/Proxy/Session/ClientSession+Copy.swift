import Backend
import PGWire
import SQLRouter

/// Where a `COPY … FROM STDIN` outside a transaction block commits.
enum CopyCommit {
    /// When the COPY ends (a simple Query): its shards run it in one implicit transaction,
    /// committed together (in two phases when several wrote).
    case atEnd
    /// With the rest of an extended-protocol batch at its Sync: every shard runs the COPY in a
    /// transaction block that the batch commits or rolls back (``ExtendedState/openedBlocks``).
    case withBatch
}

extension ClientSession {
    /// `COPY t FROM STDIN`: every target shard joins the client's transaction (outside one, a
    /// transaction over all of them, so the COPY is all or nothing), a sharded table's columns
    /// are read from the first shard, then ``ShardCopyIn`` streams the data. The tag or the error
    /// goes to the client; `completion(false)` after an error.
    func runCopyIn(_ plan: CopyInPlan, sql: String, commit: CopyCommit, completion: @escaping (Bool) -> Void) {
        let targets = plan.shards.map { links[$0] }
        let begin = transaction == nil && (commit == .withBatch || targets.count > 1)
        let endsHere = begin && commit == .atEnd
        if case .sharded = plan.target, let refusal = copyEncodingRefusal(plan) {
            fail(refusal)
            return completion(false)
        }
        prepare(targets, begin: begin) { [self] error in
            // Unless the COPY ends its own transaction, the shards stay as they are: the client's
            // transaction fails, or the batch's Sync rolls them back.
            let abandon = { [self] (error: ErrorFields) in
                fail(error)
                if endsHere { finishImplicit(targets, commit: false) { _ in completion(false) } } else { completion(false) }
            }
            if let error { return abandon(error) }
            makeSplitter(plan, reader: targets[0]) { [self] splitter, error in
                if let error { return abandon(error) }
                let copy = ShardCopyIn(session: self, plan: plan, links: targets, splitter: splitter)
                copyIn = copy
                copy.run(sql) { [self] outcome in
                    copyIn = nil
                    switch outcome {
                    case .failed(let error):
                        abandon(error)
                    case .copied(let tag):
                        guard endsHere else {
                            connection.output.commandComplete(tag)
                            return completion(true)
                        }
                        finishImplicit(targets, commit: true) { [self] committed in
                            if committed { connection.output.commandComplete(tag) }
                            completion(committed)
                        }
                    }
                }
            }
        }
    }

    /// A message that arrived while the client sends COPY data.
    func copyReceived(_ message: FrontendMessage, by copy: ShardCopyIn) {
        switch message {
        case .copyData(let bytes): copy.dataReceived(bytes)
        case .copyDone: copy.doneReceived()
        case .copyFail(let reason): copy.failReceived(reason)
        // Why: PostgreSQL ignores Flush and Sync during COPY. libpq and other drivers may send them
        // without noticing the command was COPY; in the extended protocol the client's Sync after
        // Execute arrives before its data (postgres-nio, libpq's PQexecParams).
        case .flush, .sync: break
        case .terminate: connection.close()
        default: copy.unexpectedReceived(message.typeByte)
        }
    }

    /// Rows of a sharded table can only be split when their bytes are UTF-8 (or ASCII): key
    /// text is hashed as the server stores it, and in other encodings a delimiter byte may sit
    /// inside a character.
    private func copyEncodingRefusal(_ plan: CopyInPlan) -> ErrorFields? {
        let encoding = (plan.options.encoding ?? reportedParameters["client_encoding"] ?? "UTF8")
            .uppercased().filter { $0 != "-" && $0 != "_" }
        guard !["UTF8", "UNICODE", "SQLASCII"].contains(encoding) else { return nil }
        return .error(.featureNotSupported, "COPY FROM STDIN into a sharded table through pgshard needs the UTF8 client encoding",
                      hint: "SET client_encoding TO 'UTF8' (psql: \\encoding UTF8), or add ENCODING 'UTF8' to the COPY options if the data is UTF-8")
    }

    /// The splitter of a sharded table's COPY, from its columns as the first shard's catalog
    /// has them; nil for reference and pinned tables, whose data is forwarded as it is.
    private func makeSplitter(_ plan: CopyInPlan, reader: ShardLink,
                              completion: @escaping (CopyRowSplitter?, ErrorFields?) -> Void) {
        guard case .sharded(let key, let shards) = plan.target else { return completion(nil, nil) }
        let sql = """
            SELECT a.attname, a.attnotnull FROM pg_catalog.pg_attribute a \
            WHERE a.attrelid = \(quoteLiteral(plan.qualifiedName))::pg_catalog.regclass \
            AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum
            """
        queryRows(sql, on: reader) { [self] rows, error in
            if let error { return completion(nil, error) }
            let columns = rows.map { CopyTableColumn(name: $0[0] ?? "", notNull: $0[1] == "t") }
            do throws(CopyDataError) {
                let layout = try CopyLayout(plan: plan, key: key, tableColumns: columns)
                let validates = reader.connection?.parameterStatus("server_encoding")?.uppercased() != "SQL_ASCII"
                completion(CopyRowSplitter(layout: layout, shardCount: links.count, shards: shards, validatesUTF8: validates), nil)
            } catch {
                completion(nil, ShardCopyIn.clientError(error))
            }
        }
    }

    /// Runs a catalog query on one link and returns its rows as text values.
    private func queryRows(_ sql: String, on link: ShardLink, completion: @escaping ([[String?]], ErrorFields?) -> Void) {
        guard let backend = link.connection else {
            return completion([], shardFailure(BackendError(.connectionLost, "connection is not open"), link: link))
        }
        var rows: [[String?]] = []
        var error: ErrorFields?
        backend.execute(sql, onMessage: { [self] message in
            switch message.type {
            case BackendMessage.dataRow: rows.append(Self.textValues(message))
            case BackendMessage.errorResponse: if error == nil { error = clientError(from: Diagnostics(message), positionOffset: nil) }
            default: break
            }
            return .proceed
        }, completion: { [self] failure in
            if let failure {
                link.close()
                return completion([], error ?? shardFailure(failure, link: link))
            }
            completion(rows, error)
        })
    }

    /// The values of a DataRow in text format (nil for NULL).
    private static func textValues(_ message: BackendMessage) -> [String?] {
        let body = message.body
        var values: [String?] = []
        var offset = 2
        for _ in 0..<message.columnCount {
            guard offset + 4 <= body.count else { break }
            let length = Int(Int32(bitPattern: UInt32(body[offset]) << 24 | UInt32(body[offset + 1]) << 16
                | UInt32(body[offset + 2]) << 8 | UInt32(body[offset + 3])))
            offset += 4
            guard length >= 0, offset + length <= body.count else {
                values.append(nil)
                continue
            }
            values.append(String(decoding: UnsafeRawBufferPointer(rebasing: body[offset..<(offset + length)]), as: UTF8.self))
            offset += length
        }
        return values
    }
}
