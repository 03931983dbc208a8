internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// An OpenSSL server context: the certificate chain and private key of `tls:`, TLS 1.2 at
/// least. Loaded once per configuration; every client TLS session is made from it.
///
/// `@unchecked Sendable`: the `SSL_CTX` is configured in `init` and only read afterwards;
/// OpenSSL allows `SSL_new` on one context from several threads at once.
final class TLSServerContext: @unchecked Sendable {
    private let context: OpaquePointer

    /// Loads a PEM certificate chain and private key; the error names the file at fault.
    init(certificatePath: String, keyPath: String) throws(TLSError) {
        // A missing or unreadable file reads better in the system's words than in OpenSSL's.
        for (path, what) in [(certificatePath, "certificate"), (keyPath, "private key")] where access(path, R_OK) != 0 {
            throw TLSError(operation: "cannot load \(what) \(path)", reason: String(cString: strerror(errno)))
        }
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw .fromQueue("cannot create a TLS context") }
        self.context = context
        guard pgshard_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            throw .fromQueue("cannot require TLS 1.2")
        }
        // Renegotiation is an old attack surface and clients do not need it; compression
        // leaks (CRIME). Session resumption is off, as in PostgreSQL: libpq does not resume.
        SSL_CTX_set_options(context, pgshard_SSL_OP_NO_RENEGOTIATION() | pgshard_SSL_OP_NO_COMPRESSION())
        _ = pgshard_SSL_CTX_set_session_cache_mode(context, pgshard_SSL_SESS_CACHE_OFF())
        _ = SSL_CTX_set_num_tickets(context, 0)
        // Partial writes let a write return what one record took; the moving buffer lets a
        // retried write pass the output buffer again after it grew (and maybe moved).
        _ = pgshard_SSL_CTX_set_mode(context, pgshard_SSL_MODE_ENABLE_PARTIAL_WRITE() | pgshard_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
            throw .fromQueue("cannot load certificate \(certificatePath)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw .fromQueue("cannot load private key \(keyPath)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw .fromQueue("private key \(keyPath) does not match certificate \(certificatePath)")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// What is wrong with the certificate's validity period now, if anything. Not an error at
    /// load (PostgreSQL loads such certificates too), but clients that verify will refuse it.
    func validityProblem() -> String? {
        guard let certificate = SSL_CTX_get0_certificate(context) else { return "no certificate loaded" }
        if X509_cmp_current_time(X509_get0_notAfter(certificate)) < 0 { return "the certificate has expired" }
        if X509_cmp_current_time(X509_get0_notBefore(certificate)) > 0 { return "the certificate is not valid yet" }
        return nil
    }

    /// A server-side TLS session over the non-blocking socket `fd`; the handshake has not started.
    func makeSession(fileDescriptor fd: Int32) throws(TLSError) -> TLSSession {
        ERR_clear_error()
        guard let ssl = SSL_new(context) else { throw .fromQueue("cannot create a TLS session") }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            throw .fromQueue("cannot attach the TLS session to the socket")
        }
        SSL_set_accept_state(ssl)
        return TLSSession(ssl: ssl)
    }

    /// OpenSSL writes to the socket with write(2), not send(MSG_NOSIGNAL): a client that reset
    /// the connection would kill the process with SIGPIPE. PostgreSQL ignores SIGPIPE too.
    static func ignoreSIGPIPE() {
        signal(SIGPIPE, SIG_IGN)
    }
}
