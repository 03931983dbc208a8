import Dispatch
import PGWire

// The parts of the startup phase that plain connections after startup never touch: the
// authentication requests, the failure delay, and TLS (handshake and the TLS-only corners of
// reading and writing). Kept out of ClientConnection.swift so the hot path stays as it is.

extension ClientConnection {
    /// Performs the authentication steps of `StartupMachine.Action`.
    func authenticationStepped(_ action: StartupMachine.Action) {
        switch action {
        case .requestCleartextPassword:
            output.authenticationCleartextPassword()
        case .requestMD5Password(let salt):
            output.authenticationMD5Password(salt: salt)
        case .requestSASL(let mechanisms):
            output.authenticationSASL(mechanisms: mechanisms)
        case .continueSASL(let challenge):
            output.authenticationSASLContinue(challenge)
        case .rejectAfterDelay(let error):
            return rejectAfterDelay(error)
        case .ignore:
            return
        case .refuseEncryption, .acceptEncryption, .authenticated, .cancel, .reject:
            preconditionFailure("not an authentication step: \(action)")
        }
        flush()
    }

    /// A wrong password or an unknown user: the error goes out after `auth_failure_delay`, the
    /// same for both, on a timer of this connection's loop (no thread sleeps).
    private func rejectAfterDelay(_ error: ErrorFields) {
        wantsInput = false
        logger.info("client authentication failed", metadata: ["sqlstate": "\(error.sqlState ?? "")"])
        let delay = context.config.authFailureDelay
        queue.schedule(after: delay) { [self] in
            guard !isClosed else { return }
            output.errorResponse(error)
            closeAfterWrite()
        }
    }

    // MARK: - TLS

    /// SSLRequest accepted: 'S' goes out in clear, then the server handshake starts.
    func startTLS() {
        guard let context = context.tls else { preconditionFailure("TLS accepted without a TLS context") }
        output.sslResponse(accepted: true)
        flush()
        // The 'S' must be on the wire before OpenSSL writes its first byte. A fresh socket
        // always takes one byte; if it did not, the client is not worth waiting for.
        guard !isClosed, output.isEmpty else {
            logger.info("client closed before the TLS handshake")
            return close()
        }
        do {
            tls = try context.makeSession(fileDescriptor: fd)
        } catch {
            logger.warning("cannot start TLS", metadata: ["error": "\(error)"])
            return close()
        }
        continueTLSHandshake()
    }

    /// Runs the handshake as far as the socket allows; called again on each socket event.
    func continueTLSHandshake() {
        guard let tls, !isClosed else { return }
        switch tls.continueHandshake() {
        case .established:
            watcher?.wantsWrite = false
            logger.debug("client TLS established", metadata: ["tls.protocol": "\(tls.protocolVersion)"])
            // The client may have sent its startup packet in the same flight as its Finished.
            socketReadable()
        case .waitsForReadable:
            watcher?.wantsWrite = false
        case .waitsForWritable:
            watcher?.wantsWrite = true
        case .failed(let error):
            logger.info("client TLS handshake failed", metadata: ["error": "\(error)"])
            close()
        }
    }

    /// The write source fired: the handshake, a TLS read that waited for it, or pending output.
    func socketWritable() {
        if let tls {
            if !tls.isEstablished { return continueTLSHandshake() }
            if tls.readWaitsForWritable { socketReadable() }
        }
        flush()
    }

    /// After the reads of one readable event on a TLS connection.
    func tlsReadFinished() {
        guard let tls, !isClosed else { return }
        if tls.readWaitsForWritable { watcher?.wantsWrite = true }
        if tls.writeWaitsForReadable, !output.isEmpty { scheduleFlush() }
        // The read loop stops after a bound; what OpenSSL already holds, the socket will not
        // signal again.
        if tls.hasBufferedInput && wantsInput { scheduleBufferedTLSRead() }
    }

    /// Reads what OpenSSL holds on a later turn of the loop (others get their turn first).
    func scheduleBufferedTLSRead() {
        queue.async { [self] in
            guard !isClosed, wantsInput, tls?.hasBufferedInput == true else { return }
            socketReadable()
        }
    }
}
