import Sharding

/// A row of COPY FROM data that pgshard cannot place or that PostgreSQL would reject: the whole
/// COPY fails with it. `context` names the client's line as PostgreSQL does
/// (`COPY users, line 3, column id: "x"`).
public struct CopyDataError: Error, Sendable, Equatable, CustomStringConvertible {
    public var sqlState: String
    public var message: String
    public var hint: String?
    /// PostgreSQL's CONTEXT line for COPY; empty when no row is involved.
    public var context: String

    init(_ sqlState: String, _ message: String, hint: String? = nil, context: String = "") {
        self.sqlState = sqlState
        self.message = message
        self.hint = hint
        self.context = context
    }

    public var description: String {
        "\(sqlState): \(message)" + (hint.map { " (hint: \($0))" } ?? "") + (context.isEmpty ? "" : " [\(context)]")
    }
}

// The messages and SQLSTATEs are PostgreSQL 15's own (copyfromparse.c, wchar.c), so a client
// sees through pgshard what it would see from PostgreSQL.
extension CopyDataError {
    static let badCopyFileFormat = "22P04"

    static func extraData() -> CopyDataError {
        CopyDataError(badCopyFileFormat, "extra data after last expected column")
    }

    static func missingData(column: String) -> CopyDataError {
        CopyDataError(badCopyFileFormat, "missing data for column \"\(column)\"")
    }

    /// Bytes that are not UTF-8 (or a NUL byte), shown as PostgreSQL shows them: the bytes of
    /// the sequence that starts there, in hex.
    static func invalidEncoding(_ bytes: some Collection<UInt8>) -> CopyDataError {
        let shown = bytes.map { byte in "0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined(separator: " ")
        return CopyDataError("22021", "invalid byte sequence for encoding \"UTF8\": \(shown)")
    }

    static func literalCarriageReturn(csv: Bool) -> CopyDataError {
        CopyDataError(badCopyFileFormat, csv ? "unquoted carriage return found in data" : "literal carriage return found in data",
                      hint: csv ? "Use quoted CSV field to represent carriage return." : "Use \"\\r\" to represent carriage return.")
    }

    static func literalNewline(csv: Bool) -> CopyDataError {
        CopyDataError(badCopyFileFormat, csv ? "unquoted newline found in data" : "literal newline found in data",
                      hint: csv ? "Use quoted CSV field to represent newline." : "Use \"\\n\" to represent newline.")
    }

    static func endMarkerCorrupt() -> CopyDataError {
        CopyDataError(badCopyFileFormat, "end-of-copy marker corrupt")
    }

    static func unterminatedQuote() -> CopyDataError {
        CopyDataError(badCopyFileFormat, "unterminated CSV quoted field")
    }

    static func nullKey(column: String, table: String) -> CopyDataError {
        CopyDataError("23502", "null value in column \"\(column)\" of relation \"\(table)\" violates not-null constraint")
    }

    /// A key value the key type's input function rejects (PostgreSQL would fail the row too).
    static func invalidKey(_ text: String, type: ShardKeyType) -> CopyDataError {
        CopyDataError("22P02", "invalid input syntax for type \(type.rawValue): \"\(text)\"")
    }

    /// A key value pgshard's reader for the type does not understand, though PostgreSQL might.
    static func unreadableKey(_ text: String, type: ShardKeyType) -> CopyDataError {
        CopyDataError("0A000", "pgshard cannot read the shard key value \"\(text)\" of type \(type.rawValue)",
                      hint: "write key values in PostgreSQL's standard output form (ISO 8601 dates and timestamps, plain decimals)")
    }

    /// A binary key field whose size or bytes do not fit its type.
    static func incorrectBinaryFormat() -> CopyDataError {
        CopyDataError("22P03", "incorrect binary data format")
    }

    static func binarySignature() -> CopyDataError {
        CopyDataError(badCopyFileFormat, "COPY file signature not recognized")
    }

    static func binaryHeader(_ what: String) -> CopyDataError {
        CopyDataError(badCopyFileFormat, "invalid COPY file header (\(what))")
    }

    static func binaryFieldCount(_ count: Int, expected: Int) -> CopyDataError {
        CopyDataError(badCopyFileFormat, "row field count is \(count), expected \(expected)")
    }

    static func binaryFieldSize() -> CopyDataError {
        CopyDataError(badCopyFileFormat, "invalid field size")
    }

    static func unexpectedEnd() -> CopyDataError {
        CopyDataError(badCopyFileFormat, "unexpected EOF in COPY data")
    }

    static func dataAfterEndMarker() -> CopyDataError {
        CopyDataError(badCopyFileFormat, "received copy data after EOF marker")
    }

    /// A key column the table does not have (the configuration names a column that is not there).
    static func unknownKeyColumn(_ column: String, table: String) -> CopyDataError {
        CopyDataError("42703", "column \"\(column)\" of relation \"\(table)\" does not exist",
                      hint: "the pgshard configuration names \(column) as the shard key of \(table)")
    }

    /// A placement failure (no rule for the value, directory unavailable), as the router reports it.
    static func placement(_ error: RoutingError) -> CopyDataError {
        CopyDataError(error.sqlState, error.message, hint: error.hint)
    }
}
