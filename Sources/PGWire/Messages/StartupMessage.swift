/// The untyped first packet of a session: the protocol version the client speaks and its
/// connection parameters (`user`, `database`, `application_name`, `options`, GUCs, and
/// `_pq_.` protocol options, all kept in the order the client sent them).
public struct StartupMessage: Equatable, Sendable {
    /// The major protocol version; the decoder only returns messages with major version 3.
    public var protocolMajor: UInt16
    /// The minor protocol version the client asked for. A minor version above the one pgshard
    /// speaks is not an error: the session answers NegotiateProtocolVersion.
    public var protocolMinor: UInt16
    /// Name/value pairs in wire order. Names may repeat; as in PostgreSQL the last one wins.
    public var parameters: [(name: String, value: String)]

    /// Creates a startup message.
    public init(protocolMajor: UInt16 = 3, protocolMinor: UInt16 = 0, parameters: [(name: String, value: String)]) {
        self.protocolMajor = protocolMajor
        self.protocolMinor = protocolMinor
        self.parameters = parameters
    }

    /// The value of the last parameter named `name`, if any.
    public func parameter(_ name: String) -> String? {
        self.parameters.last(where: { $0.name == name })?.value
    }

    /// The `user` parameter. PostgreSQL refuses a startup packet without one (SQLSTATE 28000).
    public var user: String? { self.parameter("user") }

    /// The `database` parameter as sent; when it is absent PostgreSQL uses the user name.
    public var database: String? { self.parameter("database") }

    /// Names of the `_pq_.` protocol options the client asked for. pgshard supports none, so
    /// each one goes back in NegotiateProtocolVersion's list of unrecognized options.
    public var protocolOptions: [String] {
        self.parameters.compactMap { $0.name.hasPrefix("_pq_.") ? $0.name : nil }
    }

    public static func == (lhs: StartupMessage, rhs: StartupMessage) -> Bool {
        lhs.protocolMajor == rhs.protocolMajor
            && lhs.protocolMinor == rhs.protocolMinor
            && lhs.parameters.elementsEqual(rhs.parameters, by: { $0.name == $1.name && $0.value == $1.value })
    }
}

extension StartupMessage {
    /// Decodes the parameter list after the protocol version: pairs of strings ended by an
    /// empty name, which must be the last byte of the packet.
    static func decodeParameters(from reader: inout ByteReader) throws(PayloadError) -> [(name: String, value: String)] {
        var parameters: [(name: String, value: String)] = []
        while true {
            let name = try reader.readCString("parameter name")
            if name.isEmpty {
                return parameters
            }
            let value = try reader.readCString("parameter value")
            parameters.append((name, value))
        }
    }
}
