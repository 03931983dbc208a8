import Foundation
internal import CLibPQ

/// Connects with libpq directly to see what `BlockingConnection` does not show: whether the
/// connection uses TLS, and libpq's own error text.
struct LibpqProbe {
    /// Whether the connection was made.
    var connected: Bool
    /// `PQsslInUse`.
    var sslInUse: Bool
    /// `PQsslAttribute(conn, "protocol")`, e.g. `TLSv1.3`.
    var sslProtocol: String?
    /// `PQerrorMessage` when the connection failed.
    var error: String

    init(_ conninfo: String) {
        let conn = PQconnectdb(conninfo + " connect_timeout=10")
        defer { PQfinish(conn) }
        connected = PQstatus(conn) == CONNECTION_OK
        sslInUse = PQsslInUse(conn) == 1
        sslProtocol = PQsslAttribute(conn, "protocol").map { String(cString: $0) }
        error = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
