/// Why a backend connection could not do what was asked. SQL errors are not `BackendError`s:
/// they arrive as results carrying the server's diagnostics.
public struct BackendError: Error, Sendable, CustomStringConvertible {
    /// The kinds of failure the proxy maps to distinct SQLSTATEs.
    public enum Kind: Sendable, Equatable {
        /// The connection could not be established (SQLSTATE 08001 for the client).
        case connectFailed
        /// Establishing the connection took longer than the configured timeout (08001).
        case connectTimeout
        /// An established connection broke (08006).
        case connectionLost
        /// libpq refused a call, e.g. a second query while one runs (XX000).
        case misuse
        /// Every pooled connection to the shard stayed busy for the whole wait (53300).
        case poolTimeout
    }

    public var kind: Kind
    /// libpq's message, trimmed. It never contains the password: libpq does not echo it.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind): \(message)" }
}
