/// A message a client sends to PostgreSQL (protocol 3.0), as pgshard receives it.
///
/// The first packet of a connection is untyped (no type byte): it is a `startup`, or one of
/// the requests that share its framing (`sslRequest`, `gssEncRequest`, `cancelRequest`).
/// Every later message starts with a type byte. What servers send is a different type
/// (`BackendMessageEncoder`): letters such as `D` or `C` mean other messages in that direction.
public enum FrontendMessage: Equatable, Sendable {
    /// The untyped first packet of a session: protocol version and connection parameters.
    case startup(StartupMessage)
    /// Untyped request to switch the connection to TLS before the startup packet (code 80877103).
    ///
    /// It is answered with a single byte, `S` or `N`, never with a typed message; after `S`
    /// the TLS handshake follows and the client then sends its startup packet over TLS.
    /// Bytes the client sent after this request but before the answer were not encrypted:
    /// the session must refuse them (check `bufferedByteCount == 0`), since a man in the
    /// middle could have injected them (CVE-2021-23214).
    case sslRequest
    /// Untyped request to switch the connection to GSSAPI encryption (code 80877104).
    /// pgshard declines it with the single byte `N`; the client then sends its startup packet.
    case gssEncRequest
    /// Untyped request, on a connection of its own, to cancel the query running in another
    /// session (code 80877102). It gets no answer; the server closes the connection.
    case cancelRequest(CancelRequest)
    /// `Q`: a simple-protocol query string, possibly holding several statements.
    case query(String)
    /// `X`: the client closes the session.
    case terminate
    /// `p`: the raw body of a PasswordMessage, SASLInitialResponse or SASLResponse.
    ///
    /// All three share the letter; only the authentication exchange in progress says which
    /// one it is, so the authentication state machine parses the body.
    case password([UInt8])
    /// `P`: create a prepared statement.
    case parse(Parse)
    /// `B`: bind parameters to a prepared statement, creating a portal.
    case bind(Bind)
    /// `D`: ask for the description of a prepared statement or a portal.
    case describe(Describe)
    /// `E`: run a portal.
    case execute(Execute)
    /// `C`: close a prepared statement or a portal.
    case close(Close)
    /// `S`: end of an extended-query batch. The server answers ReadyForQuery; after an error
    /// it skips every message until this one, which is how a client resynchronizes.
    case sync
    /// `H`: ask the server to send what it has buffered, without ending the batch as Sync does.
    case flush
    /// `d`: a chunk of COPY FROM STDIN data.
    case copyData([UInt8])
    /// `c`: the end of COPY FROM STDIN data.
    case copyDone
    /// `f`: the client aborts COPY FROM STDIN, with an error message.
    case copyFail(String)
    /// `F`: the raw body of a FunctionCall (fast-path interface).
    case functionCall([UInt8])
}

extension FrontendMessage {
    /// The type byte of each typed message a client may send.
    enum ID: UInt8 {
        case bind = 66  // B
        case close = 67  // C
        case describe = 68  // D
        case execute = 69  // E
        case functionCall = 70  // F
        case flush = 72  // H
        case parse = 80  // P
        case query = 81  // Q
        case sync = 83  // S
        case terminate = 88  // X
        case copyDone = 99  // c
        case copyData = 100  // d
        case copyFail = 102  // f
        case password = 112  // p

        /// PostgreSQL refuses bodies over 10000 bytes for messages that carry at most a name
        /// (`PQ_SMALL_MESSAGE_LIMIT`); doing the same lets a bogus length fail at the header.
        var isSmall: Bool {
            switch self {
            case .close, .describe, .execute, .flush, .sync, .terminate, .copyDone, .copyFail:
                return true
            case .bind, .functionCall, .parse, .query, .copyData, .password:
                return false
            }
        }
    }

    /// The type byte of a typed message (`Q`, `P`, …); 0 for the untyped startup packets.
    public var typeByte: UInt8 {
        let id: ID
        switch self {
        case .startup, .sslRequest, .gssEncRequest, .cancelRequest: return 0
        case .query: id = .query
        case .terminate: id = .terminate
        case .password: id = .password
        case .parse: id = .parse
        case .bind: id = .bind
        case .describe: id = .describe
        case .execute: id = .execute
        case .close: id = .close
        case .sync: id = .sync
        case .flush: id = .flush
        case .copyData: id = .copyData
        case .copyDone: id = .copyDone
        case .copyFail: id = .copyFail
        case .functionCall: id = .functionCall
        }
        return id.rawValue
    }

    /// Decodes the body of a typed message; the reader must be consumed exactly.
    static func decode(_ id: ID, from reader: inout ByteReader) throws(PayloadError) -> FrontendMessage {
        let message: FrontendMessage
        switch id {
        case .query:
            // The layout is checked before the encoding: only a well-formed Query whose text
            // is not UTF-8 is the recoverable error (SQLSTATE 22021), anything else is fatal.
            let text = try reader.readCStringBytes("query")
            try reader.expectEnd()
            return .query(try ByteReader.string(text, "query"))
        case .terminate:
            message = .terminate
        case .password:
            message = .password(reader.readRemainingBytes())
        case .parse:
            message = .parse(try Parse.decode(from: &reader))
        case .bind:
            message = .bind(try Bind.decode(from: &reader))
        case .describe:
            message = .describe(try Describe.decode(from: &reader))
        case .execute:
            message = .execute(try Execute.decode(from: &reader))
        case .close:
            message = .close(try Close.decode(from: &reader))
        case .sync:
            message = .sync
        case .flush:
            message = .flush
        case .copyData:
            message = .copyData(reader.readRemainingBytes())
        case .copyDone:
            message = .copyDone
        case .copyFail:
            message = .copyFail(try reader.readCString("error message"))
        case .functionCall:
            message = .functionCall(reader.readRemainingBytes())
        }
        try reader.expectEnd()
        return message
    }
}
