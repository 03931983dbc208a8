/// `E`: runs a portal.
public struct Execute: Equatable, Sendable {
    /// The portal to run; empty for the unnamed portal.
    public var portal: String
    /// The most rows to return before PortalSuspended; 0 (or less) means no limit.
    public var maxRows: Int32

    /// Creates an Execute message.
    public init(portal: String, maxRows: Int32 = 0) {
        self.portal = portal
        self.maxRows = maxRows
    }

    static func decode(from reader: inout ByteReader) throws(PayloadError) -> Self {
        let portal = try reader.readCString("portal name")
        return Execute(portal: portal, maxRows: try reader.readInt32("max rows"))
    }
}

extension FrontendMessage {
    /// `E`: runs a portal.
    public typealias Execute = PGWire.Execute
}
