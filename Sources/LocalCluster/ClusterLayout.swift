import Foundation

/// Where a cluster keeps its files under its root directory.
struct ClusterLayout: Sendable {
    /// The cluster root, as an absolute path.
    let root: String

    /// The Unix socket directory every server shares.
    var socketDirectory: String { path("sockets") }

    /// `<root>/cluster.json`, the remembered ports.
    var manifest: String { path("cluster.json") }

    /// `<root>/<name>`, which holds the data directory and the log.
    func serverDirectory(_ name: String) -> String { path(name) }

    /// `<root>/<name>/data`.
    func dataDirectory(_ name: String) -> String { path(name, "data") }

    /// `<root>/<name>/server.log`, where `pg_ctl -l` sends the server's output.
    func logFile(_ name: String) -> String { path(name, "server.log") }

    /// The longest socket path a server can get (`.s.PGSQL.` plus a 5-digit port); Unix sockets
    /// allow 107 bytes.
    var longestSocketPath: String { socketDirectory + "/.s.PGSQL.65535" }

    private func path(_ components: String...) -> String {
        components.reduce(URL(fileURLWithPath: root)) { $0.appendingPathComponent($1) }.path
    }
}
