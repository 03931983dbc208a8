import PGWire
@testable import Proxy
import XCTest

final class StartupMachineTests: XCTestCase {
    private typealias F = StartupFixtures

    func testEncryptionRefusedWithoutCertificateThenSCRAMIsOffered() throws {
        var machine = StartupMachine(settings: try F.settings(.scramSHA256))
        XCTAssertEqual(machine.received(.sslRequest), .refuseEncryption)
        XCTAssertEqual(machine.received(.gssEncRequest), .refuseEncryption)
        XCTAssertEqual(machine.received(.startup(F.startup("app"))), .requestSASL(mechanisms: ["SCRAM-SHA-256"]))
        XCTAssertFalse(machine.isEncrypted)
    }

    func testSSLAcceptedWithCertificate() throws {
        var settings = try F.settings(.scramSHA256)
        settings.tlsAvailable = true
        var machine = StartupMachine(settings: settings)
        XCTAssertEqual(machine.received(.sslRequest), .acceptEncryption)
        XCTAssertTrue(machine.isEncrypted)
        XCTAssertEqual(machine.received(.startup(F.startup("app"))), .requestSASL(mechanisms: ["SCRAM-SHA-256"]))

        // A second negotiation inside TLS is a protocol violation.
        var twice = StartupMachine(settings: settings)
        _ = twice.received(.sslRequest)
        guard case .reject(let error) = twice.received(.sslRequest) else { return XCTFail() }
        XCTAssertEqual(error.sqlState, .protocolViolation)
        var gss = StartupMachine(settings: settings)
        _ = gss.received(.sslRequest)
        guard case .reject = gss.received(.gssEncRequest) else { return XCTFail() }
    }

    func testBytesSentAfterSSLRequestBeforeTheAnswerAreRefused() throws {
        var settings = try F.settings(.scramSHA256)
        settings.tlsAvailable = true
        var machine = StartupMachine(settings: settings)
        guard case .reject(let error) = machine.received(.sslRequest, bufferedBytes: 8) else { return XCTFail() }
        XCTAssertEqual(error.sqlState, .protocolViolation)
        XCTAssertEqual(error.message, "received unencrypted data after SSL request")
        XCTAssertFalse(machine.isEncrypted)
    }

    func testRequireTLSRefusesPlainStartups() throws {
        var settings = try F.settings(.scramSHA256)
        settings.tlsAvailable = true
        settings.requireTLS = true
        var plain = StartupMachine(settings: settings)
        XCTAssertEqual(plain.received(.gssEncRequest), .refuseEncryption)
        guard case .reject(let error) = plain.received(.startup(F.startup("app", database: "shop"))) else { return XCTFail() }
        XCTAssertEqual(error.sqlState, .invalidAuthorizationSpecification)
        XCTAssertEqual(error.severity, "FATAL")
        XCTAssertEqual(error.message, "unencrypted connection refused for user \"app\", database \"shop\", no encryption")
        var encrypted = StartupMachine(settings: settings)
        XCTAssertEqual(encrypted.received(.sslRequest), .acceptEncryption)
        XCTAssertEqual(encrypted.received(.startup(F.startup("app"))), .requestSASL(mechanisms: ["SCRAM-SHA-256"]))
    }

    func testSCRAMExchange() throws {
        var machine = StartupMachine(settings: try F.settings(.scramSHA256))
        let startup = F.startup("app")
        XCTAssertEqual(machine.received(.startup(startup)), .requestSASL(mechanisms: ["SCRAM-SHA-256"]))
        let client = SCRAMTestClient(password: "pw")
        guard case .continueSASL(let serverFirst) = machine.received(F.saslInitialResponse(client.clientFirst)) else { return XCTFail() }
        let final = try XCTUnwrap(client.clientFinal(serverFirst: serverFirst))
        XCTAssertEqual(machine.received(.password(final.message)), .authenticated(startup, saslFinal: final.serverFinal))
        XCTAssertEqual(machine.state, .finished)
    }

    func testSCRAMWithoutInitialResponseGetsAnEmptyChallenge() throws {
        var machine = StartupMachine(settings: try F.settings(.scramSHA256))
        let startup = F.startup("app")
        _ = machine.received(.startup(startup))
        XCTAssertEqual(machine.received(F.saslInitialResponse(nil)), .continueSASL([]))
        let client = SCRAMTestClient(password: "pw")
        guard case .continueSASL(let serverFirst) = machine.received(.password(client.clientFirst)) else { return XCTFail() }
        let final = try XCTUnwrap(client.clientFinal(serverFirst: serverFirst))
        XCTAssertEqual(machine.received(.password(final.message)), .authenticated(startup, saslFinal: final.serverFinal))
    }

