/// A SCRAM message from the client that breaks RFC 5802's grammar or pgshard's rules. The
/// session answers it with a FATAL ErrorResponse, SQLSTATE 08P01 (protocol violation), as
/// PostgreSQL does, and closes.
public struct SCRAMError: Error, Equatable, Sendable {
    /// What is wrong.
    public enum Kind: Equatable, Sendable {
        /// The message does not follow the grammar; `detail` says where.
        case malformed
        /// The client asked for channel binding (gs2 flag `p`), which pgshard does not offer.
        case channelBindingNotSupported
        /// The client sent an authorization identity (`a=`), which PostgreSQL does not support.
        case authorizationIdentityNotSupported
        /// The client requires a SCRAM extension (`m=`).
        case mandatoryExtension
        /// The channel binding data of client-final (`c=`) is not the gs2 header of client-first.
        case channelBindingMismatch
        /// The nonce of client-final is not the one the server sent.
        case nonceMismatch
    }

    /// What is wrong.
    public var kind: Kind
    /// Where, for the ErrorResponse's detail; never holds secret material.
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    static func malformed(_ detail: String) -> SCRAMError { SCRAMError(.malformed, detail) }

    /// The primary message, in PostgreSQL's words where it has some.
    public var message: String {
        switch kind {
        case .malformed, .nonceMismatch: "malformed SCRAM message"
        case .channelBindingNotSupported: "channel binding is not supported by pgshard"
        case .authorizationIdentityNotSupported: "client uses authorization identity, but it is not supported"
        case .mandatoryExtension: "client requires an unsupported SCRAM extension"
        case .channelBindingMismatch: "SCRAM channel binding check failed"
        }
    }

    /// The FATAL ErrorResponse for the client.
    public var errorFields: ErrorFields {
        let hint: String? = kind == .channelBindingNotSupported
            ? "pgshard offers SCRAM-SHA-256 without channel binding; connect with channel_binding=prefer or disable" : nil
        return .error(.protocolViolation, message, detail: detail, hint: hint, severity: "FATAL")
    }
}
