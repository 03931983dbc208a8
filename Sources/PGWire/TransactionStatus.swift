/// The transaction status a ReadyForQuery message reports.
public enum TransactionStatus: UInt8, Sendable {
    /// Not in a transaction block.
    case idle = 73  // I
    /// In a transaction block.
    case inTransaction = 84  // T
    /// In a failed transaction block: statements are refused until the block ends.
    case failed = 69  // E
}
