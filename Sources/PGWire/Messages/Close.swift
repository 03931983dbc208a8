/// `C`: closes a prepared statement or a portal. Closing one that does not exist is not an
/// error; the server answers CloseComplete either way.
public struct Close: Equatable, Sendable {
    /// What is closed (`Close.Kind` is `StatementOrPortal`).
    public typealias Kind = StatementOrPortal

    /// Whether `name` is a prepared statement or a portal.
    public var kind: Kind
    /// The name; empty for the unnamed statement or portal.
    public var name: String

    /// Creates a Close message.
    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    static func decode(from reader: inout ByteReader) throws(PayloadError) -> Self {
        let kind = try StatementOrPortal.decode(from: &reader)
        return Close(kind: kind, name: try reader.readCString("name"))
    }
}

extension FrontendMessage {
    /// `C`: closes a statement or a portal.
    public typealias Close = PGWire.Close
}
