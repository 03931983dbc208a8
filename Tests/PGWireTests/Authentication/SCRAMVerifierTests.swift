@testable import PGWire
import XCTest

final class SCRAMVerifierTests: XCTestCase {
    /// From a live PostgreSQL 15.18:
    /// `SET password_encryption = 'scram-sha-256'; CREATE ROLE golden_app PASSWORD 'pencil-42';`
    /// `SELECT rolpassword FROM pg_authid WHERE rolname = 'golden_app';`
    static let golden = "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==$EITeZ0VJWhv6JZt2//doyHx+42MWcQ59HgeQ2j0Hv7c=:KIxq2U7NH6FRFZkauJY6gRHWk7pf1Q2CuuBYKWATeGs="

    func testPostgreSQLVerifierParsesAndRoundTrips() throws {
        let verifier = try XCTUnwrap(SCRAMVerifier(parsing: Self.golden))
        XCTAssertEqual(verifier.iterations, 4096)
        XCTAssertEqual(verifier.salt.count, 16)
        XCTAssertEqual(verifier.text, Self.golden)
        // The same salt and iterations give PostgreSQL's keys.
        XCTAssertEqual(SCRAMVerifier(password: "pencil-42", salt: verifier.salt, iterations: 4096), verifier)
    }

    func testPostgreSQLVerifierAcceptsTheRightPasswordOnly() throws {
        let verifier = try XCTUnwrap(SCRAMVerifier(parsing: Self.golden))
        var right = SCRAMServer(verifier: verifier, serverNonce: SCRAMServer.randomNonce())
        guard case .success = SCRAMTestClient(password: "pencil-42").run(against: &right) else { return XCTFail() }
        var wrong = SCRAMServer(verifier: verifier, serverNonce: SCRAMServer.randomNonce())
        XCTAssertEqual(SCRAMTestClient(password: "pencil-43").run(against: &wrong), .wrongPassword)
        XCTAssertTrue(verifier.matches(passwordBytes: Array("pencil-42".utf8)))
        XCTAssertFalse(verifier.matches(passwordBytes: Array("Pencil-42".utf8)))
        XCTAssertFalse(verifier.matches(passwordBytes: []))
    }

    /// Verifiers PostgreSQL 15.18 computed for passwords SASLprep changes or refuses (then the
    /// raw bytes are hashed): `CREATE ROLE prep_x PASSWORD U&'...'` under scram-sha-256.
    func testSASLprepMatchesPostgreSQL() throws {
        let cases: [(password: String, alsoMatches: String?, verifier: String)] = [
            ("I\u{AD}X", "IX", "SCRAM-SHA-256$4096:d4T4u2F8AhY/7by2Uj+kpA==$WKtLTD1v2V8b0XZ/sdWW53Zj7r04ujo0/r5Sa2xwNaw=:N7ia3uSxBrLbQPy6PpE93GSeYrxVyba9EmXS2cOOYt4="),
            ("\u{2168}", "IX", "SCRAM-SHA-256$4096:D8KUIKS29HmssbHTCacDCw==$B5sgGpUWpg5dimRKhoCsoGjYqgI+xt932J+SS02aVYM=:aR2773V485znCB/adrtYr6TVf8MyzDLMnSadZUchZoE="),
            ("a\u{A0}b", "a b", "SCRAM-SHA-256$4096:OZ0D/zz4LEP59K1fecOPZg==$829Sx5ITdBt+F+5mXvVmi7PrtyEgVyO7ZJvboJDBRNo=:gM1UOVn+5lT52lowNZ/dukfeZbOeJX3SHwh6ABv40b8="),
            ("\u{627}\u{31}", nil, "SCRAM-SHA-256$4096:C6iihofbsd1FgYOeFSqRHw==$PEG9Aa1Zif8WJB5TP8/aR38qQPq6X6peBmKd0D2L3y8=:NQkJr1M3LjL2vO/WrbZqF2DXD84XLec3JurjPr81UhM="),
            ("\u{5D0}a\u{5D0}", nil, "SCRAM-SHA-256$4096:7pkBd5gPM/Ld8Rr00QPKkw==$WUp7XL7HxkSsOxneED4DZXMzRiIrl3UZ+/JruJYgbBI=:ce3stOddmPahjETq5Nu1GIxD61mywmFr7ZQTuzJDe1w="),
            ("cafe\u{301}", "caf\u{E9}", "SCRAM-SHA-256$4096:iDbmdnpAR9PzhUfV8/7EbA==$fa4KccSXVmVvsHbpPjeUKMd66diTwFwtX11oJt3djhI=:KarfCdxcNcNwD8iPsUn9QE2bWjNFm5xK40HUX0a826U="),
            ("\u{E000}x", nil, "SCRAM-SHA-256$4096:WYHA+wY89eDjNJzcl/6sQQ==$WDNO/3kbbQMMUdZY2NuiQRKR1Dlk9Xy++CH8nW1xQqg=:saPV3U3DSVS5lveoIpUswPoF97rcFZJVXdjKvNs0F4c="),
            ("ab\u{7}", nil, "SCRAM-SHA-256$4096:0jEnbM0h5rKp1HwpnVqlNQ==$FLO8/N8oz4r7jfSa008cBiLqzFDYG7/eSeqRyRytmW8=:EYsnpi1dWyj1WEovZyF1oys3LKevS2YwCb0jKJw3qgY="),
            ("\u{AD}", nil, "SCRAM-SHA-256$4096:oRkn3qy6qd0yWDbYSrnROg==$wnMPpbUEoAZZ3IjWnHOzm8+YfVUl9fyaGC4E9C9HkBU=:3LElc4HCue5jq9Nd61Nwhj3XbUmST1rDdbe67JGGxJ0="),
            ("\u{5D0}\u{5D1}", nil, "SCRAM-SHA-256$4096:Q0J/FVBrbdYOYzQ69Zq7iQ==$bzGmUT3bn+qOTM5jvVqHT3AI5Zwki0KHE1cAOnT/3TE=:fOc1V6CCQpsk7K5iXDJ/NNVNcI0Zo8YWR8TFF/O/Ehg="),
            ("a\u{221}", nil, "SCRAM-SHA-256$4096:rrKzx9xG9NSEmw/3bcJWUQ==$LfiFf+0X2p0dvjUvKV4IkZcVowwMnov5gqessuwVq/0=:s3bN9dnsq7n/fGSbGEW5TvirJPgy6exUbLFexHx+LOc="),
            ("a\u{200B}b", nil, "SCRAM-SHA-256$4096:sM31YyYWm9AdjMSdtE16xA==$0RtRzFs3LbwzeDXjYujLYk2oO7374uky43XplggbKfk=:DUmYVyzwGOHJl1YUuBIz6RXN3/4O292nBee3yN19cV4="),
        ]
        for (password, alsoMatches, text) in cases {
            let verifier = try XCTUnwrap(SCRAMVerifier(parsing: text))
            XCTAssertTrue(verifier.matches(passwordBytes: Array(password.utf8)), "\(password.unicodeScalars.map { String($0.value, radix: 16) })")
            if let alsoMatches {
                XCTAssertTrue(verifier.matches(passwordBytes: Array(alsoMatches.utf8)), alsoMatches)
            }
            XCTAssertEqual(SCRAMVerifier(password: password, salt: verifier.salt, iterations: verifier.iterations), verifier)
        }
    }

