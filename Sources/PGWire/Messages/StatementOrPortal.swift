/// What a Describe or Close message names: a prepared statement or a portal.
public enum StatementOrPortal: UInt8, Equatable, Sendable {
    /// A prepared statement (`S`).
    case statement = 83  // S
    /// A portal (`P`).
    case portal = 80  // P

    static func decode(from reader: inout ByteReader) throws(PayloadError) -> Self {
        let byte = try reader.readUInt8("statement or portal")
        guard let kind = Self(rawValue: byte) else {
            throw .invalidValue("invalid statement or portal kind \(byte)")
        }
        return kind
    }
}
