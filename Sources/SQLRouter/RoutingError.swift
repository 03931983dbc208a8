/// An error the router reports to the client as a PostgreSQL ErrorResponse.
///
/// Every refusal is built by a named factory (see `RoutingError+Factories.swift`) so the same
/// condition always reads the same.
public struct RoutingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The SQLSTATE code, e.g. `0A000` (feature_not_supported) or `42601` (syntax_error).
    public var sqlState: String
    /// The primary message: what is wrong.
    public var message: String
    /// How to fix it, when pgshard knows.
    public var hint: String?
    /// A 1-based character position in the Query message, for syntax errors.
    public var position: Int?

    /// An error with the given fields; pgshard's own errors come from the named factories.
    public init(sqlState: String, message: String, hint: String? = nil, position: Int? = nil) {
        self.sqlState = sqlState
        self.message = message
        self.hint = hint
        self.position = position
    }

    /// `SQLSTATE: message (hint: …) at character N`, for logs.
    public var description: String {
        var text = "\(sqlState): \(message)"
        if let hint { text += " (hint: \(hint))" }
        if let position { text += " at character \(position)" }
        return text
    }
}
