import PGWire

/// What the startup state machine needs from the configuration, resolved once per load:
/// credentials by user name, the secret that makes unknown users' mock salts, and the TLS rules.
struct AuthenticationSettings: Sendable, CustomStringConvertible {
    var method: ProxyConfig.AuthMethod
    var credentials: [String: Credential]
    /// Keys the mock SCRAM salts of unknown users: stable while the configured secrets are,
    /// unknown to anyone who does not know them.
    var mockSecret: [UInt8]
    /// Under `auth: md5`, whether an unknown user gets an MD5 challenge rather than SCRAM:
    /// whichever most configured users get, so unknown names blend in (PostgreSQL picks by
    /// `password_encryption` for the same reason).
    var unknownUsersGetMD5: Bool
    /// The database name clients must ask for; nil accepts any.
    var database: String?
    /// Whether SSLRequest is answered 'S'.
    var tlsAvailable: Bool
    /// Whether clients without TLS are refused.
    var requireTLS: Bool

    init(config: ProxyConfig) {
        method = config.auth
        credentials = Dictionary(config.users.map { ($0.name, $0.credential) }, uniquingKeysWith: { first, _ in first })
        var material: [UInt8] = []
        for user in config.users {
            material += Array(user.name.utf8) + [0] + Array(user.password.utf8) + [0]
        }
        // Without any configured secret, a random one: mock salts then change per start.
        mockSecret = SCRAMVerifier.mockSecret(material: config.users.isEmpty ? SecureRandom.bytes(32) : material)
        let md5Users = credentials.values.filter { if case .md5 = $0 { true } else { false } }.count
        unknownUsersGetMD5 = config.auth == .md5 && md5Users * 2 > credentials.count
        database = config.database
        tlsAvailable = config.tls != nil
        requireTLS = config.requireTLS
    }

    var description: String {
        "AuthenticationSettings(method: \(method.rawValue), users: \(credentials.keys.sorted()), tls: \(tlsAvailable), requireTLS: \(requireTLS))"
    }
}