    /// Wrong password and unknown user: the same messages, the same shapes, the same error
    /// (but for the name), and the same delayed rejection.
    func testSCRAMWrongPasswordAndUnknownUserLookAlike() throws {
        let settings = try F.settings(.scramSHA256)
        func run(user: String, password: String) throws -> (serverFirst: String, verdict: StartupMachine.Action, after: StartupMachine.Action) {
            var machine = StartupMachine(settings: settings)
            XCTAssertEqual(machine.received(.startup(F.startup(user))), .requestSASL(mechanisms: ["SCRAM-SHA-256"]))
            let client = SCRAMTestClient(password: password)
            guard case .continueSASL(let serverFirst) = machine.received(F.saslInitialResponse(client.clientFirst)) else {
                throw XCTSkip("no challenge")
            }
            let final = try XCTUnwrap(client.clientFinal(serverFirst: serverFirst))
            let verdict = machine.received(.password(final.message))
            XCTAssertEqual(machine.state, .failed)
            return (String(decoding: serverFirst, as: UTF8.self), verdict, machine.received(.query("SELECT 1")))
        }
        let wrong = try run(user: "app", password: "nope")
        let unknown = try run(user: "eve", password: "pw")
        XCTAssertEqual(wrong.verdict, F.passwordFailed("app"))
        XCTAssertEqual(unknown.verdict, F.passwordFailed("eve"))
        XCTAssertEqual(wrong.after, .ignore)
        XCTAssertEqual(unknown.after, .ignore)
        // r=<24-char client nonce + 24-char server nonce>,s=<16 bytes>,i=4096
        for serverFirst in [wrong.serverFirst, unknown.serverFirst] {
            let parts = serverFirst.split(separator: ",")
            XCTAssertEqual(parts.count, 3, serverFirst)
            XCTAssertEqual(parts[0].count, 2 + 24 + 24, serverFirst)
            XCTAssertEqual(parts[1].count, 2 + 24, serverFirst)
            XCTAssertEqual(parts[2], "i=4096")
        }
        // An unknown name gets the same salt every time.
        let again = try run(user: "eve", password: "other")
        XCTAssertEqual(again.serverFirst.split(separator: ",")[1], unknown.serverFirst.split(separator: ",")[1])
    }

    func testSCRAMProtocolErrorsAreImmediate() throws {
        let settings = try F.settings(.scramSHA256)
        var mechanism = StartupMachine(settings: settings)
        _ = mechanism.received(.startup(F.startup("app")))
        guard case .reject(let e1) = mechanism.received(F.saslInitialResponse(Array("n,,n=,r=x".utf8), mechanism: "SCRAM-SHA-256-PLUS")) else {
            return XCTFail()
        }
        XCTAssertEqual(e1.sqlState, .protocolViolation)
        XCTAssertEqual(e1.message, "client selected an invalid SASL authentication mechanism")

        var binding = StartupMachine(settings: settings)
        _ = binding.received(.startup(F.startup("eve")))
        guard case .reject(let e2) = binding.received(F.saslInitialResponse(Array("p=tls-server-end-point,,n=,r=x".utf8))) else {
            return XCTFail()
        }
        XCTAssertEqual(e2.sqlState, .protocolViolation)
        XCTAssertEqual(e2.message, "channel binding is not supported by pgshard")

        var truncated = StartupMachine(settings: settings)
        _ = truncated.received(.startup(F.startup("app")))
        guard case .reject(let e3) = truncated.received(.password([0x53, 0x43])) else { return XCTFail() }
        XCTAssertEqual(e3.sqlState, .protocolViolation)

        var garbage = StartupMachine(settings: settings)
        _ = garbage.received(.startup(F.startup("app")))
        let client = SCRAMTestClient(password: "pw")
        _ = garbage.received(F.saslInitialResponse(client.clientFirst))
        guard case .reject(let e4) = garbage.received(.password(Array("c=biws,r=,p=".utf8))) else { return XCTFail() }
        XCTAssertEqual(e4.sqlState, .protocolViolation)
        XCTAssertEqual(garbage.state, .finished)

        var query = StartupMachine(settings: settings)
        _ = query.received(.startup(F.startup("app")))
        guard case .reject(let e5) = query.received(.query("SELECT 1")) else { return XCTFail() }
        XCTAssertEqual(e5.sqlState, .protocolViolation)
    }

    func testMD5Exchange() throws {
        let settings = try F.settings(.md5, [("app", "pw"), ("old", "md5" + "0123456789abcdef0123456789abcdef")])
        let startup = F.startup("app")
        var machine = StartupMachine(settings: settings)
        guard case .requestMD5Password(let salt) = machine.received(.startup(startup)) else { return XCTFail() }
        XCTAssertEqual(salt.count, 4)
        let response = MD5Password.expectedResponse(storedHash: MD5Password.storedHash(password: "pw", user: "app"), salt: salt)
        XCTAssertEqual(machine.received(.password(response + [0])), .authenticated(startup, saslFinal: nil))

        var wrong = StartupMachine(settings: settings)
        guard case .requestMD5Password(let salt2) = wrong.received(.startup(startup)) else { return XCTFail() }
        let bad = MD5Password.expectedResponse(storedHash: MD5Password.storedHash(password: "px", user: "app"), salt: salt2)
        XCTAssertEqual(wrong.received(.password(bad + [0])), F.passwordFailed("app"))

        // Most users have md5 hashes, so an unknown one gets MD5 as well, and fails.
        var unknown = StartupMachine(settings: settings)
        guard case .requestMD5Password(let salt3) = unknown.received(.startup(F.startup("eve"))) else { return XCTFail() }
        let guess = MD5Password.expectedResponse(storedHash: MD5Password.storedHash(password: "pw", user: "eve"), salt: salt3)
        XCTAssertEqual(unknown.received(.password(guess + [0])), F.passwordFailed("eve"))
    }

