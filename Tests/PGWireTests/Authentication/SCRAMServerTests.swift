@testable import PGWire
import XCTest

final class SCRAMServerTests: XCTestCase {
    /// RFC 7677 §3: user "user", password "pencil".
    func testRFC7677Vector() throws {
        let salt = try XCTUnwrap(Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ=="))
        var server = SCRAMServer(verifier: SCRAMVerifier(password: "pencil", salt: salt, iterations: 4096),
                                 serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
        XCTAssertEqual(server.received(Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8)),
                       .challenge(Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8)))
        let final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        XCTAssertEqual(server.received(Array(final.utf8)), .success(Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)))
        // Nothing follows a verdict.
        guard case .malformed = server.received(Array(final.utf8)) else { return XCTFail() }
    }

    func testFullExchangeRightAndWrongPassword() {
        let verifier = SCRAMVerifier.random(password: "s3cret")
        var right = SCRAMServer(verifier: verifier, serverNonce: SCRAMServer.randomNonce())
        guard case .success = SCRAMTestClient(password: "s3cret").run(against: &right) else { return XCTFail() }
        var wrong = SCRAMServer(verifier: verifier, serverNonce: SCRAMServer.randomNonce())
        XCTAssertEqual(SCRAMTestClient(password: "s3cre").run(against: &wrong), .wrongPassword)
        // gs2 flag "y": the client supports channel binding but believes the server does not.
        var yes = SCRAMServer(verifier: verifier, serverNonce: SCRAMServer.randomNonce())
        guard case .success = SCRAMTestClient(password: "s3cret", gs2Header: "y,,").run(against: &yes) else { return XCTFail() }
    }

    func testNoncesAreFreshAndPrintable() {
        let nonces = (0..<50).map { _ in SCRAMServer.randomNonce() }
        XCTAssertEqual(Set(nonces).count, 50)
        for nonce in nonces {
            XCTAssertEqual(nonce.utf8.count, 24)
            XCTAssertTrue(nonce.utf8.allSatisfy(SCRAMParser.isNonceByte))
        }
    }

    func testDoomedExchangeLooksTheSameAndFails() {
        let secret = Array("server secret".utf8)
        let mock = SCRAMVerifier.mock(user: "eve", secret: secret)
        XCTAssertEqual(mock, SCRAMVerifier.mock(user: "eve", secret: secret), "the same name gets the same salt")
        XCTAssertNotEqual(mock.salt, SCRAMVerifier.mock(user: "eva", secret: secret).salt)
        XCTAssertNotEqual(mock.salt, SCRAMVerifier.mock(user: "eve", secret: Array("other".utf8)).salt)
        XCTAssertEqual(mock.salt.count, 16)
        XCTAssertEqual(mock.iterations, 4096)
        var server = SCRAMServer(verifier: mock, serverNonce: "abc", doomed: true)
        let client = SCRAMTestClient(password: "anything")
        guard case .challenge(let first) = server.received(client.clientFirst) else { return XCTFail() }
        XCTAssertTrue(String(decoding: first, as: UTF8.self).hasPrefix("r=\(client.nonce)abc,s=\(Base64.encode(mock.salt)),i=4096"))
        XCTAssertEqual(server.received(client.clientFinal(serverFirst: first)!.message), .wrongPassword)
    }

    func testMalformedClientFirstMessages() {
        let cases: [(String, SCRAMError.Kind)] = [
            ("", .malformed),
            ("x,,n=,r=abc", .malformed),
            ("p=tls-server-end-point,,n=,r=abc", .channelBindingNotSupported),
            ("n,a=admin,n=,r=abc", .authorizationIdentityNotSupported),
            ("n,,m=ext,n=,r=abc", .mandatoryExtension),
            ("n", .malformed),
            ("n,", .malformed),
            ("n,,", .malformed),
            ("nx,n=,r=abc", .malformed),
            ("n,,r=abc", .malformed),
            ("n,,n=,", .malformed),
            ("n,,n=,r=", .malformed),
            ("n,,n=,r=ab,c", .malformed),
            ("n,,n=,r=a b", .malformed),
            ("n,,n=us=er,r=abc", .malformed),
            ("n,,n=us=2", .malformed),
            ("n,,n=,r=abc,", .malformed),
            ("n,,n=,r=abc,1=x", .malformed),
            ("n,,n=,r=abc\u{0}", .malformed),
            ("n,,n=\u{0}", .malformed),
        ]
        for (text, kind) in cases {
            var server = SCRAMServer(verifier: SCRAMVerifier.random(password: "x"), serverNonce: "s")
            guard case .malformed(let error) = server.received(Array(text.utf8)) else {
                XCTFail("accepted \(text.debugDescription)")
                continue
            }
            XCTAssertEqual(error.kind, kind, text.debugDescription)
            XCTAssertEqual(error.errorFields.sqlState, .protocolViolation)
            XCTAssertEqual(error.errorFields.severity, "FATAL")
        }
        // Invalid UTF-8.
        var server = SCRAMServer(verifier: SCRAMVerifier.random(password: "x"), serverNonce: "s")
        guard case .malformed = server.received(Array("n,,n=".utf8) + [0xC3, 0x28] + Array(",r=abc".utf8)) else { return XCTFail() }
        // Accepted: an escaped user name, extensions after the nonce.
        for text in ["n,,n=a=2Cb=3D,r=abc", "n,,n=user,r=abc,x=ext", "y,,n=,r=abc"] {
            var server = SCRAMServer(verifier: SCRAMVerifier.random(password: "x"), serverNonce: "s")
            guard case .challenge = server.received(Array(text.utf8)) else { return XCTFail(text) }
        }
    }

    func testMalformedClientFinalMessages() throws {
        let verifier = SCRAMVerifier(password: "pw", salt: Array("salt".utf8), iterations: 4096)
        let client = SCRAMTestClient(password: "pw", nonce: "cn")
        let nonce = "cnSN"
        let proof = Base64.encode([UInt8](repeating: 7, count: 32))
        let cases: [(String, SCRAMError.Kind)] = [
            ("", .malformed),
            ("c=biws", .malformed),
            ("c=biws,r=\(nonce)", .malformed),
            ("r=\(nonce),c=biws,p=\(proof)", .malformed),
            ("c=biw,r=\(nonce),p=\(proof)", .malformed),
            ("c=eSws,r=\(nonce),p=\(proof)", .channelBindingMismatch),
            ("c=biws,r=cnXX,p=\(proof)", .nonceMismatch),
            ("c=biws,r=\(nonce),p=\(Base64.encode([1, 2, 3]))", .malformed),
            ("c=biws,r=\(nonce),p=\(proof),x=1", .malformed),
            ("c=biws,r=\(nonce),p=\(proof),p=\(proof)", .malformed),
            ("c=biws,r=\(nonce),p=\(proof)=", .malformed),
            ("c=biws,r=\(nonce),,p=\(proof)", .malformed),
        ]
        for (text, kind) in cases {
            var server = SCRAMServer(verifier: verifier, serverNonce: "SN")
            guard case .challenge = server.received(client.clientFirst) else { return XCTFail() }
            guard case .malformed(let error) = server.received(Array(text.utf8)) else {
                XCTFail("accepted \(text.debugDescription)")
                continue
            }
            XCTAssertEqual(error.kind, kind, text.debugDescription)
        }
        // An extension before the proof is allowed; the proof is then simply wrong.
        var server = SCRAMServer(verifier: verifier, serverNonce: "SN")
        _ = server.received(client.clientFirst)
        XCTAssertEqual(server.received(Array("c=biws,r=\(nonce),x=ext,p=\(proof)".utf8)), .wrongPassword)
    }

    func testChannelBindingErrorIsClear() {
        var server = SCRAMServer(verifier: SCRAMVerifier.random(password: "x"), serverNonce: "s")
        guard case .malformed(let error) = server.received(Array("p=tls-unique,,n=,r=abc".utf8)) else { return XCTFail() }
        XCTAssertEqual(error.errorFields.message, "channel binding is not supported by pgshard")
        XCTAssertNotNil(error.errorFields.hint)
    }

    /// Random and mutated messages: every one gets a verdict, none crashes or succeeds.
    func testMutatedMessagesNeverCrashOrPass() throws {
        var generator = SystemRandomNumberGenerator()
        let verifier = SCRAMVerifier(password: "pw", salt: Array("salt".utf8), iterations: 1)
        let client = SCRAMTestClient(password: "pw", nonce: "nonce")
        var probe = SCRAMServer(verifier: verifier, serverNonce: "SN")
        guard case .challenge(let serverFirst) = probe.received(client.clientFirst) else { return XCTFail() }
        let final = try XCTUnwrap(client.clientFinal(serverFirst: serverFirst)).message
        let alphabet = Array("nyp,=abcrsi0123456789+/ \u{0}".utf8) + [0xC3, 0xFF]
        func mutate(_ bytes: [UInt8]) -> [UInt8] {
            var bytes = bytes
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let choice = Int.random(in: 0..<3, using: &generator)
                if choice == 0 || bytes.isEmpty {
                    bytes.insert(alphabet.randomElement(using: &generator)!, at: Int.random(in: 0...bytes.count, using: &generator))
                } else if choice == 1 {
                    bytes.remove(at: Int.random(in: 0..<bytes.count, using: &generator))
                } else {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = alphabet.randomElement(using: &generator)!
                }
            }
            return bytes
        }
        for _ in 0..<2000 {
            var first = SCRAMServer(verifier: verifier, serverNonce: "SN")
            _ = first.received(mutate(client.clientFirst))
            var second = SCRAMServer(verifier: verifier, serverNonce: "SN")
            _ = second.received(client.clientFirst)
            let mutated = mutate(final)
            if case .success = second.received(mutated), mutated != final {
                // Only a change inside an ignored extension could keep the proof valid; there is none.
                XCTFail("mutated client-final accepted: \(String(decoding: mutated, as: UTF8.self))")
            }
            var noise = SCRAMServer(verifier: verifier, serverNonce: "SN")
            let random = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = noise.received(random)
            _ = noise.received(random)
        }
    }
}
