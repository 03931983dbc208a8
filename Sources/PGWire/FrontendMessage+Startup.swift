// The startup phase has its own framing. Before the first typed message, a client sends a
// packet with no type byte: a 4-byte length, then a 4-byte code that is either a protocol
// version (major << 16 | minor) or one of three request codes. The request codes put 1234
// in the high 16 bits, a major version no real protocol has, so they never collide with a
// version.

extension FrontendMessage {
    /// The SSLRequest code: 1234 << 16 | 5679.
    static let sslRequestCode: UInt32 = 80877103
    /// The GSSENCRequest code: 1234 << 16 | 5680.
    static let gssEncRequestCode: UInt32 = 80877104
    /// The CancelRequest code: 1234 << 16 | 5678.
    static let cancelRequestCode: UInt32 = 80877102

    /// The protocol major version pgshard speaks.
    static let supportedProtocolMajor: UInt16 = 3

    /// PostgreSQL's `MAX_STARTUP_PACKET_LENGTH`: no startup-phase packet is larger, so a
    /// larger length means a client that is not speaking this protocol (an HTTP request, a
    /// TLS ClientHello sent without SSLRequest).
    static let maxStartupPacketLength = 10000

    /// What an untyped startup-phase packet decodes to.
    enum StartupPacket {
        /// A startup message or one of the requests.
        case message(FrontendMessage)
        /// A startup message for a protocol other than 3.x; its parameters are not read,
        /// since their layout belongs to that other protocol.
        case unsupportedProtocolVersion(major: UInt16, minor: UInt16)
    }

    /// Decodes the body of an untyped startup-phase packet (everything after the length).
    static func decodeStartupPacket(from reader: inout ByteReader) throws(PayloadError) -> StartupPacket {
        let code = try reader.readUInt32("protocol version")
        let message: FrontendMessage
        switch code {
        case Self.sslRequestCode:
            message = .sslRequest
        case Self.gssEncRequestCode:
            message = .gssEncRequest
        case Self.cancelRequestCode:
            let processID = try reader.readInt32("process ID")
            let secretKey = try reader.readInt32("secret key")
            message = .cancelRequest(CancelRequest(processID: processID, secretKey: secretKey))
        default:
            let major = UInt16(truncatingIfNeeded: code >> 16)
            let minor = UInt16(truncatingIfNeeded: code)
            // Any minor version of 3 is accepted here: the session answers a newer one with
            // NegotiateProtocolVersion instead of failing, as PostgreSQL does.
            guard major == Self.supportedProtocolMajor else {
                return .unsupportedProtocolVersion(major: major, minor: minor)
            }
            let parameters = try StartupMessage.decodeParameters(from: &reader)
            message = .startup(StartupMessage(protocolMajor: major, protocolMinor: minor, parameters: parameters))
        }
        try reader.expectEnd()
        return .message(message)
    }
}
