/// PostgreSQL's `md5` password scheme: the server stores `"md5" + md5hex(password + user)`;
/// at login it sends a 4-byte salt and the client answers
/// `"md5" + md5hex(md5hex(password + user) + salt)`.
///
/// MD5 is broken as a hash; PostgreSQL keeps the scheme for old clients and so does pgshard.
public enum MD5Password {
    /// The stored form of `password` for `user`, as `pg_authid.rolpassword` holds it.
    public static func storedHash(password: String, user: String) -> String {
        storedHash(passwordBytes: Array(password.utf8), user: user)
    }

    /// The stored form of a password given as bytes (a cleartext PasswordMessage).
    public static func storedHash(passwordBytes: [UInt8], user: String) -> String {
        "md5" + hex(Crypto.md5(passwordBytes + Array(user.utf8)))
    }

    /// Whether `text` is a stored MD5 hash: `md5` and 32 lowercase hex digits (PostgreSQL's test).
    public static func isStoredHash(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        return utf8.count == 35 && text.hasPrefix("md5")
            && utf8.dropFirst(3).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// What a client must answer to `salt` when the stored hash is `storedHash`.
    public static func expectedResponse(storedHash: String, salt: [UInt8]) -> [UInt8] {
        Array(("md5" + hex(Crypto.md5(Array(storedHash.utf8.dropFirst(3)) + salt))).utf8)
    }

    /// A fresh 4-byte salt for AuthenticationMD5Password.
    public static func randomSalt() -> [UInt8] {
        Crypto.randomBytes(4)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Random bytes from OpenSSL's CSPRNG, for nonces, salts and secrets.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Crypto.randomBytes(count)
    }
}
