/// What a server stores to check SCRAM-SHA-256 logins without knowing the password: the salt,
/// the iteration count, StoredKey and ServerKey (RFC 5802 §3). Its text form is PostgreSQL's
/// `pg_authid.rolpassword`: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
///
/// Its `description` never shows the keys: a verifier is enough to mount a dictionary attack.
public struct SCRAMVerifier: Equatable, Sendable {
    /// PBKDF2 iterations; PostgreSQL's default (`scram_iterations`) is 4096.
    public var iterations: Int
    /// The salt, 16 random bytes when PostgreSQL or pgshard make it.
    public var salt: [UInt8]
    /// SHA-256(ClientKey): checks the client's proof.
    public var storedKey: [UInt8]
    /// HMAC(SaltedPassword, "Server Key"): signs the server's answer.
    public var serverKey: [UInt8]

    /// The iteration count pgshard uses for verifiers it computes, PostgreSQL's default.
    public static let defaultIterations = 4096
    /// The salt length pgshard uses, PostgreSQL's `SCRAM_DEFAULT_SALT_LEN`.
    public static let defaultSaltLength = 16
    static let prefix = "SCRAM-SHA-256$"

    public init(iterations: Int, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// Computes the verifier of `password` (SASLprep applied, as PostgreSQL does).
    public init(password: String, salt: [UInt8], iterations: Int = SCRAMVerifier.defaultIterations) {
        self.init(passwordBytes: Array(password.utf8), salt: salt, iterations: iterations)
    }

    /// Computes the verifier of a password given as raw bytes (a cleartext PasswordMessage).
    public init(passwordBytes: [UInt8], salt: [UInt8], iterations: Int) {
        let keys = SCRAMKeys(password: passwordBytes, salt: salt, iterations: iterations)
        self.init(iterations: iterations, salt: salt, storedKey: keys.storedKey, serverKey: keys.serverKey)
    }

    /// Computes the verifier of `password` with a fresh random salt.
    public static func random(password: String) -> SCRAMVerifier {
        SCRAMVerifier(password: password, salt: Crypto.randomBytes(defaultSaltLength))
    }

    /// Whether `text` starts like a SCRAM verifier (and so must parse as one).
    public static func looksLikeVerifier(_ text: String) -> Bool {
        text.hasPrefix(prefix)
    }

    /// Parses PostgreSQL's text form; nil when `text` is not exactly that.
    public init?(parsing text: String) {
        guard text.hasPrefix(Self.prefix) else { return nil }
        let rest = text.dropFirst(Self.prefix.count)
        let halves = rest.split(separator: "$", omittingEmptySubsequences: false)
        guard halves.count == 2 else { return nil }
        let parameters = halves[0].split(separator: ":", omittingEmptySubsequences: false)
        let keys = halves[1].split(separator: ":", omittingEmptySubsequences: false)
        guard parameters.count == 2, keys.count == 2,
              parameters[0].allSatisfy({ $0.isASCII && $0.isNumber }), parameters[0].count <= 9,
              let iterations = Int(parameters[0]), iterations > 0,
              let salt = Base64.decode(String(parameters[1])), !salt.isEmpty,
              let storedKey = Base64.decode(String(keys[0])), storedKey.count == 32,
              let serverKey = Base64.decode(String(keys[1])), serverKey.count == 32
        else { return nil }
        self.init(iterations: iterations, salt: salt, storedKey: storedKey, serverKey: serverKey)
    }

    /// PostgreSQL's text form, for `pg_authid.rolpassword` or pgshard's `users:`.
    public var text: String {
        "\(Self.prefix)\(iterations):\(Base64.encode(salt))$\(Base64.encode(storedKey)):\(Base64.encode(serverKey))"
    }

    /// Whether `password` (a cleartext PasswordMessage's bytes) is the password of this verifier.
    public func matches(passwordBytes: [UInt8]) -> Bool {
        let keys = SCRAMKeys(password: passwordBytes, salt: salt, iterations: iterations)
        // Both keys, as PostgreSQL's scram_verify_plain_password does.
        return constantTimeEqual(keys.storedKey + keys.serverKey, storedKey + serverKey)
    }

    /// A server secret for `mock(user:secret:)` derived from secret `material` (for instance
    /// every configured password): stable while the material is, and it does not reveal it.
    public static func mockSecret(material: [UInt8]) -> [UInt8] {
        Crypto.sha256(Array("pgshard mock secret".utf8) + [0] + material)
    }

    /// A verifier for a user that does not exist: the salt is derived from the user name and a
    /// server secret, so the same unknown name always gets the same salt (as PostgreSQL's
    /// `scram_mock_salt`), and nobody without the secret can tell it from a real one.
    public static func mock(user: String, secret: [UInt8]) -> SCRAMVerifier {
        let digest = Crypto.hmacSHA256(key: secret, Array("pgshard mock salt".utf8) + [0] + Array(user.utf8))
        let keys = Crypto.hmacSHA256(key: secret, Array("pgshard mock keys".utf8) + [0] + Array(user.utf8))
        return SCRAMVerifier(iterations: defaultIterations, salt: Array(digest.prefix(defaultSaltLength)),
                             storedKey: keys, serverKey: Crypto.sha256(keys))
    }
}

extension SCRAMVerifier: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "SCRAM-SHA-256$\(iterations):***" }
    public var debugDescription: String { description }
}

/// The keys RFC 5802 derives from a password: SaltedPassword := Hi(Normalize(password), salt, i),
/// ClientKey := HMAC(SaltedPassword, "Client Key"), StoredKey := H(ClientKey),
/// ServerKey := HMAC(SaltedPassword, "Server Key").
struct SCRAMKeys {
    var clientKey: [UInt8]
    var storedKey: [UInt8]
    var serverKey: [UInt8]

    init(password: [UInt8], salt: [UInt8], iterations: Int) {
        let salted = Crypto.pbkdf2SHA256(password: SASLprep.prepare(password), salt: salt, iterations: iterations)
        clientKey = Crypto.hmacSHA256(key: salted, Array("Client Key".utf8))
        storedKey = Crypto.sha256(clientKey)
        serverKey = Crypto.hmacSHA256(key: salted, Array("Server Key".utf8))
    }
}
