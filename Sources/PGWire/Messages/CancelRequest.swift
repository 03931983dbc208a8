/// The key of the session whose running query a CancelRequest asks to cancel: the values the
/// server gave that session in BackendKeyData.
public struct CancelRequest: Equatable, Sendable {
    /// The process ID from BackendKeyData.
    public var processID: Int32
    /// The secret key from BackendKeyData.
    public var secretKey: Int32

    /// Creates a cancel request.
    public init(processID: Int32, secretKey: Int32) {
        self.processID = processID
        self.secretKey = secretKey
    }
}
