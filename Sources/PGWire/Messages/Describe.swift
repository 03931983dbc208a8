/// `D`: asks for the description of a prepared statement (ParameterDescription, then
/// RowDescription or NoData) or of a portal (RowDescription or NoData).
public struct Describe: Equatable, Sendable {
    /// What the description is of (`Describe.Kind` is `StatementOrPortal`).
    public typealias Kind = StatementOrPortal

    /// Whether `name` is a prepared statement or a portal.
    public var kind: Kind
    /// The name; empty for the unnamed statement or portal.
    public var name: String

    /// Creates a Describe message.
    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    static func decode(from reader: inout ByteReader) throws(PayloadError) -> Self {
        let kind = try StatementOrPortal.decode(from: &reader)
        return Describe(kind: kind, name: try reader.readCString("name"))
    }
}

extension FrontendMessage {
    /// `D`: asks for a description.
    public typealias Describe = PGWire.Describe
}
