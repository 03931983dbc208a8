internal import CLibPQ

extension BackendConnection {
    /// Sends `sql` with the simple query protocol in single-row mode. `onResult` receives every
    /// result in order (one per row, then the end of each row set, command completions, errors);
    /// `completion` runs when the shard is ready for the next query, with an error only if the
    /// connection itself failed.
    public func execute(
        _ sql: String,
        onResult: @escaping (BackendResult) -> Flow,
        completion: @escaping (BackendError?) -> Void
    ) {
        precondition(queryCompletion == nil, "a query is already running on this connection")
        guard let conn, !isBroken else {
            completion(BackendError(.connectionLost, "connection is not open"))
            return
        }
        guard PQsendQuery(conn, sql) == 1 else {
            let lost = PQstatus(conn) == CONNECTION_BAD
            let message = libpqMessage
            isBroken = true
            completion(BackendError(lost ? .connectionLost : .misuse, message))
            return
        }
        PQsetSingleRowMode(conn)
        resultHandler = onResult
        queryCompletion = completion
        paused = false
        watcher?.wantsRead = true
        flush()
    }

    /// Continues delivering results after `onResult` answered `.pause`.
    public func resumeReading() {
        guard paused else { return }
        paused = false
        watcher?.wantsRead = true
        deliverResults()
    }

    func socketWritable() {
        if connectCompletion != nil {
            continueConnecting()
        } else if flushPending {
            flush()
        } else {
            watcher?.wantsWrite = false
        }
    }

    func socketReadable() {
        if connectCompletion != nil {
            continueConnecting()
            return
        }
        guard let conn else { return }
        if PQconsumeInput(conn) == 0 {
            fail(BackendError(.connectionLost, libpqMessage))
            watcher?.wantsRead = false
            return
        }
        // libpq: while a flush is pending, input must be consumed for the server to go on.
        if flushPending { flush() }
        if queryCompletion == nil {
            if PQstatus(conn) == CONNECTION_BAD {
                isBroken = true
                watcher?.wantsRead = false
            }
            return
        }
        deliverResults()
    }

    func flush() {
        guard let conn else { return }
        switch PQflush(conn) {
        case 0:
            flushPending = false
            watcher?.wantsWrite = false
        case 1:
            flushPending = true
            watcher?.wantsWrite = true
        default:
            fail(BackendError(.connectionLost, libpqMessage))
        }
    }

    func deliverResults() {
        while !paused, let conn = self.conn, queryCompletion != nil {
            if PQisBusy(conn) != 0 { return }
            guard let handle = PQgetResult(conn) else {
                let completion = queryCompletion
                queryCompletion = nil
                resultHandler = nil
                if PQstatus(conn) == CONNECTION_BAD {
                    isBroken = true
                    completion?(BackendError(.connectionLost, libpqMessage))
                } else {
                    completion?(nil)
                }
                return
            }
            let result = BackendResult(handle)
            if result.status == .copy {
                // pgshard's router refuses COPY; a shard that starts one anyway cannot be driven.
                fail(BackendError(.misuse, "the shard started a COPY, which pgshard does not carry yet"))
                return
            }
            if resultHandler?(result) == .pause {
                paused = true
                watcher?.wantsRead = false
                return
            }
        }
    }
}
