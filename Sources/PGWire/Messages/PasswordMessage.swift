/// `p` PasswordMessage: a cleartext password (after AuthenticationCleartextPassword) or an
/// MD5 response (after AuthenticationMD5Password), NUL-terminated.
///
/// Clients send three messages under the letter `p`; only the authentication exchange in
/// progress says which one a body is, so the startup state machine picks the decoder.
public struct PasswordMessage: Equatable, Sendable {
    /// The bytes before the NUL. Not necessarily UTF-8: PostgreSQL compares bytes.
    public var password: [UInt8]

    public init(password: [UInt8]) {
        self.password = password
    }

    /// Decodes the body of a `p` message as a PasswordMessage.
    public static func decode(_ body: [UInt8]) throws(FrontendDecodingError) -> PasswordMessage {
        try decodePasswordBody(body) { reader throws(PayloadError) in
            let password = Array(try reader.readCStringBytes("password"))
            return PasswordMessage(password: password)
        }
    }
}

/// Runs `decode` over a `p` body; a failure keeps no byte of the body, which holds secrets.
func decodePasswordBody<T>(
    _ body: [UInt8], _ decode: (inout ByteReader) throws(PayloadError) -> T
) throws(FrontendDecodingError) -> T {
    let result = body.withUnsafeBufferPointer { buffer in
        Result { () throws(PayloadError) -> T in
            var reader = ByteReader(buffer)
            let value = try decode(&reader)
            try reader.expectEnd()
            return value
        }
    }
    switch result {
    case .success(let value):
        return value
    case .failure(let error):
        throw FrontendDecodingError(kind: .malformed(error.description), messageType: FrontendMessage.ID.password.rawValue, bytes: [])
    }
}
