/// `B`: binds parameter values to a prepared statement, creating a portal.
///
/// The decoder checks only the layout. That the format-code counts fit the parameter and
/// column counts, and that each code is 0 or 1, is for the session to check, because
/// PostgreSQL reports those as ordinary errors of the extended-query batch.
public struct Bind: Equatable, Sendable {
    /// The portal to create; empty for the unnamed portal.
    public var portal: String
    /// The prepared statement to bind; empty for the unnamed statement.
    public var statement: String
    /// Parameter format codes (0 text, 1 binary): none (all text), one (applies to all),
    /// or one per parameter.
    public var parameterFormats: [Int16]
    /// Parameter values as sent; `nil` is SQL NULL.
    public var parameters: [[UInt8]?]
    /// Result column format codes, with the same none / one / one-per-column rule.
    public var resultFormats: [Int16]

    /// Creates a Bind message.
    public init(
        portal: String,
        statement: String,
        parameterFormats: [Int16] = [],
        parameters: [[UInt8]?] = [],
        resultFormats: [Int16] = []
    ) {
        self.portal = portal
        self.statement = statement
        self.parameterFormats = parameterFormats
        self.parameters = parameters
        self.resultFormats = resultFormats
    }

    /// The format code that applies to parameter `index` under the none / one / one-each rule,
    /// or `nil` when `parameterFormats` has a count that fits no rule.
    public func parameterFormat(at index: Int) -> Int16? {
        switch self.parameterFormats.count {
        case 0: return 0
        case 1: return self.parameterFormats[0]
        case self.parameters.count: return self.parameterFormats[index]
        default: return nil
        }
    }

    static func decode(from reader: inout ByteReader) throws(PayloadError) -> Self {
        let portal = try reader.readCString("portal name")
        let statement = try reader.readCString("statement name")
        let formatCount = Int(try reader.readUInt16("parameter format count"))
        let parameterFormats = try reader.readInt16Array(count: formatCount, "parameter format")
        let parameterCount = Int(try reader.readUInt16("parameter count"))
        var parameters: [[UInt8]?]
        if parameterCount == 1 {
            // The usual Bind of a key lookup: an array literal is cheaper than reserving and
            // appending.
            parameters = [try readParameter(from: &reader)]
        } else {
            parameters = []
            parameters.reserveCapacity(parameterCount)
            for _ in 0..<parameterCount { parameters.append(try readParameter(from: &reader)) }
        }
        let resultFormatCount = Int(try reader.readUInt16("result format count"))
        let resultFormats = try reader.readInt16Array(count: resultFormatCount, "result format")
        return Bind(
            portal: portal,
            statement: statement,
            parameterFormats: parameterFormats,
            parameters: parameters,
            resultFormats: resultFormats
        )
    }

    /// One parameter value: its length (-1 for NULL), then its bytes.
    private static func readParameter(from reader: inout ByteReader) throws(PayloadError) -> [UInt8]? {
        let length = try reader.readInt32("parameter length")
        switch length {
        case -1:
            return nil
        case 0...:
            return try reader.readBytes(Int(length), "parameter value")
        default:
            throw .invalidValue("invalid parameter length \(length)")
        }
    }
}

extension FrontendMessage {
    /// `B`: binds parameters, creating a portal.
    public typealias Bind = PGWire.Bind
}
