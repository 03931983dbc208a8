/// A five-character SQLSTATE error code, as sent in the `C` field of an ErrorResponse.
///
/// The named codes are PostgreSQL's (Appendix A of its manual), under PostgreSQL's names.
public struct SQLState: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The five characters of the code.
    public var rawValue: String

    /// Creates a code from its five characters; the value is not checked.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Creates a code from a literal such as `"0A000"`.
    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    /// The error class: the first two characters.
    public var errorClass: Substring { self.rawValue.prefix(2) }

    public var description: String { self.rawValue }
}

extension SQLState {
    // Class 00 — Successful Completion
    public static let successfulCompletion: SQLState = "00000"
    // Class 01 — Warning
    public static let warning: SQLState = "01000"
    // Class 08 — Connection Exception
    public static let connectionException: SQLState = "08000"
    public static let connectionDoesNotExist: SQLState = "08003"
    public static let connectionFailure: SQLState = "08006"
    public static let sqlclientUnableToEstablishSQLConnection: SQLState = "08001"
    public static let sqlserverRejectedEstablishmentOfSQLConnection: SQLState = "08004"
    public static let protocolViolation: SQLState = "08P01"
    // Class 0A — Feature Not Supported
    public static let featureNotSupported: SQLState = "0A000"
    // Class 21 — Cardinality Violation
    public static let cardinalityViolation: SQLState = "21000"
    // Class 22 — Data Exception
    public static let dataException: SQLState = "22000"
    public static let stringDataRightTruncation: SQLState = "22001"
    public static let numericValueOutOfRange: SQLState = "22003"
    public static let nullValueNotAllowed: SQLState = "22004"
    public static let invalidDatetimeFormat: SQLState = "22007"
    public static let datetimeFieldOverflow: SQLState = "22008"
    public static let divisionByZero: SQLState = "22012"
    public static let characterNotInRepertoire: SQLState = "22021"
    public static let invalidParameterValue: SQLState = "22023"
    public static let invalidTextRepresentation: SQLState = "22P02"
    public static let invalidBinaryRepresentation: SQLState = "22P03"
    // Class 23 — Integrity Constraint Violation
    public static let integrityConstraintViolation: SQLState = "23000"
    public static let notNullViolation: SQLState = "23502"
    public static let foreignKeyViolation: SQLState = "23503"
    public static let uniqueViolation: SQLState = "23505"
    public static let checkViolation: SQLState = "23514"
    public static let exclusionViolation: SQLState = "23P01"
    // Class 24 — Invalid Cursor State
    public static let invalidCursorState: SQLState = "24000"
    // Class 25 — Invalid Transaction State
    public static let invalidTransactionState: SQLState = "25000"
    public static let activeSQLTransaction: SQLState = "25001"
    public static let readOnlySQLTransaction: SQLState = "25006"
    public static let noActiveSQLTransaction: SQLState = "25P01"
    public static let inFailedSQLTransaction: SQLState = "25P02"
    public static let idleInTransactionSessionTimeout: SQLState = "25P03"
    // Class 26 — Invalid SQL Statement Name
    public static let invalidSQLStatementName: SQLState = "26000"
    // Class 28 — Invalid Authorization Specification
    public static let invalidAuthorizationSpecification: SQLState = "28000"
    public static let invalidPassword: SQLState = "28P01"
    // Class 34 — Invalid Cursor Name
    public static let invalidCursorName: SQLState = "34000"
    // Class 3D — Invalid Catalog Name
    public static let invalidCatalogName: SQLState = "3D000"
    // Class 3F — Invalid Schema Name
    public static let invalidSchemaName: SQLState = "3F000"
    // Class 40 — Transaction Rollback
    public static let transactionRollback: SQLState = "40000"
    public static let serializationFailure: SQLState = "40001"
    public static let deadlockDetected: SQLState = "40P01"
    // Class 42 — Syntax Error or Access Rule Violation
    public static let syntaxErrorOrAccessRuleViolation: SQLState = "42000"
    public static let syntaxError: SQLState = "42601"
    public static let insufficientPrivilege: SQLState = "42501"
    public static let ambiguousColumn: SQLState = "42702"
    public static let undefinedColumn: SQLState = "42703"
    public static let undefinedObject: SQLState = "42704"
    public static let datatypeMismatch: SQLState = "42804"
    public static let undefinedFunction: SQLState = "42883"
    public static let undefinedTable: SQLState = "42P01"
    public static let undefinedParameter: SQLState = "42P02"
    public static let duplicateCursor: SQLState = "42P03"
    public static let duplicateDatabase: SQLState = "42P04"
    public static let duplicatePreparedStatement: SQLState = "42P05"
    public static let duplicateSchema: SQLState = "42P06"
    public static let duplicateTable: SQLState = "42P07"
    public static let duplicateObject: SQLState = "42710"
    public static let invalidColumnReference: SQLState = "42P10"
    public static let invalidPreparedStatementDefinition: SQLState = "42P14"
    public static let indeterminateDatatype: SQLState = "42P18"
    // Class 53 — Insufficient Resources
    public static let insufficientResources: SQLState = "53000"
    public static let diskFull: SQLState = "53100"
    public static let outOfMemory: SQLState = "53200"
    public static let tooManyConnections: SQLState = "53300"
    public static let configurationLimitExceeded: SQLState = "53400"
    // Class 54 — Program Limit Exceeded
    /// 54000, PostgreSQL's `program_limit_exceeded`.
    public static let programLimitExceeded: SQLState = "54000"
    /// 54001: what PostgreSQL raises for a statement too deep to process ("stack depth limit
    /// exceeded"), and what pgshard raises for a statement over its size or depth limits.
    public static let statementTooComplex: SQLState = "54001"
    public static let tooManyArguments: SQLState = "54023"
    // Class 55 — Object Not In Prerequisite State
    public static let objectNotInPrerequisiteState: SQLState = "55000"
    public static let lockNotAvailable: SQLState = "55P03"
    // Class 57 — Operator Intervention
    public static let operatorIntervention: SQLState = "57000"
    public static let queryCanceled: SQLState = "57014"
    public static let adminShutdown: SQLState = "57P01"
    public static let crashShutdown: SQLState = "57P02"
    public static let cannotConnectNow: SQLState = "57P03"
    public static let idleSessionTimeout: SQLState = "57P05"
    // Class 58 — System Error
    public static let systemError: SQLState = "58000"
    public static let ioError: SQLState = "58030"
    // Class F0 — Configuration File Error
    public static let configFileError: SQLState = "F0000"
    // Class XX — Internal Error
    public static let internalError: SQLState = "XX000"
}
