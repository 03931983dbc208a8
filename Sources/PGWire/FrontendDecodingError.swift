/// A client sent bytes that are not a valid protocol 3.0 message.
///
/// It carries the message type and the first bytes of the message, so a failure can be
/// replayed from a log. Its `description` shows neither the bytes nor the body of a
/// password message.
public struct FrontendDecodingError: Error, Equatable, Sendable {
    /// What is wrong with the message.
    public enum Kind: Equatable, Sendable {
        /// The declared length is over the limit; raised from the header alone, before the
        /// body is buffered, so a client cannot make pgshard hold a huge message.
        case messageTooLarge(declared: Int, limit: Int)
        /// The type byte is not one a client may send.
        case unknownMessageType(UInt8)
        /// The message does not have the layout its type requires: a length under 4, a body
        /// longer or shorter than its fields, a string without NUL or not UTF-8, a bad code.
        case malformed(String)
        /// The startup packet asks for a protocol major version other than 3.
        case unsupportedProtocolVersion(major: UInt16, minor: UInt16)
        /// A Query's text is not valid UTF-8. The message was consumed; the session answers
        /// SQLSTATE 22021 and goes on.
        case invalidUTF8
    }

    /// What is wrong with the message.
    public var kind: Kind
    /// The type byte of the message; `nil` for the untyped startup-phase packets.
    public var messageType: UInt8?
    /// At most the first 64 bytes of the message, header included, for replay in logs.
    /// For a password message only the 5 header bytes are kept.
    public var bytes: [UInt8]

    /// The most bytes of a failed message an error keeps.
    public static let maxKeptBytes = 64

    /// Creates an error.
    public init(kind: Kind, messageType: UInt8?, bytes: [UInt8]) {
        self.kind = kind
        self.messageType = messageType
        self.bytes = bytes
    }

    /// Whether the session must close the connection. Only invalid UTF-8 in a Query is not
    /// fatal: the message boundaries are still known, so the stream stays in sync. After a
    /// fatal error the decoder has consumed nothing and would raise the same error again.
    public var isFatal: Bool {
        !(self.kind == .invalidUTF8 && self.messageType == FrontendMessage.ID.query.rawValue)
    }

    /// The SQLSTATE PostgreSQL uses for the same condition.
    public var sqlState: SQLState {
        switch self.kind {
        case .messageTooLarge, .unknownMessageType, .malformed:
            return .protocolViolation
        case .unsupportedProtocolVersion:
            return .featureNotSupported
        case .invalidUTF8:
            return .characterNotInRepertoire
        }
    }

    /// The ErrorResponse to send the client before closing (severity FATAL) or going on.
    public var errorFields: ErrorFields {
        let message: String
        switch self.kind {
        case .messageTooLarge(let declared, let limit):
            message = "invalid message length \(declared) (limit \(limit))"
        case .unknownMessageType(let type):
            message = "invalid frontend message type \(type)"
        case .malformed(let reason):
            message = "invalid message format: \(reason)"
        case .unsupportedProtocolVersion(let major, let minor):
            message = "unsupported frontend protocol \(major).\(minor): server supports 3.0 to 3.0"
        case .invalidUTF8:
            message = "invalid byte sequence for encoding \"UTF8\""
        }
        return .error(self.sqlState, message, severity: self.isFatal ? "FATAL" : "ERROR")
    }
}

extension FrontendDecodingError: CustomStringConvertible {
    public var description: String {
        let type = self.messageType.map { "message type \(Unicode.Scalar($0).escaped(asASCII: true))" } ?? "startup packet"
        return "FrontendDecodingError(\(type), \(self.kind), \(self.bytes.count) bytes kept)"
    }
}
