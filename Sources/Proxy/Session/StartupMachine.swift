import PGWire

/// The startup phase of a client connection as a pure state machine: SSL/GSSAPI negotiation,
/// the StartupMessage, password authentication. It decides; `ClientConnection` performs.
struct StartupMachine {
    /// Where the handshake is.
    enum State: Equatable {
        /// Waiting for SSLRequest, GSSENCRequest, CancelRequest or StartupMessage.
        case awaitingStartup
        /// AuthenticationCleartextPassword was sent; waiting for the password.
        case awaitingPassword(StartupMessage)
        /// The client is authenticated (or was turned away); no more startup messages.
        case finished
    }

    /// What the I/O shell must do next.
    enum Action: Equatable {
        /// Answer an SSLRequest or GSSENCRequest with the single byte 'N': continue unencrypted.
        case refuseEncryption
        /// Send AuthenticationCleartextPassword.
        case requestPassword
        /// Authentication succeeded: send AuthenticationOk, ParameterStatus, BackendKeyData,
        /// ReadyForQuery, and start the session.
        case authenticated(StartupMessage)
        /// A CancelRequest: cancel that session's statement and close this connection silently.
        case cancel(CancelRequest)
        /// Send this error and close the connection.
        case reject(ErrorFields)
    }

    private(set) var state: State = .awaitingStartup
    let auth: ProxyConfig.AuthMethod
    let users: [ProxyConfig.User]
    let database: String?

    init(auth: ProxyConfig.AuthMethod, users: [ProxyConfig.User], database: String?) {
        self.auth = auth
        self.users = users
        self.database = database
    }

    mutating func received(_ message: FrontendMessage) -> Action {
        switch (state, message) {
        case (.awaitingStartup, .sslRequest), (.awaitingStartup, .gssEncRequest):
            // Why 'N': TLS termination is not built yet; libpq then continues in plain text
            // (sslmode=prefer) or gives up itself (sslmode=require).
            return .refuseEncryption
        case (.awaitingStartup, .cancelRequest(let request)):
            state = .finished
            return .cancel(request)
        case (.awaitingStartup, .startup(let startup)):
            return startupReceived(startup)
        case (.awaitingPassword(let startup), .password(let payload)):
            state = .finished
            return passwordReceived(payload, startup: startup)
        default:
            state = .finished
            return .reject(.error(.protocolViolation, "unexpected message during startup"))
        }
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
        if let database, requested != database {
            state = .finished
            return .reject(.error(.invalidCatalogName, "database \"\(requested)\" does not exist",
                                  hint: "pgshard serves the database \"\(database)\"", severity: "FATAL"))
        }
        switch auth {
        case .trust:
            state = .finished
            return .authenticated(startup)
        case .password:
            state = .awaitingPassword(startup)
            return .requestPassword
        }
    }

    private func passwordReceived(_ payload: [UInt8], startup: StartupMessage) -> Action {
        // PasswordMessage: the password as a NUL-terminated string.
        let bytes = payload.last == 0 ? payload.dropLast() : payload[...]
        let user = startup.user ?? ""
        let expected = users.first { $0.name == user }?.password
        // Compare against something even for unknown users, so timing does not reveal them.
        let matches = constantTimeEqual(Array(bytes), Array((expected ?? "\u{0}unknown-user").utf8))
        guard matches, expected != nil else {
            return .reject(.error(.invalidPassword, "password authentication failed for user \"\(user)\"", severity: "FATAL"))
        }
        return .authenticated(startup)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for i in 0..<max(a.count, b.count) {
        difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
    }
    return difference == 0
}
