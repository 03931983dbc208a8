import PGWire

/// What pgshard checks a user's login against, as PostgreSQL's `pg_authid.rolpassword` would
/// hold it. Derived from `users[].password` once per configuration load.
enum Credential: Equatable, Sendable, CustomStringConvertible {
    /// A password kept as written; only under `auth: password` (and `trust`).
    case plain(String)
    /// `md5` + md5hex(password + user).
    case md5(String)
    /// A SCRAM-SHA-256 verifier, stored or computed from a plain password.
    case scram(SCRAMVerifier)

    var description: String {
        switch self {
        case .plain: "plain(***)"
        case .md5: "md5(***)"
        case .scram(let verifier): "scram(\(verifier))"
        }
    }

    /// Reads `password` the way PostgreSQL reads a stored password (a SCRAM verifier, an md5
    /// hash, or else plain text) and derives what `method` checks:
    ///
    /// - `scram-sha-256`: a plain password becomes a verifier (4096 iterations, random salt);
    ///   an md5 hash cannot be used (PostgreSQL would fail every login; pgshard refuses the
    ///   configuration instead).
    /// - `md5`: a plain password becomes its md5 hash (as with `password_encryption = md5`);
    ///   a SCRAM verifier stays one, and such a user logs in with SCRAM, as in PostgreSQL.
    /// - `password` and `trust`: kept as written.
    static func resolve(password: String, user: String, method: ProxyConfig.AuthMethod) throws(CredentialProblem) -> Credential {
        if SCRAMVerifier.looksLikeVerifier(password) {
            guard let verifier = SCRAMVerifier(parsing: password) else { throw .malformedVerifier }
            return .scram(verifier)
        }
        if MD5Password.isStoredHash(password) {
            guard method != .scramSHA256 else { throw .md5UnderSCRAM }
            return .md5(password)
        }
        switch method {
        case .scramSHA256: return .scram(.random(password: password))
        case .md5: return .md5(MD5Password.storedHash(password: password, user: user))
        case .password, .trust: return .plain(password)
        }
    }
}

/// Why a `users[].password` cannot be used.
enum CredentialProblem: Error {
    case malformedVerifier
    case md5UnderSCRAM

    var message: String {
        switch self {
        case .malformedVerifier:
            "starts like a SCRAM verifier but is not one; expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> as in pg_authid"
        case .md5UnderSCRAM:
            "an md5 hash cannot be checked with auth: scram-sha-256; give the password, a SCRAM verifier, or use auth: md5"
        }
    }
}

extension ProxyConfig.User {
    /// What to write in `users[].password` instead of `password`: a SCRAM-SHA-256 verifier
    /// (4096 iterations, random salt), or for `md5` the md5 hash, both exactly as PostgreSQL
    /// stores them in `pg_authid.rolpassword`.
    public static func storedPassword(_ password: String, user: String, method: ProxyConfig.AuthMethod) -> String {
        method == .md5 ? MD5Password.storedHash(password: password, user: user) : SCRAMVerifier.random(password: password).text
    }
}
