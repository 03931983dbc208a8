/// The body of an ErrorResponse or NoticeResponse: fields identified by a one-byte code,
/// in the order they are sent.
public struct ErrorFields: Equatable, Sendable {
    /// The fields in wire order. A code of 0 cannot be sent (it ends the list) and is skipped.
    public var fields: [(code: UInt8, value: String)]

    /// Creates a body from fields in wire order.
    public init(fields: [(code: UInt8, value: String)]) {
        self.fields = fields
    }

    /// The fields of an error or notice raised by pgshard, in PostgreSQL's order: severity
    /// (localized `S` and non-localized `V`), SQLSTATE, message, then detail, hint and
    /// position when given.
    ///
    /// - Parameters:
    ///   - position: 1-based character (not byte) position in the query text.
    ///   - severity: `ERROR`, `FATAL`, `PANIC`, `WARNING`, `NOTICE`, `DEBUG`, `INFO` or `LOG`.
    public static func error(
        _ sqlState: SQLState,
        _ message: String,
        detail: String? = nil,
        hint: String? = nil,
        position: Int? = nil,
        severity: String = "ERROR"
    ) -> ErrorFields {
        var fields: [(code: UInt8, value: String)] = [
            (Code.severity, severity),
            (Code.severityNonLocalized, severity),
            (Code.sqlState, sqlState.rawValue),
            (Code.message, message),
        ]
        if let detail { fields.append((Code.detail, detail)) }
        if let hint { fields.append((Code.hint, hint)) }
        if let position { fields.append((Code.position, String(position))) }
        return ErrorFields(fields: fields)
    }

    /// The value of the first field with this code.
    public subscript(code: UInt8) -> String? {
        self.fields.first(where: { $0.code == code })?.value
    }

    /// The localized severity (`S`).
    public var severity: String? { self[Code.severity] }
    /// The SQLSTATE (`C`).
    public var sqlState: SQLState? { self[Code.sqlState].map(SQLState.init(rawValue:)) }
    /// The primary message (`M`).
    public var message: String? { self[Code.message] }
    /// The detail (`D`).
    public var detail: String? { self[Code.detail] }
    /// The hint (`H`).
    public var hint: String? { self[Code.hint] }
    /// The cursor position in the query text (`P`), 1-based, in characters.
    public var position: Int? { self[Code.position].flatMap { Int($0) } }

    /// The same error with `detail` and `hint` added after any the error has (each on a line of its own).
    public func adding(detail: String? = nil, hint: String? = nil) -> ErrorFields {
        var copy = self
        for (code, value) in [(Code.detail, detail), (Code.hint, hint)] {
            guard let value else { continue }
            if let index = copy.fields.firstIndex(where: { $0.code == code }) {
                copy.fields[index].value += "\n" + value
            } else {
                copy.fields.append((code, value))
            }
        }
        return copy
    }

    public static func == (lhs: ErrorFields, rhs: ErrorFields) -> Bool {
        lhs.fields.elementsEqual(rhs.fields, by: { $0.code == $1.code && $0.value == $1.value })
    }
}

extension ErrorFields {
    /// The field codes PostgreSQL defines (protocol "Error and Notice Message Fields").
    public enum Code {
        /// `S`: severity, possibly localized.
        public static let severity = UInt8(ascii: "S")
        /// `V`: severity, never localized (PostgreSQL 9.6 and later).
        public static let severityNonLocalized = UInt8(ascii: "V")
        /// `C`: SQLSTATE.
        public static let sqlState = UInt8(ascii: "C")
        /// `M`: primary message.
        public static let message = UInt8(ascii: "M")
        /// `D`: detail.
        public static let detail = UInt8(ascii: "D")
        /// `H`: hint.
        public static let hint = UInt8(ascii: "H")
        /// `P`: position in the query text.
        public static let position = UInt8(ascii: "P")
        /// `p`: position in an internally generated query.
        public static let internalPosition = UInt8(ascii: "p")
        /// `q`: the internally generated query.
        public static let internalQuery = UInt8(ascii: "q")
        /// `W`: context (call stack).
        public static let context = UInt8(ascii: "W")
        /// `s`: schema name.
        public static let schemaName = UInt8(ascii: "s")
        /// `t`: table name.
        public static let tableName = UInt8(ascii: "t")
        /// `c`: column name.
        public static let columnName = UInt8(ascii: "c")
        /// `d`: data type name.
        public static let dataTypeName = UInt8(ascii: "d")
        /// `n`: constraint name.
        public static let constraintName = UInt8(ascii: "n")
        /// `F`: source file.
        public static let file = UInt8(ascii: "F")
        /// `L`: source line.
        public static let line = UInt8(ascii: "L")
        /// `R`: source routine.
        public static let routine = UInt8(ascii: "R")
    }
}
