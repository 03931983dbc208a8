internal import COpenSSL

/// The few cryptographic primitives authentication needs, computed by OpenSSL: SHA-256,
/// HMAC-SHA-256, PBKDF2-HMAC-SHA-256 and MD5, plus a CSPRNG. Nothing here keeps state.
enum Crypto {
    /// SHA-256 of `data`.
    static func sha256(_ data: [UInt8]) -> [UInt8] {
        digest(data, EVP_sha256(), length: 32)
    }

    /// MD5 of `data`, for PostgreSQL's `md5` password scheme only.
    static func md5(_ data: [UInt8]) -> [UInt8] {
        digest(data, EVP_md5(), length: 16)
    }

    /// HMAC-SHA-256 of `data` under `key`.
    static func hmacSHA256(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = withBytes(key) { k, kCount in
            withBytes(data) { d, dCount in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k, Int32(kCount), d, dCount, o.baseAddress, &length)
                }
            }
        }
        precondition(ok != nil && length == 32, "HMAC-SHA-256 failed")
        return out
    }

    /// PBKDF2 with HMAC-SHA-256 (RFC 8018), 32 bytes of output: SCRAM's `Hi()`.
    static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        precondition(iterations > 0 && iterations <= Int(Int32.max), "iteration count out of range")
        var out = [UInt8](repeating: 0, count: 32)
        let ok = withBytes(password) { p, pCount in
            withBytes(salt) { s, sCount in
                out.withUnsafeMutableBufferPointer { o in
                    p.withMemoryRebound(to: CChar.self, capacity: max(pCount, 1)) { chars in
                        PKCS5_PBKDF2_HMAC(chars, Int32(pCount), s, Int32(sCount), Int32(iterations), EVP_sha256(), 32, o.baseAddress)
                    }
                }
            }
        }
        precondition(ok == 1, "PBKDF2 failed")
        return out
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        // Why a crash: without randomness every nonce and salt would be predictable.
        precondition(ok == 1, "RAND_bytes failed: the system has no usable source of randomness")
        return out
    }

    private static func digest(_ data: [UInt8], _ type: OpaquePointer?, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        let ok = withBytes(data) { d, count in
            out.withUnsafeMutableBufferPointer { o in
                EVP_Digest(d, count, o.baseAddress, &written, type, nil)
            }
        }
        precondition(ok == 1 && Int(written) == length, "digest failed")
        return out
    }

    /// Calls `body` with a pointer that is never nil, even for no bytes: OpenSSL reads a null
    /// key as "keep the previous key" in places.
    private static func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        if bytes.isEmpty {
            return [UInt8(0)].withUnsafeBufferPointer { body($0.baseAddress!, 0) }
        }
        return bytes.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference: UInt8 = a.count == b.count ? 0 : 1
    for i in 0..<max(a.count, b.count) {
        difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
    }
    return difference == 0
}