    func testMalformedVerifiersAreRefused() {
        let keys = "EITeZ0VJWhv6JZt2//doyHx+42MWcQ59HgeQ2j0Hv7c=:KIxq2U7NH6FRFZkauJY6gRHWk7pf1Q2CuuBYKWATeGs="
        for text in [
            "", "SCRAM-SHA-256$", "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==", "scram-sha-256$4096:Y/sOaJcluW7H+ux832YxAA==$\(keys)",
            "SCRAM-SHA-256$0:Y/sOaJcluW7H+ux832YxAA==$\(keys)", "SCRAM-SHA-256$-1:Y/sOaJcluW7H+ux832YxAA==$\(keys)",
            "SCRAM-SHA-256$x:Y/sOaJcluW7H+ux832YxAA==$\(keys)", "SCRAM-SHA-256$4096::$\(keys)",
            "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA=$\(keys)", "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==$\(keys):x",
            "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==$EITe:KIxq", "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==$\(keys)$",
            "SCRAM-SHA-256$4096:Y/sOaJcluW7H+ux832YxAA==$ \(keys)",
        ] {
            XCTAssertNil(SCRAMVerifier(parsing: text), text)
        }
    }

    func testDescriptionHidesKeys() throws {
        let verifier = try XCTUnwrap(SCRAMVerifier(parsing: SCRAMVerifierTests.golden))
        for text in ["\(verifier)", String(reflecting: verifier), "\([verifier])"] {
            XCTAssertFalse(text.contains("EITe"), text)
            XCTAssertFalse(text.contains("Y/sO"), text)
        }
    }

    func testBase64IsStrict() {
        for bytes in [[], [0], [0, 1], [0, 1, 2], [255, 254, 253, 252], Array(0...255)] as [[UInt8]] {
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
        XCTAssertEqual(Base64.encode(Array("n,,".utf8)), "biws")
        for text in ["biw", "biws=", "bi=s", "b===", "biv=", "bg=x", "bh==", "bi w", "biws\n", "bi-_"] {
            XCTAssertNil(Base64.decode(text), text)
        }
        XCTAssertEqual(Base64.decode("bg=="), [0x6E])
        XCTAssertEqual(Base64.decode("biw="), Array("n,".utf8))
    }
}
