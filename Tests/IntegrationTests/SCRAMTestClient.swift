@testable import PGWire

/// The client side of SCRAM-SHA-256, for logging in with raw sockets in tests only (a copy of
/// the one in PGWireTests: test targets cannot share code).
struct SCRAMTestClient {
    var password: [UInt8]
    var nonce: String
    /// `n,,` (no channel binding) or `y,,` (client supports it, thinks the server does not).
    var gs2Header = "n,,"

    init(password: String, nonce: String = "fyko+d2lbbFgONRv9qkxdawL", gs2Header: String = "n,,") {
        self.password = Array(password.utf8)
        self.nonce = nonce
        self.gs2Header = gs2Header
    }

    var clientFirstBare: String { "n=,r=\(nonce)" }
    var clientFirst: [UInt8] { Array((gs2Header + clientFirstBare).utf8) }

    /// client-final for `serverFirst`, and the server-final a genuine server must answer.
    func clientFinal(serverFirst: [UInt8]) -> (message: [UInt8], serverFinal: [UInt8])? {
        let text = String(decoding: serverFirst, as: UTF8.self)
        var fields: [Character: String] = [:]
        for part in text.split(separator: ",") { fields[part.first!] = String(part.dropFirst(2)) }
        guard let combined = fields["r"], combined.hasPrefix(nonce),
              let salt = fields["s"].flatMap(Base64.decode), let iterations = fields["i"].flatMap({ Int($0) })
        else { return nil }
        let keys = SCRAMKeys(password: password, salt: salt, iterations: iterations)
        let withoutProof = "c=\(Base64.encode(Array(gs2Header.utf8))),r=\(combined)"
        let authMessage = Array("\(clientFirstBare),\(text),\(withoutProof)".utf8)
        let signature = Crypto.hmacSHA256(key: keys.storedKey, authMessage)
        let proof = zip(keys.clientKey, signature).map { $0 ^ $1 }
        let serverSignature = Crypto.hmacSHA256(key: keys.serverKey, authMessage)
        return (Array("\(withoutProof),p=\(Base64.encode(proof))".utf8), Array("v=\(Base64.encode(serverSignature))".utf8))
    }

    /// Runs a whole exchange against `server`; returns the server's verdict on client-final.
    func run(against server: inout SCRAMServer) -> SCRAMServer.Step {
        guard case .challenge(let serverFirst) = server.received(clientFirst) else { return .wrongPassword }
        guard let final = clientFinal(serverFirst: serverFirst) else { return .wrongPassword }
        let step = server.received(final.message)
        if case .success(let serverFinal) = step, serverFinal != final.serverFinal { return .wrongPassword }
        return step
    }
}
