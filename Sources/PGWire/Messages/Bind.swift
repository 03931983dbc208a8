/// `B`: binds parameter values to a prepared statement, creating a portal.
///
/// The decoder checks only the layout. That the format-code counts fit the parameter and
/// column counts, and that each code is 0 or 1, is for the session to check, because
/// PostgreSQL reports those as ordinary errors of the extended-query batch.
///
/// Everything after the two names is kept as the client sent it (``payload``): a Bind goes on
/// to its shards with other names and the same values, in one copy and without an array made
/// per value. The format and value lists read from it are made when asked for.
public struct Bind: Equatable, Sendable {
    /// The portal to create; empty for the unnamed portal.
    public var portal: String
    /// The prepared statement to bind; empty for the unnamed statement.
    public var statement: String
    /// The message after the two names, in the protocol's layout: the parameter format count
    /// and codes, the parameter count and values (each a 32-bit length, -1 for NULL, and its
    /// bytes), the result format count and codes. Checked when decoded or made.
    public private(set) var payload: [UInt8]
    /// Where the parameter count starts in `payload`.
    public private(set) var parametersOffset: Int
    /// Where the result format count starts in `payload`.
    private var resultFormatsOffset: Int

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
        var payload: [UInt8] = []
        func uint16(_ value: Int) {
            payload.append(UInt8(truncatingIfNeeded: value >> 8))
            payload.append(UInt8(truncatingIfNeeded: value))
        }
        func uint32(_ value: UInt32) {
            for shift in stride(from: 24, through: 0, by: -8) { payload.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
        }
        uint16(parameterFormats.count)
        for format in parameterFormats { uint16(Int(UInt16(bitPattern: format))) }
        self.parametersOffset = payload.count
        uint16(parameters.count)
        for parameter in parameters {
            if let parameter {
                uint32(UInt32(truncatingIfNeeded: parameter.count))
                payload.append(contentsOf: parameter)
            } else {
                uint32(UInt32(bitPattern: -1))
            }
        }
        self.resultFormatsOffset = payload.count
        uint16(resultFormats.count)
        for format in resultFormats { uint16(Int(UInt16(bitPattern: format))) }
        self.payload = payload
    }

    /// How many parameter format codes the message has (none, one for all, or one each).
    public var parameterFormatCount: Int { uint16(at: 0) }
    /// How many parameter values the message has.
    public var parameterCount: Int { uint16(at: parametersOffset) }
    /// How many result format codes the message has.
    public var resultFormatCount: Int { uint16(at: resultFormatsOffset) }

    /// Parameter format code number `index` as sent (`index` < ``parameterFormatCount``).
    public func parameterFormatCode(_ index: Int) -> Int16 {
        precondition(index >= 0 && index < parameterFormatCount, "parameter format index out of range")
        return Int16(bitPattern: UInt16(truncatingIfNeeded: uint16(at: 2 + 2 * index)))
    }

    /// Result format code number `index` as sent (`index` < ``resultFormatCount``).
    public func resultFormatCode(_ index: Int) -> Int16 {
        precondition(index >= 0 && index < resultFormatCount, "result format index out of range")
        return Int16(bitPattern: UInt16(truncatingIfNeeded: uint16(at: resultFormatsOffset + 2 + 2 * index)))
    }

    /// Parameter format codes (0 text, 1 binary): none (all text), one (applies to all),
    /// or one per parameter.
    public var parameterFormats: [Int16] {
        get { (0..<parameterFormatCount).map(parameterFormatCode) }
        set { self = Bind(portal: portal, statement: statement, parameterFormats: newValue, parameters: parameters, resultFormats: resultFormats) }
    }

    /// Parameter values as sent; `nil` is SQL NULL.
    public var parameters: [[UInt8]?] {
        get {
            var values: [[UInt8]?] = []
            values.reserveCapacity(parameterCount)
            var offset = parametersOffset + 2
            for _ in 0..<parameterCount {
                let length = Int(Int32(bitPattern: UInt32(uint16(at: offset)) << 16 | UInt32(uint16(at: offset + 2))))
                offset += 4
                if length < 0 {
                    values.append(nil)
                } else {
                    values.append(Array(payload[offset..<offset + length]))
                    offset += length
                }
            }
            return values
        }
        set { self = Bind(portal: portal, statement: statement, parameterFormats: parameterFormats, parameters: newValue, resultFormats: resultFormats) }
    }

    /// Result column format codes, with the same none / one / one-per-column rule.
    public var resultFormats: [Int16] {
        get { (0..<resultFormatCount).map(resultFormatCode) }
        set { self = Bind(portal: portal, statement: statement, parameterFormats: parameterFormats, parameters: parameters, resultFormats: newValue) }
    }

    /// The format code that applies to parameter `index` under the none / one / one-each rule,
    /// or `nil` when `parameterFormats` has a count that fits no rule.
    public func parameterFormat(at index: Int) -> Int16? {
        switch parameterFormatCount {
        case 0: return 0
        case 1: return parameterFormatCode(0)
        case parameterCount: return parameterFormatCode(index)
        default: return nil
        }
    }

    private func uint16(at offset: Int) -> Int {
        Int(payload[offset]) << 8 | Int(payload[offset + 1])
    }

    static func decode(from reader: inout ByteReader) throws(PayloadError) -> Self {
        let portal = try reader.readCString("portal name")
        let statement = try reader.readCString("statement name")
        // The layout is checked here, once; the payload is then read without checks.
        let start = reader.index
        let formatCount = Int(try reader.readUInt16("parameter format count"))
        try reader.skip(formatCount * 2, "parameter format")
        let parametersOffset = reader.index - start
        let parameterCount = Int(try reader.readUInt16("parameter count"))
        for _ in 0..<parameterCount {
            let length = try reader.readInt32("parameter length")
            switch length {
            case -1:
                continue
            case 0...:
                try reader.skip(Int(length), "parameter value")
            default:
                throw .invalidValue("invalid parameter length \(length)")
            }
        }
        let resultFormatsOffset = reader.index - start
        let resultFormatCount = Int(try reader.readUInt16("result format count"))
        try reader.skip(resultFormatCount * 2, "result format")
        return Bind(portal: portal, statement: statement, payload: reader.bytes(from: start),
                    parametersOffset: parametersOffset, resultFormatsOffset: resultFormatsOffset)
    }

    private init(portal: String, statement: String, payload: [UInt8], parametersOffset: Int, resultFormatsOffset: Int) {
        self.portal = portal
        self.statement = statement
        self.payload = payload
        self.parametersOffset = parametersOffset
        self.resultFormatsOffset = resultFormatsOffset
    }
}

extension FrontendMessage {
    /// `B`: binds parameters, creating a portal.
    public typealias Bind = PGWire.Bind
}
