import PGWire

/// The startup phase of a client connection as a pure state machine: SSL/GSSAPI negotiation,
/// the StartupMessage, password authentication (SCRAM-SHA-256, MD5, cleartext). It decides;
/// `ClientConnection` performs.
struct StartupMachine {
    /// Where the handshake is.
    enum State: Equatable {
        /// Waiting for SSLRequest, GSSENCRequest, CancelRequest or StartupMessage.
        case awaitingStartup
        /// An authentication request was sent; waiting for the client's `p` message.
        case authenticating(StartupMessage, PasswordExchange)
        /// The password was wrong or the user unknown: the error goes out after the failure
        /// delay; anything the client sends meanwhile is ignored.
        case failed
        /// The client is authenticated (or was turned away); no more startup messages.
        case finished
    }

    /// The exchange in progress; it says how to read the next `p` message.
    enum PasswordExchange: Equatable {
        /// AuthenticationCleartextPassword was sent: a PasswordMessage comes. Nil: unknown user.
        case cleartext(Credential?)
        /// AuthenticationMD5Password was sent with `salt`: a PasswordMessage with the MD5
        /// response comes. Nil: unknown user.
        case md5(salt: [UInt8], storedHash: String?)
        /// AuthenticationSASL was sent: a SASLInitialResponse comes.
        case saslInitialResponse(SCRAMServer)
        /// AuthenticationSASLContinue was sent: a SASLResponse comes.
        case saslResponse(SCRAMServer)
    }

    /// What the I/O shell must do next.
    enum Action: Equatable {
        /// Answer an SSLRequest or GSSENCRequest with the single byte 'N': continue unencrypted.
        case refuseEncryption
        /// Answer an SSLRequest with the single byte 'S', then run the TLS handshake; the
        /// startup packet follows inside TLS.
        case acceptEncryption
        /// Send AuthenticationCleartextPassword.
        case requestCleartextPassword
        /// Send AuthenticationMD5Password with this salt.
        case requestMD5Password(salt: [UInt8])
        /// Send AuthenticationSASL offering these mechanisms.
        case requestSASL(mechanisms: [String])
        /// Send AuthenticationSASLContinue with this challenge.
        case continueSASL([UInt8])
        /// Authentication succeeded: send AuthenticationSASLFinal with `saslFinal` if given,
        /// then AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery, and start
        /// the session.
        case authenticated(StartupMessage, saslFinal: [UInt8]?)
        /// A CancelRequest: cancel that session's statement and close this connection silently.
        case cancel(CancelRequest)
        /// Send this error and close the connection.
        case reject(ErrorFields)
        /// Wait for the failure delay, then send this error and close. The same for a wrong
        /// password and an unknown user, so neither timing nor text tells them apart.
        case rejectAfterDelay(ErrorFields)
        /// Nothing to do.
        case ignore
    }

    private(set) var state: State = .awaitingStartup
    /// Whether TLS was negotiated on this connection.
    private(set) var isEncrypted = false
    let settings: AuthenticationSettings

    init(settings: AuthenticationSettings) {
        self.settings = settings
    }

    /// The next message of the startup phase. `bufferedBytes` is how many bytes the client
    /// sent after this message that are not decoded yet.
    mutating func received(_ message: FrontendMessage, bufferedBytes: Int = 0) -> Action {
        switch (state, message) {
        case (.awaitingStartup, .sslRequest):
            return sslRequestReceived(bufferedBytes: bufferedBytes)
        case (.awaitingStartup, .gssEncRequest):
            // Why 'N': GSSAPI encryption is not offered; libpq then tries SSL or goes on in
            // plain text. Inside TLS it would be a second negotiation.
            guard !isEncrypted else { return protocolViolation("unexpected GSSENCRequest inside TLS") }
            return .refuseEncryption
        case (.awaitingStartup, .cancelRequest(let request)):
            state = .finished
            return .cancel(request)
        case (.awaitingStartup, .startup(let startup)):
            return startupReceived(startup)
        case (.authenticating(let startup, let exchange), .password(let payload)):
            return passwordReceived(payload, exchange: exchange, startup: startup)
        case (.failed, _):
            return .ignore
        default:
            return protocolViolation("unexpected message during startup")
        }
    }

    private mutating func sslRequestReceived(bufferedBytes: Int) -> Action {
        guard settings.tlsAvailable else {
            // Why 'N': no certificate is configured; libpq then continues in plain text
            // (sslmode=prefer) or gives up itself (sslmode=require).
            return .refuseEncryption
        }
        guard !isEncrypted else { return protocolViolation("unexpected SSLRequest inside TLS") }
        // Bytes sent after SSLRequest but before the 'S' were not encrypted: a man in the
        // middle could have injected them (CVE-2021-23214). PostgreSQL refuses them too.
        guard bufferedBytes == 0 else { return protocolViolation("received unencrypted data after SSL request") }
        isEncrypted = true
        return .acceptEncryption
    }

    private mutating func startupReceived(_ startup: StartupMessage) -> Action {
        guard let user = startup.user, !user.isEmpty else {
            state = .finished
            return .reject(.error(.invalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet", severity: "FATAL"))
        }
        if startup.parameters.contains(where: { $0.name == "replication" && $0.value != "false" && $0.value != "off" && $0.value != "0" }) {
            state = .finished
            return .reject(.error(.featureNotSupported, "replication connections are not supported by pgshard",
                                  hint: "connect replication clients to a shard directly", severity: "FATAL"))
        }
        let requested = startup.database ?? user
        if settings.requireTLS && !isEncrypted {
            // Like a pg_hba.conf with only hostssl lines: 28000 with "no encryption".
            state = .finished
            return .reject(.error(.invalidAuthorizationSpecification,
                                  "unencrypted connection refused for user \"\(user)\", database \"\(requested)\", no encryption",
                                  hint: "pgshard requires TLS (require_tls); connect with sslmode=require or stronger", severity: "FATAL"))
        }
        if let database = settings.database, requested != database, requested != ClientSession.adminDatabase {
            state = .finished
            return .reject(.error(.invalidCatalogName, "database \"\(requested)\" does not exist",
                                  hint: "pgshard serves the database \"\(database)\"", severity: "FATAL"))
        }
        return authenticationStarted(startup, user: user)
    }

    mutating func protocolViolation(_ message: String) -> Action {
        state = .finished
        return .reject(.error(.protocolViolation, message, severity: "FATAL"))
    }

    mutating func enter(_ newState: State) {
        state = newState
    }
}
