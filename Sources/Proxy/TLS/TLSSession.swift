internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// One client's TLS session over its non-blocking socket: the server handshake, then reads
/// and writes of application data. OpenSSL reads and writes the socket itself; "would block"
/// comes back as `.wouldBlock`, and which direction OpenSSL waits for is kept so the
/// connection can watch the socket for the right direction.
///
/// Confined to its connection's loop; OpenSSL's error queue is per thread, so every call
/// clears it first.
final class TLSSession {
    private let ssl: OpaquePointer
    /// The handshake finished; application data flows.
    private(set) var isEstablished = false
    /// A read could not go on until the socket is writable (OpenSSL must send first).
    private(set) var readWaitsForWritable = false
    /// A write could not go on until the socket is readable.
    private(set) var writeWaitsForReadable = false
    /// After a fatal error OpenSSL forbids SSL_shutdown.
    private var failed = false

    init(ssl: OpaquePointer) {
        self.ssl = ssl
    }

    deinit { SSL_free(ssl) }

    /// What one step of the handshake achieved.
    enum HandshakeProgress {
        case established
        case waitsForReadable
        case waitsForWritable
        case failed(TLSError)
    }

    /// Runs the server handshake as far as the socket allows.
    func continueHandshake() -> HandshakeProgress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isEstablished = true
            return .established
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .waitsForReadable
        case SSL_ERROR_WANT_WRITE: return .waitsForWritable
        default:
            failed = true
            return .failed(error("TLS handshake failed", result))
        }
    }

    /// Decrypted bytes into `buffer`: `.processed(0)` at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> IOResult {
        readWaitsForWritable = false
        ERR_clear_error()
        let result = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if result > 0 { return .processed(Int(result)) }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ:
            return .wouldBlock
        case SSL_ERROR_WANT_WRITE:
            readWaitsForWritable = true
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN:
            return .processed(0)
        default:
            failed = true
            throw error("TLS read failed", result)
        }
    }

    /// Encrypts and sends what the socket takes of `buffer` (never empty).
    func write(_ buffer: UnsafeRawBufferPointer) throws(TLSError) -> IOResult {
        writeWaitsForReadable = false
        ERR_clear_error()
        let result = SSL_write(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if result > 0 { return .processed(Int(result)) }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_WRITE:
            return .wouldBlock
        case SSL_ERROR_WANT_READ:
            writeWaitsForReadable = true
            return .wouldBlock
        default:
            failed = true
            throw error("TLS write failed", result)
        }
    }

    /// Whether OpenSSL holds input the socket will not signal again: decrypted bytes not yet
    /// read, or a record read from the socket but not yet decrypted.
    var hasBufferedInput: Bool { SSL_has_pending(ssl) == 1 }

    /// The negotiated protocol, e.g. `TLSv1.3`, for logs.
    var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Sends close_notify if the socket takes it; never waits.
    func shutdown() {
        guard isEstablished, !failed else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    private func error(_ operation: String, _ result: Int32) -> TLSError {
        let systemError = errno
        let code = SSL_get_error(ssl, result)
        var error = TLSError.fromQueue(operation)
        if error.reason.isEmpty {
            error.reason = code == SSL_ERROR_SYSCALL && systemError != 0
                ? String(cString: strerror(systemError)) : (code == SSL_ERROR_SYSCALL ? "connection closed" : "OpenSSL error \(code)")
        }
        return error
    }
}
