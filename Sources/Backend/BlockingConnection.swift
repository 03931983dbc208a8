import Foundation
internal import CLibPQ

/// A plain blocking libpq connection for the few places that may block: `pgshard check`,
/// the demo's setup and tests. Never used on a session's queue.
public final class BlockingConnection {
    private let conn: OpaquePointer

    /// Connects with `conninfo`, waiting at most `timeout` seconds.
    public init(conninfo: String, timeout: Int = 5) throws(BackendError) {
        let keywords = ["dbname", "connect_timeout"]
        let values = [conninfo, String(max(timeout, 2))]
        let handle = withCStringArray(keywords) { k in withCStringArray(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let handle else { throw BackendError(.connectFailed, "out of memory") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(handle)
            throw BackendError(.connectFailed, message)
        }
        conn = handle
    }

    deinit { PQfinish(conn) }

    /// The value of a run-time parameter the server reported at connection time.
    public func parameterStatus(_ name: String) -> String? {
        guard let value = PQparameterStatus(conn, name) else { return nil }
        return String(cString: value)
    }

    /// The transaction status letter ReadyForQuery last reported: I, T or E.
    public var transactionStatus: String {
        switch PQtransactionStatus(conn) {
        case PQTRANS_IDLE: "I"
        case PQTRANS_INTRANS: "T"
        case PQTRANS_INERROR: "E"
        case PQTRANS_ACTIVE: "A"
        default: "?"
        }
    }

    /// Runs `sql` and returns the command tag of its last result (`UPDATE 4`).
    @discardableResult
    public func command(_ sql: String) throws(BlockingQueryError) -> String {
        try run(sql) { result in String(cString: PQcmdStatus(result)) }
    }

    /// Runs `sql` (simple protocol) and returns the rows of its last result as text,
    /// or throws the server's error.
    @discardableResult
    public func query(_ sql: String) throws(BlockingQueryError) -> [[String?]] {
        try run(sql) { result in
            var rows: [[String?]] = []
            for row in 0..<PQntuples(result) {
                rows.append((0..<PQnfields(result)).map { column in
                    PQgetisnull(result, row, column) != 0 ? nil : String(cString: PQgetvalue(result, row, column))
                })
            }
            return rows
        }
    }

    /// Runs `sql` with the extended protocol (Parse, Bind, Describe, Execute, Sync) and
    /// parameters as text (`nil` is NULL), or as bytes in binary format when `binary` is set;
    /// `types` are the declared parameter type OIDs (0 = inferred). Rows come back as text.
    @discardableResult
    public func query(_ sql: String, parameters: [[UInt8]?], types: [UInt32] = [], binary: Bool = false) throws(BlockingQueryError) -> [[String?]] {
        try run(sql, parameters: parameters, types: types, binary: binary, statement: nil, Self.rows)
    }

    /// Prepares a named statement with the extended protocol.
    public func prepare(_ name: String, _ sql: String) throws(BlockingQueryError) {
        try run(sql, parameters: [], types: [], binary: false, statement: (name, true)) { _ in }
    }

    /// Runs a statement `prepare` made, with text parameters; returns its rows as text.
    @discardableResult
    public func executePrepared(_ name: String, _ parameters: [String?]) throws(BlockingQueryError) -> [[String?]] {
        try run("", parameters: parameters.map { $0.map { Array($0.utf8) } }, types: [], binary: false, statement: (name, false), Self.rows)
    }

    /// Runs `COPY … FROM STDIN` with `data` as the client's data (sent in 8 KB CopyData
    /// messages, as psql does); returns the command tag or throws the server's error.
    @discardableResult
    public func copyIn(_ sql: String, data: [UInt8]) throws(BlockingQueryError) -> String {
        guard let started = PQexec(conn, sql) else {
            throw BlockingQueryError(sqlState: "08006", message: String(cString: PQerrorMessage(conn)))
        }
        guard PQresultStatus(started) == PGRES_COPY_IN else {
            return try finish(started) { _ in "" }
        }
        PQclear(started)
        var offset = 0
        while offset < data.count {
            let end = min(offset + 8192, data.count)
            let sent = data[offset..<end].withUnsafeBufferPointer { chunk in
                chunk.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
            }
            if sent != 1 { break }
            offset = end
        }
        PQputCopyEnd(conn, nil)
        var tag = ""
        var failure: BlockingQueryError?
        while let result = PQgetResult(conn) {
            do throws(BlockingQueryError) {
                tag = try finish(result) { String(cString: PQcmdStatus($0)) }
            } catch {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
        return tag
    }

    private static func rows(_ result: OpaquePointer) -> [[String?]] {
        var rows: [[String?]] = []
        for row in 0..<PQntuples(result) {
            rows.append((0..<PQnfields(result)).map { column in
                PQgetisnull(result, row, column) != 0 ? nil : String(cString: PQgetvalue(result, row, column))
            })
        }
        return rows
    }

    private func run<R>(
        _ sql: String, parameters: [[UInt8]?], types: [UInt32], binary: Bool, statement: (name: String, prepare: Bool)?,
        _ read: (OpaquePointer) -> R
    ) throws(BlockingQueryError) -> R {
        let count = Int32(parameters.count)
        let lengths = parameters.map { Int32($0?.count ?? 0) }
        let formats = parameters.map { _ in Int32(binary ? 1 : 0) }
        let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { value in
            guard let value else { return nil }
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: value.count + 1)
            for (i, byte) in value.enumerated() { copy[i] = CChar(bitPattern: byte) }
            copy[value.count] = 0
            return copy
        }
        defer { copies.forEach { $0?.deallocate() } }
        let values = copies.map { UnsafePointer($0) }
        let oids = types.isEmpty ? nil : types.map { Oid($0) }
        let result: OpaquePointer?
        if let statement, statement.prepare {
            result = PQprepare(conn, statement.name, sql, 0, nil)
        } else if let statement {
            result = PQexecPrepared(conn, statement.name, count, values, lengths, formats, 0)
        } else {
            result = PQexecParams(conn, sql, count, oids, values, lengths, formats, 0)
        }
        return try finish(result, read)
    }

    private func run<R>(_ sql: String, _ read: (OpaquePointer) -> R) throws(BlockingQueryError) -> R {
        try finish(PQexec(conn, sql), read)
    }

    private func finish<R>(_ result: OpaquePointer?, _ read: (OpaquePointer) -> R) throws(BlockingQueryError) -> R {
        guard let result else {
            throw BlockingQueryError(sqlState: "08006", message: String(cString: PQerrorMessage(conn)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return read(result)
        default:
            let diagnostics = Diagnostics(result: result)
            throw BlockingQueryError(
                sqlState: diagnostics["C"] ?? "08006",
                message: diagnostics["M"] ?? String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines),
                hint: diagnostics["H"],
                diagnostics: diagnostics
            )
        }
    }
}

/// A statement that failed on a `BlockingConnection`.
public struct BlockingQueryError: Error, Sendable, CustomStringConvertible {
    public var sqlState: String
    public var message: String
    public var hint: String?
    public var diagnostics: Diagnostics = Diagnostics(fields: [])
    /// The CONTEXT field, if the server sent one.
    public var context: String? { diagnostics["W"] }
    public var description: String { "\(sqlState): \(message)" + (hint.map { " (hint: \($0))" } ?? "") }
}
