internal import COpenSSL

/// A TLS failure: a certificate or key that cannot be used, or a client's handshake or
/// record that OpenSSL refused. The message is OpenSSL's reason; it never holds key material.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    /// What pgshard was doing.
    public var operation: String
    /// OpenSSL's reasons, most recent last, or the system error.
    public var reason: String

    public var description: String { reason.isEmpty ? operation : "\(operation): \(reason)" }

    /// Drains this thread's OpenSSL error queue into an error.
    static func fromQueue(_ operation: String) -> TLSError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(operation: operation, reason: reasons.joined(separator: "; "))
    }
}
