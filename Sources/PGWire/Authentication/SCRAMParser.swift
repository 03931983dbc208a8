/// client-first-message, as far as the server needs it.
struct ClientFirstMessage: Equatable, Sendable {
    /// The gs2 header, `n,,` or `y,,`: client-final must echo it in `c=`.
    var gs2Header: [UInt8]
    /// client-first-message-bare: part of the AuthMessage both sides sign.
    var bare: [UInt8]
    /// The client's nonce (`r=`).
    var clientNonce: [UInt8]
}

/// client-final-message, as far as the server needs it.
struct ClientFinalMessage: Equatable, Sendable {
    /// The decoded `c=` value.
    var channelBinding: [UInt8]
    /// The `r=` value: client nonce + server nonce.
    var nonce: [UInt8]
    /// client-final-message-without-proof: part of the AuthMessage.
    var withoutProof: [UInt8]
    /// The decoded `p=` value, 32 bytes.
    var proof: [UInt8]
}

/// Strict parsers for the two client messages of SCRAM-SHA-256 (RFC 5802 §7). Every field is
/// checked; anything else is a `SCRAMError` whose detail says what was wrong, never what the
/// client sent beyond a single character.
enum SCRAMParser {
    private static let comma = UInt8(ascii: ",")
    private static let equals = UInt8(ascii: "=")

    /// printable = %x21-2B / %x2D-7E: the bytes a nonce may hold.
    static func isNonceByte(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) && byte != comma
    }

    static func clientFirst(_ message: [UInt8]) throws(SCRAMError) -> ClientFirstMessage {
        try checkText(message)
        var index = 0
        // gs2-cbind-flag
        switch message[index] {
        case UInt8(ascii: "n"), UInt8(ascii: "y"):
            index += 1
        case UInt8(ascii: "p"):
            throw SCRAMError(.channelBindingNotSupported,
                             "The client selected channel binding (GS2 flag \"p\"), but only SCRAM-SHA-256 without channel binding was offered.")
        default:
            throw .malformed("Unexpected channel-binding flag \(describe(message[index])).")
        }
        try expect(comma, in: message, at: &index)
        // [authzid]
        if index < message.count, message[index] == UInt8(ascii: "a") {
            throw SCRAMError(.authorizationIdentityNotSupported, "The client sent an authorization identity (a=).")
        }
        try expect(comma, in: message, at: &index)
        let gs2Header = Array(message[..<index])
        let bare = Array(message[index...])
        guard !bare.isEmpty else { throw .malformed("The client-first-message-bare is missing.") }

        var attributes = try split(bare)
        if attributes.first?.name == UInt8(ascii: "m") {
            throw SCRAMError(.mandatoryExtension, "The client sent a mandatory extension (m=).")
        }
        let user = try take(UInt8(ascii: "n"), from: &attributes, allowEmpty: true)
        try checkSASLName(user)
        let nonce = try take(UInt8(ascii: "r"), from: &attributes)
        guard nonce.allSatisfy(isNonceByte) else { throw .malformed("The client nonce holds a character that is not allowed.") }
        // Optional extensions are ignored, as PostgreSQL does; their syntax was checked by split.
        return ClientFirstMessage(gs2Header: gs2Header, bare: bare, clientNonce: nonce)
    }

    static func clientFinal(_ message: [UInt8]) throws(SCRAMError) -> ClientFinalMessage {
        try checkText(message)
        var attributes = try split(message)
        let encodedBinding = try take(UInt8(ascii: "c"), from: &attributes)
        guard let binding = Base64.decode(encodedBinding) else {
            throw .malformed("The channel binding data (c=) is not valid base64.")
        }
        let nonce = try take(UInt8(ascii: "r"), from: &attributes)
        guard let last = attributes.last, last.name == UInt8(ascii: "p") else {
            throw .malformed("The client proof (p=) must be the last attribute.")
        }
        guard !attributes.dropLast().contains(where: { $0.name == UInt8(ascii: "p") }) else {
            throw .malformed("The client proof (p=) appears more than once.")
        }
        guard let proof = Base64.decode(last.value), proof.count == 32 else {
            throw .malformed("The client proof (p=) is not 32 bytes of valid base64.")
        }
        let withoutProof = Array(message[..<(message.lastIndex(of: comma) ?? 0)])
        return ClientFinalMessage(channelBinding: binding, nonce: nonce, withoutProof: withoutProof, proof: proof)
    }

    // MARK: - Helpers

    private struct Attribute {
        var name: UInt8
        var value: [UInt8]
    }

    /// Messages are UTF-8 text without NUL.
    private static func checkText(_ message: [UInt8]) throws(SCRAMError) {
        guard !message.isEmpty else { throw .malformed("The message is empty.") }
        guard !message.contains(0) else { throw .malformed("The message contains a NUL byte.") }
        guard String(validating: message, as: UTF8.self) != nil else { throw .malformed("The message is not valid UTF-8.") }
    }

    private static func expect(_ byte: UInt8, in message: [UInt8], at index: inout Int) throws(SCRAMError) {
        guard index < message.count else {
            throw .malformed("Expected character \(describe(byte)), but found end of message.")
        }
        guard message[index] == byte else {
            throw .malformed("Expected character \(describe(byte)), but found \(describe(message[index])).")
        }
        index += 1
    }

    /// `attr=value` pairs separated by commas; attr is one ASCII letter.
    private static func split(_ text: [UInt8]) throws(SCRAMError) -> [Attribute] {
        var result: [Attribute] = []
        for part in text.split(separator: comma, omittingEmptySubsequences: false) {
            guard part.count >= 2, isLetter(part[part.startIndex]), part[part.startIndex + 1] == equals else {
                throw .malformed(part.isEmpty ? "Attribute expected, but found an empty field."
                                 : "Attribute expected, but found \(describe(part[part.startIndex])).")
            }
            result.append(Attribute(name: part[part.startIndex], value: Array(part.dropFirst(2))))
        }
        return result
    }

    private static func take(_ name: UInt8, from attributes: inout [Attribute], allowEmpty: Bool = false) throws(SCRAMError) -> [UInt8] {
        guard let first = attributes.first else {
            throw .malformed("Attribute \(describe(name)) expected, but found end of message.")
        }
        guard first.name == name else {
            throw .malformed("Attribute \(describe(name)) expected, but found \(describe(first.name)).")
        }
        guard allowEmpty || !first.value.isEmpty else {
            throw .malformed("Attribute \(describe(name)) is empty.")
        }
        attributes.removeFirst()
        return first.value
    }

    /// saslname: `=` only as `=2C` or `=3D`. libpq sends an empty name (PostgreSQL uses the
    /// startup packet's user), so empty is allowed.
    private static func checkSASLName(_ name: [UInt8]) throws(SCRAMError) {
        var i = 0
        while i < name.count {
            if name[i] == equals {
                guard i + 2 < name.count,
                      (name[i + 1], name[i + 2]) == (UInt8(ascii: "2"), UInt8(ascii: "C"))
                        || (name[i + 1], name[i + 2]) == (UInt8(ascii: "3"), UInt8(ascii: "D"))
                else { throw .malformed("The user name (n=) holds \"=\" not followed by 2C or 3D.") }
                i += 3
            } else {
                i += 1
            }
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    /// A byte for an error detail: printable ASCII quoted, anything else as a code.
    private static func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "\"\(Unicode.Scalar(byte))\"" : "byte 0x\(String(byte, radix: 16))"
    }
}
