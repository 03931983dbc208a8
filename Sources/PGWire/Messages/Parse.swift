/// `P`: creates a prepared statement from one SQL statement.
public struct Parse: Equatable, Sendable {
    /// The name of the prepared statement; empty for the unnamed statement.
    public var name: String
    /// The SQL text, with parameters `$1`, `$2`, ...
    public var query: String
    /// Type OIDs the client fixes for the first parameters; 0 leaves a type to the server.
    /// There may be fewer than the statement has parameters.
    public var parameterTypeOIDs: [UInt32]

    /// Creates a Parse message.
    public init(name: String, query: String, parameterTypeOIDs: [UInt32] = []) {
        self.name = name
        self.query = query
        self.parameterTypeOIDs = parameterTypeOIDs
    }

    static func decode(from reader: inout ByteReader) throws(PayloadError) -> Self {
        let name = try reader.readCString("statement name")
        let query = try reader.readCString("query")
        let count = Int(try reader.readUInt16("parameter type count"))
        var oids = [UInt32]()
        oids.reserveCapacity(count)
        for _ in 0..<count {
            oids.append(try reader.readUInt32("parameter type"))
        }
        return Parse(name: name, query: query, parameterTypeOIDs: oids)
    }
}

extension FrontendMessage {
    /// `P`: creates a prepared statement.
    public typealias Parse = PGWire.Parse
}