    func testMD5MethodUsesSCRAMForUsersWithAVerifier() throws {
        let verifier = SCRAMVerifier(password: "pw", salt: Array("0123456789abcdef".utf8)).text
        let settings = try F.settings(.md5, [("app", verifier)])
        let startup = F.startup("app")
        var machine = StartupMachine(settings: settings)
        XCTAssertEqual(machine.received(.startup(startup)), .requestSASL(mechanisms: ["SCRAM-SHA-256"]))
        let client = SCRAMTestClient(password: "pw")
        guard case .continueSASL(let serverFirst) = machine.received(F.saslInitialResponse(client.clientFirst)) else { return XCTFail() }
        let final = try XCTUnwrap(client.clientFinal(serverFirst: serverFirst))
        XCTAssertEqual(machine.received(.password(final.message)), .authenticated(startup, saslFinal: final.serverFinal))
        // Most users have verifiers: an unknown user gets SCRAM too.
        var unknown = StartupMachine(settings: settings)
        XCTAssertEqual(unknown.received(.startup(F.startup("eve"))), .requestSASL(mechanisms: ["SCRAM-SHA-256"]))
    }

    func testCleartextAgainstEveryStoredForm() throws {
        let golden = "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==$EITeZ0VJWhv6JZt2//doyHx+42MWcQ59HgeQ2j0Hv7c=:KIxq2U7NH6FRFZkauJY6gRHWk7pf1Q2CuuBYKWATeGs="
        let settings = try F.settings(.password, [
            ("plain", "pw"), ("scram", golden), ("hashed", MD5Password.storedHash(password: "pencil-42", user: "hashed")),
        ])
        for (user, right) in [("plain", "pw"), ("scram", "pencil-42"), ("hashed", "pencil-42")] {
            let startup = F.startup(user)
            var ok = StartupMachine(settings: settings)
            XCTAssertEqual(ok.received(.startup(startup)), .requestCleartextPassword)
            XCTAssertEqual(ok.received(F.passwordMessage(right)), .authenticated(startup, saslFinal: nil), user)
            for wrongPassword in [right + "x", "", String(right.dropLast())] {
                var wrong = StartupMachine(settings: settings)
                _ = wrong.received(.startup(startup))
                XCTAssertEqual(wrong.received(F.passwordMessage(wrongPassword)), F.passwordFailed(user), "\(user) \(wrongPassword)")
            }
        }
        var unknown = StartupMachine(settings: settings)
        XCTAssertEqual(unknown.received(.startup(F.startup("eve"))), .requestCleartextPassword)
        XCTAssertEqual(unknown.received(F.passwordMessage("pw")), F.passwordFailed("eve"))
        // A PasswordMessage without its NUL: 08P01 at once, no delay.
        var malformed = StartupMachine(settings: settings)
        _ = malformed.received(.startup(F.startup("plain")))
        guard case .reject(let error) = malformed.received(.password(Array("pw".utf8))) else { return XCTFail() }
        XCTAssertEqual(error.sqlState, .protocolViolation)
    }

    func testTrustDatabaseAndProtocolChecks() throws {
        var trust = StartupMachine(settings: try F.settings(.trust, [], database: "app"))
        XCTAssertEqual(trust.received(.startup(F.startup("anyone", database: "app"))),
                       .authenticated(F.startup("anyone", database: "app"), saslFinal: nil))
        var wrongDatabase = StartupMachine(settings: try F.settings(.trust, [], database: "app"))
        guard case .reject(let e) = wrongDatabase.received(.startup(F.startup("x", database: "other"))) else { return XCTFail() }
        XCTAssertEqual(e.sqlState, "3D000")
        var noUser = StartupMachine(settings: try F.settings(.trust, []))
        guard case .reject(let e2) = noUser.received(.startup(F.startup(nil))) else { return XCTFail() }
        XCTAssertEqual(e2.sqlState, "28000")
        var early = StartupMachine(settings: try F.settings(.trust, []))
        guard case .reject(let e3) = early.received(.query("SELECT 1")) else { return XCTFail() }
        XCTAssertEqual(e3.sqlState, "08P01")
        var cancel = StartupMachine(settings: try F.settings(.scramSHA256))
        XCTAssertEqual(cancel.received(.cancelRequest(CancelRequest(processID: 7, secretKey: 9))),
                       .cancel(CancelRequest(processID: 7, secretKey: 9)))
    }
}
