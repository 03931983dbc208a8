import PGWire

/// Why a merge cannot go on; the statement fails with ``fields``.
public enum MergeError: Error, Sendable, Equatable {
    /// A value that is not valid text of its column's type (a DateStyle other than ISO, …).
    case unreadableValue(String)
    /// The merge would have to order or combine values of a type it cannot (column, type OID,
    /// what it would do).
    case unsupportedType(column: String, typeOID: UInt32, use: String)
    /// Text ordered under a collation that is not byte order.
    case collationOrder(column: String)
    /// Text ordered before pgshard could read the shards' collation.
    case collationUnknown(column: String)
    /// Dates or intervals written in a style the merge does not read.
    case dateStyle(column: String, setting: String)
    /// Group or DISTINCT state beyond `merge.max_memory` (bytes).
    case outOfMemory(limit: Int)
    /// A combined sum beyond bigint.
    case bigintOverflow
    /// Shards described their rows differently.
    case shardsDisagree
    case divisionByZero
    /// An integer result beyond its type (`smallint`, `integer`, `bigint`).
    case outOfRange(String)
    case floatOverflow
    case numericFieldOverflow(precision: Int, scale: Int)
    /// Bind named a number of result formats that is neither 0, 1 nor the column count.
    case resultFormatCount(formats: Int, columns: Int)
    case floatUnderflow

    public var fields: ErrorFields {
        switch self {
        case .unreadableValue(let text):
            return .error(.featureNotSupported, "pgshard cannot read the value \"\(text.prefix(64))\" to merge the shards' rows",
                          hint: "dates and timestamps are merged in DateStyle ISO: SET DateStyle = ISO")
        case .unsupportedType(let column, let oid, let use):
            return .error(.featureNotSupported, "pgshard cannot \(use) values of column \"\(column)\" (type OID \(oid)) across shards",
                          hint: "cast the expression to a type pgshard orders (integer, numeric, float, text, date, timestamp, uuid), or add a condition on the shard key")
        case .collationOrder(let column):
            return .error(.featureNotSupported, "pgshard cannot order text column \"\(column)\" across shards: the shards' collation is not byte order",
                          hint: "order by the expression COLLATE \"C\", or add a condition on the shard key so the statement runs on one shard")
        case .collationUnknown(let column):
            return .error(.featureNotSupported, "pgshard cannot order text column \"\(column)\" across shards yet: it has not read the shards' collation",
                          hint: "retry in a moment (pgshard reads it in the background), order by the expression COLLATE \"C\", or add a condition on the shard key")
        case .dateStyle(let column, let setting):
            return .error(.featureNotSupported, "pgshard orders the values of column \"\(column)\" across shards only in \(setting)",
                          hint: "SET \(setting) for this session, or add a condition on the shard key")
        case .outOfMemory(let limit):
            return .error(SQLState(rawValue: "53200"), "merging the shards' rows needs more than merge.max_memory (\(limit / 1024) kB)",
                          hint: "add conditions so fewer groups or distinct rows remain, or raise merge.max_memory")
        case .bigintOverflow:
            return .error(.numericValueOutOfRange, "bigint out of range")
        case .divisionByZero:
            return .error(.divisionByZero, "division by zero")
        case .outOfRange(let type):
            return .error(.numericValueOutOfRange, "\(type) out of range")
        case .numericFieldOverflow(let precision, let scale):
            return .error(.numericValueOutOfRange, "numeric field overflow",
                          detail: "A field with precision \(precision), scale \(scale) must round to an absolute value less than \(precision - scale == 0 ? "1" : "10^\(precision - scale)").")
        case .resultFormatCount(let formats, let columns):
            return .error(.protocolViolation, "bind message has \(formats) result formats but query has \(columns) columns")
        case .floatOverflow:
            return .error(.numericValueOutOfRange, "value out of range: overflow")
        case .floatUnderflow:
            return .error(.numericValueOutOfRange, "value out of range: underflow")
        case .shardsDisagree:
            return .error(SQLState(rawValue: "XX000"), "shards described the rows of this statement differently",
                          hint: "the table may differ between shards; compare its definition on every shard")
        }
    }
}
