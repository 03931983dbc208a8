import Foundation

/// One PostgreSQL server of a `LocalCluster`, and how to reach it.
public struct LocalServer: Sendable, Hashable {
    /// The server's name in the cluster, such as `shard1` or `reference`.
    public let name: String
    /// `<root>/<name>/data`.
    public let dataDirectory: String
    /// The TCP port it listens on.
    public let port: Int
    /// The address it listens on: always `127.0.0.1`.
    public let host: String
    /// The directory holding its Unix socket, `<root>/sockets`.
    public let socketDirectory: String
    /// The superuser the cluster was initialised with.
    public let user: String
    /// The database `conninfo` connects to: `postgres`.
    public let database: String

    /// A server description; `LocalCluster.start()` makes these.
    public init(
        name: String,
        dataDirectory: String,
        port: Int,
        host: String = "127.0.0.1",
        socketDirectory: String,
        user: String = "postgres",
        database: String = "postgres"
    ) {
        self.name = name
        self.dataDirectory = dataDirectory
        self.port = port
        self.host = host
        self.socketDirectory = socketDirectory
        self.user = user
        self.database = database
    }

    /// A libpq connection string for `database` as `user`, such as
    /// `host=127.0.0.1 port=5433 dbname=postgres user=postgres`.
    public var conninfo: String { conninfo(database: database) }

    /// A libpq connection string for another database on this server, as `user`.
    public func conninfo(database: String) -> String {
        "host=\(host) port=\(port) dbname=\(Self.quoted(database)) user=\(Self.quoted(user))"
    }

    /// A conninfo value, single-quoted with `\` escapes unless it is a plain word.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
        }
        if plain { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        return "'\(escaped)'"
    }
}
