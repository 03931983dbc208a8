// Messages of the startup phase: the one-byte answer to SSLRequest/GSSENCRequest, the
// authentication exchange, and what follows AuthenticationOk (ParameterStatus,
// BackendKeyData, then ReadyForQuery).

extension BackendMessageEncoder {
    /// The answer to an SSLRequest or GSSENCRequest: the single byte `S` (go ahead with the
    /// handshake) or `N` (continue unencrypted, or close).
    ///
    /// It is not a typed message: the client reads exactly one byte, because what follows
    /// an `S` is the TLS handshake, not protocol messages.
    public mutating func sslResponse(accepted: Bool) {
        precondition(!self.hasOpenMessage, "a message is still open")
        self.writeUInt8(accepted ? UInt8(ascii: "S") : UInt8(ascii: "N"))
    }

    /// `R` AuthenticationOk: authentication succeeded.
    public mutating func authenticationOk() {
        self.authentication(code: 0)
    }

    /// `R` AuthenticationCleartextPassword: asks for the password in clear text.
    public mutating func authenticationCleartextPassword() {
        self.authentication(code: 3)
    }

    /// `R` AuthenticationMD5Password: asks for `md5(md5(password + user) + salt)`.
    public mutating func authenticationMD5Password(salt: (UInt8, UInt8, UInt8, UInt8)) {
        let start = self.beginMessage(.authentication)
        self.writeInt32(5)
        self.writeUInt8(salt.0)
        self.writeUInt8(salt.1)
        self.writeUInt8(salt.2)
        self.writeUInt8(salt.3)
        self.patchLength(at: start)
    }

    /// `R` AuthenticationMD5Password with the salt as 4 bytes.
    public mutating func authenticationMD5Password(salt: [UInt8]) {
        precondition(salt.count == 4, "an MD5 salt is 4 bytes")
        self.authenticationMD5Password(salt: (salt[0], salt[1], salt[2], salt[3]))
    }

    /// `R` AuthenticationSASL: the SASL mechanisms the server offers, in order of preference.
    public mutating func authenticationSASL(mechanisms: [String]) {
        let start = self.beginMessage(.authentication)
        self.writeInt32(10)
        for mechanism in mechanisms {
            self.writeCString(mechanism)
        }
        self.writeUInt8(0)
        self.patchLength(at: start)
    }

    /// `R` AuthenticationSASLContinue: a SASL challenge (for SCRAM, the server-first-message).
    public mutating func authenticationSASLContinue(_ data: [UInt8]) {
        let start = self.beginMessage(.authentication)
        self.writeInt32(11)
        self.writeBytes(data)
        self.patchLength(at: start)
    }

    /// `R` AuthenticationSASLFinal: the SASL outcome (for SCRAM, the server-final-message).
    public mutating func authenticationSASLFinal(_ data: [UInt8]) {
        let start = self.beginMessage(.authentication)
        self.writeInt32(12)
        self.writeBytes(data)
        self.patchLength(at: start)
    }

    /// `S` ParameterStatus: the value of a run-time parameter the client tracks
    /// (`server_version`, `client_encoding`, `DateStyle`, ...).
    public mutating func parameterStatus(name: String, value: String) {
        let start = self.beginMessage(.parameterStatus)
        self.writeCString(name)
        self.writeCString(value)
        self.patchLength(at: start)
    }

    /// `K` BackendKeyData: the key a client sends back in a CancelRequest.
    public mutating func backendKeyData(processID: Int32, secretKey: Int32) {
        let start = self.beginMessage(.backendKeyData)
        self.writeInt32(processID)
        self.writeInt32(secretKey)
        self.patchLength(at: start)
    }

    /// `v` NegotiateProtocolVersion: the client asked for a newer minor version or for
    /// `_pq_.` options; the server names the newest minor version it speaks and the options
    /// it does not know, and the session goes on with those.
    public mutating func negotiateProtocolVersion(newestMinor: Int32, unrecognizedOptions: [String]) {
        let start = self.beginMessage(.negotiateProtocolVersion)
        self.writeInt32(newestMinor)
        precondition(unrecognizedOptions.count <= Int(Int32.max))
        self.writeInt32(Int32(unrecognizedOptions.count))
        for option in unrecognizedOptions {
            self.writeCString(option)
        }
        self.patchLength(at: start)
    }

    private mutating func authentication(code: Int32) {
        let start = self.beginMessage(.authentication)
        self.writeInt32(code)
        self.patchLength(at: start)
    }
}
