/// `p` SASLInitialResponse: the SASL mechanism the client chose from AuthenticationSASL and,
/// usually, its first message (for SCRAM, client-first-message).
public struct SASLInitialResponse: Equatable, Sendable {
    /// The chosen mechanism, e.g. `SCRAM-SHA-256`.
    public var mechanism: String
    /// The mechanism's initial response; nil when the client sent none (length -1), in which
    /// case the server sends an empty challenge and the first message comes in a SASLResponse.
    public var data: [UInt8]?

    public init(mechanism: String, data: [UInt8]?) {
        self.mechanism = mechanism
        self.data = data
    }

    /// Decodes the body of a `p` message as a SASLInitialResponse.
    public static func decode(_ body: [UInt8]) throws(FrontendDecodingError) -> SASLInitialResponse {
        try decodePasswordBody(body) { reader throws(PayloadError) in
            let mechanism = try reader.readCString("mechanism")
            let length = try reader.readInt32("initial response length")
            guard length >= -1 else { throw .invalidValue("invalid initial response length \(length)") }
            let data = length == -1 ? nil : try reader.readBytes(Int(length), "initial response")
            return SASLInitialResponse(mechanism: mechanism, data: data)
        }
    }
}
