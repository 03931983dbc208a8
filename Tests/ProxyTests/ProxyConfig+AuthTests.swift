import PGWire
@testable import Proxy
import XCTest

final class ProxyConfigAuthTests: XCTestCase {
    private static let golden = "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==$EITeZ0VJWhv6JZt2//doyHx+42MWcQ59HgeQ2j0Hv7c=:KIxq2U7NH6FRFZkauJY6gRHWk7pf1Q2CuuBYKWATeGs="
    private static let md5 = "md54511c43d945df0cff8d886e9026960a0"

    private func parse(_ lines: String) throws(ConfigError) -> ProxyConfig {
        try ProxyConfig.parse(yaml: lines + "\nshards: [{ name: s0, primary: \"host=a\" }]\n")
    }

    private func problems(_ lines: String) -> [String] {
        do {
            _ = try parse(lines)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    func testDefaultsAreSCRAMHalfASecondAndNoTLS() throws {
        let config = try parse("users: [{ name: app, password: pw }]")
        XCTAssertEqual(config.auth, .scramSHA256)
        XCTAssertEqual(config.authFailureDelay, 0.5)
        XCTAssertNil(config.tls)
        XCTAssertFalse(config.requireTLS)
    }

    func testPasswordFormsUnderEachMethod() throws {
        let users = "users: [{ name: plain, password: pw }, { name: verifier, password: \"\(Self.golden)\" }, { name: hashed, password: \(Self.md5) }]"
        let scram = try parse("auth: scram-sha-256\nusers: [{ name: plain, password: pw }, { name: verifier, password: \"\(Self.golden)\" }]")
        guard case .scram(let computed) = scram.users[0].credential else { return XCTFail() }
        XCTAssertEqual(computed.iterations, 4096)
        XCTAssertEqual(computed.salt.count, 16)
        XCTAssertTrue(computed.matches(passwordBytes: Array("pw".utf8)))
        XCTAssertEqual(scram.users[1].credential, .scram(SCRAMVerifier(parsing: Self.golden)!))

        let md5 = try parse("auth: md5\n" + users)
        XCTAssertEqual(md5.users[0].credential, .md5(MD5Password.storedHash(password: "pw", user: "plain")))
        XCTAssertEqual(md5.users[1].credential, .scram(SCRAMVerifier(parsing: Self.golden)!))
        XCTAssertEqual(md5.users[2].credential, .md5(Self.md5))

        let password = try parse("auth: password\n" + users)
        XCTAssertEqual(password.users[0].credential, .plain("pw"))
        XCTAssertEqual(password.users[2].credential, .md5(Self.md5))

        // A plain password gets a fresh salt at every load.
        let again = try parse("users: [{ name: plain, password: pw }]")
        XCTAssertNotEqual(again.users[0].credential, scram.users[0].credential)
    }

    func testUnusableCredentialsAreConfigErrorsThatDoNotShowTheSecret() {
        let md5UnderSCRAM = problems("users: [{ name: app, password: \(Self.md5) }]")
        XCTAssertEqual(md5UnderSCRAM, ["users[0].password: an md5 hash cannot be checked with auth: scram-sha-256; give the password, a SCRAM verifier, or use auth: md5"])
        let broken = "SCRAM-SHA-256$4096:c2VjcmV0$c2VjcmV0:c2VjcmV0"
        let malformed = problems("users: [{ name: app, password: \"\(broken)\" }]")
        XCTAssertEqual(malformed.count, 1)
        XCTAssertTrue(malformed[0].hasPrefix("users[0].password: starts like a SCRAM verifier"), "\(malformed)")
        XCTAssertFalse(malformed[0].contains("c2VjcmV0"))
        XCTAssertEqual(problems("auth: md5"), ["users: auth is md5 but no users are configured; add users or set auth: trust"])
        XCTAssertEqual(problems("auth: trust"), [])
    }

    func testFailureDelay() throws {
        XCTAssertEqual(try parse("auth: trust\nauth_failure_delay: 250ms").authFailureDelay, 0.25)
        XCTAssertEqual(try parse("auth: trust\nauth_failure_delay: 0").authFailureDelay, 0)
        XCTAssertEqual(try parse("auth: trust\nauth_failure_delay: 2s").authFailureDelay, 2)
        XCTAssertEqual(problems("auth: trust\nauth_failure_delay: -1"), ["auth_failure_delay: expected a positive duration in seconds (\"5s\", \"500ms\")"])
        XCTAssertEqual(problems("auth: trust\nauth_failure_delay: 60s"), ["auth_failure_delay: must be at most 10s"])
    }

    func testSecretsNeverShowInDescriptions() throws {
        let config = try parse("auth: md5\nusers: [{ name: app, password: hunter2 }, { name: v, password: \"\(Self.golden)\" }]")
        for text in ["\(config)", String(reflecting: config), "\(config.users)", "\(AuthenticationSettings(config: config))"] {
            XCTAssertFalse(text.contains("hunter2"), text)
            XCTAssertFalse(text.contains("104, 117, 110, 116, 101, 114, 50"), text)
            XCTAssertFalse(text.contains("EITe"), text)
            XCTAssertFalse(text.contains(MD5Password.storedHash(password: "hunter2", user: "app").dropFirst(3)), text)
        }
    }

    func testTLSFilesAreCheckedAtLoad() throws {
        let certificate = try TestCertificate.make()
        defer { certificate.remove() }
        let config = try parse("auth: trust\ntls: { cert: \(certificate.certificatePath), key: \(certificate.keyPath) }\nrequire_tls: true")
        XCTAssertEqual(config.tls?.certificatePath, certificate.certificatePath)
        XCTAssertTrue(config.requireTLS)

        let missing = problems("auth: trust\ntls: { cert: /nonexistent/server.crt, key: \(certificate.keyPath) }")
        XCTAssertEqual(missing.count, 1)
        XCTAssertTrue(missing[0].hasPrefix("tls.cert: cannot load certificate /nonexistent/server.crt"), "\(missing)")
        let otherKey = try certificate.makeOtherKey()
        let mismatch = problems("auth: trust\ntls: { cert: \(certificate.certificatePath), key: \(otherKey) }")
        XCTAssertEqual(mismatch.count, 1)
        XCTAssertTrue(mismatch[0].hasPrefix("tls.key:"), "\(mismatch)")
        let notAKey = problems("auth: trust\ntls: { cert: \(certificate.certificatePath), key: \(certificate.certificatePath) }")
        XCTAssertTrue(notAKey.first?.hasPrefix("tls.key: cannot load private key") == true, "\(notAKey)")
        XCTAssertEqual(problems("auth: trust\ntls: { cert: \(certificate.certificatePath) }"), ["tls.key: missing"])
        XCTAssertEqual(problems("auth: trust\nrequire_tls: true"),
                       ["require_tls: require_tls is true but no tls certificate is configured; add tls: { cert: ..., key: ... }"])
        XCTAssertEqual(problems("auth: trust\nrequire_tls: yes please"), ["require_tls: expected true or false"])
    }
}
