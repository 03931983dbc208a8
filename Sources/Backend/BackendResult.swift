internal import CLibPQ
import Foundation

/// One result libpq produced for a running query: a single row (single-row mode), the end of a
/// row set, a command's completion, an empty query or an error. Owns its `PGresult` and frees it.
///
/// Not thread-safe; used on the queue of the connection that produced it.
public final class BackendResult {
    /// What kind of result this is.
    public enum Status: Sendable, Equatable {
        /// One row of a row set (single-row mode); field descriptions are present.
        case singleRow
        /// The end of a row set: zero rows here (single-row mode delivered them); `commandTag` is set.
        case rowsComplete
        /// A command without rows completed; `commandTag` is set.
        case commandComplete
        /// The statement was empty.
        case emptyQuery
        /// The statement failed; `diagnostics` has the server's fields.
        case error
        /// COPY started; pgshard does not carry COPY yet.
        case copy
        /// Anything libpq reports that pgshard does not expect.
        case other
    }

    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQclear(handle) }

    public var status: Status {
        switch PQresultStatus(handle) {
        case PGRES_SINGLE_TUPLE: .singleRow
        case PGRES_TUPLES_OK: .rowsComplete
        case PGRES_COMMAND_OK: .commandComplete
        case PGRES_EMPTY_QUERY: .emptyQuery
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE: .error
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH: .copy
        default: .other
        }
    }

    /// The command tag (`SELECT 3`, `INSERT 0 1`, `CREATE TABLE`).
    public var commandTag: String { String(cString: PQcmdStatus(handle)) }

    /// The server's error fields; libpq's own message as `M` with SQLSTATE 08006 when the
    /// error did not come from the server (lost connection).
    public var diagnostics: Diagnostics {
        var diagnostics = Diagnostics(result: handle)
        if diagnostics["C"] == nil {
            let message = String(cString: PQresultErrorMessage(handle))
                .trimmingCharacters(in: .whitespacesAndNewlines)
            diagnostics = Diagnostics(fields: [
                .init(code: UInt8(ascii: "S"), value: "ERROR"),
                .init(code: UInt8(ascii: "V"), value: "ERROR"),
                .init(code: UInt8(ascii: "C"), value: "08006"),
                .init(code: UInt8(ascii: "M"), value: message.isEmpty ? "connection to the shard was lost" : message),
            ])
        }
        return diagnostics
    }

    public var fieldCount: Int { Int(PQnfields(handle)) }
    public var rowCount: Int { Int(PQntuples(handle)) }

    /// Column `index`'s description, as RowDescription carries it.
    public func field(_ index: Int) -> BackendField {
        let column = Int32(index)
        return BackendField(
            name: String(cString: PQfname(handle, column)),
            tableOID: UInt32(PQftable(handle, column)),
            columnAttributeNumber: Int16(truncatingIfNeeded: PQftablecol(handle, column)),
            dataTypeOID: UInt32(PQftype(handle, column)),
            dataTypeSize: Int16(truncatingIfNeeded: PQfsize(handle, column)),
            typeModifier: PQfmod(handle, column),
            format: Int16(truncatingIfNeeded: PQfformat(handle, column))
        )
    }

    /// Calls `body` with the bytes of the value at (`row`, `column`), `nil` for SQL NULL. The
    /// pointer is valid only inside `body`: no copy is made.
    @inline(__always)
    public func withValue<R>(row: Int, column: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let r = Int32(row)
        let c = Int32(column)
        if PQgetisnull(handle, r, c) != 0 { return try body(nil) }
        let length = Int(PQgetlength(handle, r, c))
        let pointer = PQgetvalue(handle, r, c)
        return try body(UnsafeRawBufferPointer(start: pointer, count: length))
    }
}

/// A column of a backend's row set, in RowDescription terms.
public struct BackendField: Sendable, Equatable {
    public var name: String
    public var tableOID: UInt32
    public var columnAttributeNumber: Int16
    public var dataTypeOID: UInt32
    public var dataTypeSize: Int16
    public var typeModifier: Int32
    public var format: Int16
}
