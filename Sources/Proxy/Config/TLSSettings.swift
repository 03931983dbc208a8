/// `tls:` in the configuration: where the server certificate and key are, loaded and checked
/// when the configuration is read, so a bad file is a configuration error, not a failed login.
public struct TLSSettings: Sendable, Equatable {
    /// PEM file with the server certificate, optionally followed by intermediate certificates.
    public var certificatePath: String
    /// PEM file with the certificate's private key (unencrypted).
    public var keyPath: String
    /// The loaded OpenSSL context.
    let context: TLSServerContext

    /// Loads and checks the certificate and key.
    public init(certificatePath: String, keyPath: String) throws(TLSError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.context = try TLSServerContext(certificatePath: certificatePath, keyPath: keyPath)
    }

    public static func == (lhs: TLSSettings, rhs: TLSSettings) -> Bool {
        lhs.certificatePath == rhs.certificatePath && lhs.keyPath == rhs.keyPath
    }
}
