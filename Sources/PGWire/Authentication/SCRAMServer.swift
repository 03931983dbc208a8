/// The server side of one SCRAM-SHA-256 exchange (RFC 5802, RFC 7677), without channel
/// binding, as a pure state machine: client messages in, server messages or a verdict out.
///
/// The exchange: the client sends client-first (`n,,n=,r=<client nonce>`), the server answers
/// server-first (`r=<client nonce><server nonce>,s=<salt>,i=<iterations>`), the client sends
/// client-final (`c=biws,r=<nonce>,p=<proof>`), and the server checks the proof against the
/// verifier's StoredKey and answers server-final (`v=<server signature>`).
///
/// A *doomed* exchange (unknown user, or a user with no SCRAM verifier) runs the same steps
/// with a mock verifier and fails at the proof, so the client cannot tell why.
public struct SCRAMServer: Equatable, Sendable {
    /// The SASL mechanism name; pgshard advertises only this one (no `-PLUS`).
    public static let mechanism = "SCRAM-SHA-256"

    /// What the server does after a client message.
    public enum Step: Equatable, Sendable {
        /// Send this server-first-message in AuthenticationSASLContinue.
        case challenge([UInt8])
        /// The proof is right: send this server-final-message in AuthenticationSASLFinal, then
        /// AuthenticationOk.
        case success([UInt8])
        /// The proof is wrong (or the exchange was doomed): password authentication failed.
        case wrongPassword
        /// The message broke the protocol: send the error (08P01) and close.
        case malformed(SCRAMError)
    }

    private enum State: Equatable {
        /// Waiting for client-first-message.
        case awaitingClientFirst
        /// server-first was sent; waiting for client-final-message.
        case awaitingClientFinal(ClientFirstMessage, serverFirst: [UInt8], nonce: [UInt8])
        /// A verdict was given; no more messages belong to this exchange.
        case finished
    }

    private var state = State.awaitingClientFirst
    private let verifier: SCRAMVerifier
    private let serverNonce: [UInt8]
    private let doomed: Bool

    /// - Parameters:
    ///   - verifier: the user's verifier, or a mock one when `doomed`.
    ///   - serverNonce: printable characters other than `,`; `randomNonce()` in production.
    ///   - doomed: fail at the proof whatever the client sends.
    public init(verifier: SCRAMVerifier, serverNonce: String, doomed: Bool = false) {
        precondition(!serverNonce.isEmpty && serverNonce.utf8.allSatisfy(SCRAMParser.isNonceByte), "invalid server nonce")
        self.verifier = verifier
        self.serverNonce = Array(serverNonce.utf8)
        self.doomed = doomed
    }

    /// 18 random bytes in base64, as PostgreSQL makes its nonces.
    public static func randomNonce() -> String {
        Base64.encode(Crypto.randomBytes(18))
    }

    /// The next client message of the exchange.
    public mutating func received(_ message: [UInt8]) -> Step {
        switch state {
        case .awaitingClientFirst:
            return clientFirstReceived(message)
        case .awaitingClientFinal(let first, let serverFirst, let nonce):
            state = .finished
            return clientFinalReceived(message, first: first, serverFirst: serverFirst, nonce: nonce)
        case .finished:
            return .malformed(.malformed("The SCRAM exchange is already complete."))
        }
    }

    private mutating func clientFirstReceived(_ message: [UInt8]) -> Step {
        let first: ClientFirstMessage
        do {
            first = try SCRAMParser.clientFirst(message)
        } catch {
            state = .finished
            return .malformed(error)
        }
        let nonce = first.clientNonce + serverNonce
        let serverFirst = Array("r=".utf8) + nonce + Array(",s=\(Base64.encode(verifier.salt)),i=\(verifier.iterations)".utf8)
        state = .awaitingClientFinal(first, serverFirst: serverFirst, nonce: nonce)
        return .challenge(serverFirst)
    }

    private func clientFinalReceived(_ message: [UInt8], first: ClientFirstMessage, serverFirst: [UInt8], nonce: [UInt8]) -> Step {
        let final: ClientFinalMessage
        do {
            final = try SCRAMParser.clientFinal(message)
        } catch {
            return .malformed(error)
        }
        guard final.channelBinding == first.gs2Header else {
            return .malformed(SCRAMError(.channelBindingMismatch, "The channel binding data (c=) is not the GS2 header of the first message."))
        }
        guard constantTimeEqual(final.nonce, nonce) else {
            return .malformed(SCRAMError(.nonceMismatch, "Nonce does not match."))
        }
        // AuthMessage := client-first-message-bare + "," + server-first-message + "," +
        //                client-final-message-without-proof
        let authMessage = first.bare + [UInt8(ascii: ",")] + serverFirst + [UInt8(ascii: ",")] + final.withoutProof
        let clientSignature = Crypto.hmacSHA256(key: verifier.storedKey, authMessage)
        let clientKey = zip(final.proof, clientSignature).map { $0 ^ $1 }
        let proofIsRight = constantTimeEqual(Crypto.sha256(clientKey), verifier.storedKey)
        guard proofIsRight, !doomed else { return .wrongPassword }
        let serverSignature = Crypto.hmacSHA256(key: verifier.serverKey, authMessage)
        return .success(Array("v=\(Base64.encode(serverSignature))".utf8))
    }
}
