import Foundation
internal import CLibPQ

/// A libpq connection that shows what a differential comparison needs and `BlockingConnection`
/// does not: the column names and type OIDs of a result, and an error as a value.
final class ResultConnection {
    private let conn: OpaquePointer

    init(_ conninfo: String) throws {
        guard let handle = PQconnectdb(conninfo + " connect_timeout=10") else { throw ResultConnectionError(message: "out of memory") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(handle)
            throw ResultConnectionError(message: message)
        }
        conn = handle
    }

    deinit { PQfinish(conn) }

    /// Why the connection cannot take the next statement normally, or nil: it must be open and
    /// idle (outside a transaction: an error does not stick).
    var problem: String? {
        guard PQstatus(conn) == CONNECTION_OK else {
            return "connection broken: " + String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        switch PQtransactionStatus(conn) {
        case PQTRANS_IDLE: return nil
        case PQTRANS_INTRANS: return "left in a transaction block"
        case PQTRANS_INERROR: return "left in a failed transaction block"
        default: return "connection not idle"
        }
    }

    /// Runs one statement with the simple protocol, or with the extended one (Parse, Bind,
    /// Describe, Execute, Sync; no parameters) when `extended`.
    ///
    /// `binary`: the extended protocol with every result column in binary format; values come
    /// back as hex (`\x…`), floats as their decimal value (so that they compare with a
    /// tolerance).
    func run(_ sql: String, extended: Bool = false, binary: Bool = false) -> Answer {
        let sent = extended || binary ? PQexecParams(conn, sql, 0, nil, nil, nil, nil, binary ? 1 : 0) : PQexec(conn, sql)
        guard let result = sent else {
            return .error(sqlState: "08006", message: String(cString: PQerrorMessage(conn)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            let fields = 0..<PQnfields(result)
            var rows: [[String?]] = []
            rows.reserveCapacity(Int(PQntuples(result)))
            for row in 0..<PQntuples(result) {
                rows.append(fields.map { column in
                    guard PQgetisnull(result, row, column) == 0 else { return nil }
                    guard binary else { return String(cString: PQgetvalue(result, row, column)) }
                    let length = Int(PQgetlength(result, row, column))
                    let bytes = PQgetvalue(result, row, column).withMemoryRebound(to: UInt8.self, capacity: length) {
                        Array(UnsafeBufferPointer(start: $0, count: length))
                    }
                    return Self.binaryText(bytes, type: UInt32(PQftype(result, column)))
                })
            }
            return .rows(ResultSet(
                columns: fields.map { String(cString: PQfname(result, $0)) },
                types: fields.map { UInt32(PQftype(result, $0)) },
                rows: rows))
        default:
            let field = { (code: Character) in PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) } }
            return .error(sqlState: field("C") ?? "08006",
                          message: field("M") ?? String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static func binaryText(_ bytes: [UInt8], type: UInt32) -> String {
        let bits = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        switch (type, bytes.count) {
        case (701, 8): return String(Double(bitPattern: bits))
        case (700, 4): return String(Double(Float(bitPattern: UInt32(bits))))
        default: return "\\x" + bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        }
    }

    /// What one statement answered.
    enum Answer {
        /// A result: rows as text (nil is NULL).
        case rows(ResultSet)
        /// An ErrorResponse (or a lost connection, 08006).
        case error(sqlState: String, message: String)
    }

    /// The columns and rows of a result.
    struct ResultSet {
        var columns: [String]
        var types: [UInt32]
        var rows: [[String?]]
    }
}

struct ResultConnectionError: Error, CustomStringConvertible {
    var message: String
    var description: String { "connection failed: \(message)" }
}
