import PGWire

// The password exchanges of the startup phase. Which one a user gets follows PostgreSQL's
// CheckPWChallengeAuth: under `md5`, a user whose stored credential is an md5 hash gets MD5
// and everyone else SCRAM; under `scram-sha-256`, everyone gets SCRAM. An unknown user gets
// the same exchange as a known one, run against a mock credential and bound to fail.

extension StartupMachine {
    /// Picks and starts the exchange for `user`.
    mutating func authenticationStarted(_ startup: StartupMessage, user: String) -> Action {
        let credential = settings.credentials[user]
        switch settings.method {
        case .trust:
            enter(.finished)
            return .authenticated(startup, saslFinal: nil)
        case .password:
            enter(.authenticating(startup, .cleartext(credential)))
            return .requestCleartextPassword
        case .md5:
            switch credential {
            case .md5(let hash):
                return md5Started(startup, storedHash: hash)
            case .plain(let password):
                return md5Started(startup, storedHash: MD5Password.storedHash(password: password, user: user))
            case .scram(let verifier):
                return scramStarted(startup, verifier: verifier, doomed: false)
            case nil where settings.unknownUsersGetMD5:
                return md5Started(startup, storedHash: nil)
            case nil:
                return scramStarted(startup, verifier: .mock(user: user, secret: settings.mockSecret), doomed: true)
            }
        case .scramSHA256:
            if case .scram(let verifier) = credential {
                return scramStarted(startup, verifier: verifier, doomed: false)
            }
            // Unknown, or no SCRAM verifier: go through the motions, as PostgreSQL does.
            return scramStarted(startup, verifier: .mock(user: user, secret: settings.mockSecret), doomed: true)
        }
    }

    private mutating func md5Started(_ startup: StartupMessage, storedHash: String?) -> Action {
        let salt = MD5Password.randomSalt()
        enter(.authenticating(startup, .md5(salt: salt, storedHash: storedHash)))
        return .requestMD5Password(salt: salt)
    }

    private mutating func scramStarted(_ startup: StartupMessage, verifier: SCRAMVerifier, doomed: Bool) -> Action {
        let server = SCRAMServer(verifier: verifier, serverNonce: SCRAMServer.randomNonce(), doomed: doomed)
        enter(.authenticating(startup, .saslInitialResponse(server)))
        return .requestSASL(mechanisms: [SCRAMServer.mechanism])
    }

    /// A `p` message: decoded as the exchange in progress says.
    mutating func passwordReceived(_ payload: [UInt8], exchange: PasswordExchange, startup: StartupMessage) -> Action {
        let user = startup.user ?? ""
        do {
            switch exchange {
            case .cleartext(let credential):
                let password = try PasswordMessage.decode(payload).password
                return verdict(Self.cleartextMatches(password, credential: credential, user: user), startup: startup)
            case .md5(let salt, let storedHash):
                let response = try PasswordMessage.decode(payload).password
                // An unknown user is compared with a response no client can produce (it is
                // not "md5" + hex), so the work done is the same and the answer is no.
                let expected = storedHash.map { MD5Password.expectedResponse(storedHash: $0, salt: salt) }
                    ?? [UInt8](repeating: 0, count: 35)
                return verdict(constantTimeEqual(response, expected) && storedHash != nil, startup: startup)
            case .saslInitialResponse(var server):
                let initial = try SASLInitialResponse.decode(payload)
                guard initial.mechanism == SCRAMServer.mechanism else {
                    return protocolViolation("client selected an invalid SASL authentication mechanism")
                }
                guard let data = initial.data else {
                    // No initial response: an empty challenge asks for client-first.
                    enter(.authenticating(startup, .saslResponse(server)))
                    return .continueSASL([])
                }
                return scramStep(&server, data, startup: startup)
            case .saslResponse(var server):
                return scramStep(&server, payload, startup: startup)
            }
        } catch {
            enter(.finished)
            return .reject(error.errorFields)
        }
    }

    private mutating func scramStep(_ server: inout SCRAMServer, _ message: [UInt8], startup: StartupMessage) -> Action {
        switch server.received(message) {
        case .challenge(let serverFirst):
            enter(.authenticating(startup, .saslResponse(server)))
            return .continueSASL(serverFirst)
        case .success(let serverFinal):
            enter(.finished)
            return .authenticated(startup, saslFinal: serverFinal)
        case .wrongPassword:
            return verdict(false, startup: startup)
        case .malformed(let error):
            enter(.finished)
            return .reject(error.errorFields)
        }
    }

    private mutating func verdict(_ passed: Bool, startup: StartupMessage) -> Action {
        guard passed else {
            enter(.failed)
            return .rejectAfterDelay(.error(.invalidPassword, "password authentication failed for user \"\(startup.user ?? "")\"",
                                            severity: "FATAL"))
        }
        enter(.finished)
        return .authenticated(startup, saslFinal: nil)
    }

    /// A cleartext password against any stored form, as PostgreSQL's plain_crypt_verify.
    /// An empty password never matches (libpq treats it as no password at all).
    static func cleartextMatches(_ password: [UInt8], credential: Credential?, user: String) -> Bool {
        guard !password.isEmpty, let credential else {
            // Same work as a real comparison, bound to fail.
            _ = constantTimeEqual(password, Array("\u{0}unknown-user".utf8))
            return false
        }
        switch credential {
        case .plain(let expected):
            return constantTimeEqual(password, Array(expected.utf8))
        case .md5(let storedHash):
            return constantTimeEqual(Array(MD5Password.storedHash(passwordBytes: password, user: user).utf8), Array(storedHash.utf8))
        case .scram(let verifier):
            return verifier.matches(passwordBytes: password)
        }
    }
}
