import Foundation

/// The settings pgshard gives each server. They live in `pgshard.conf` in the data directory,
/// which `postgresql.conf` includes; the file is rewritten at every start, so a new port or
/// socket directory takes effect while the rest of `postgresql.conf` stays as `initdb` wrote it.
struct ServerConfiguration: Equatable, Sendable {
    var port: Int
    var socketDirectory: String
    /// False for throwaway clusters: `fsync = off`.
    var durable: Bool

    static let fileName = "pgshard.conf"
    static let includeLine = "include '\(fileName)'"

    /// The contents of `pgshard.conf`.
    var text: String {
        var lines = [
            "# Written by pgshard at every start; edits are overwritten.",
            "port = \(port)",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = \(Self.quoted(socketDirectory))",
            "max_connections = 200",
            // Two-phase commit across shards needs prepared transactions.
            "max_prepared_transactions = 100",
            "shared_buffers = 32MB",
        ]
        if !durable {
            lines.append("fsync = off")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `postgresql.conf` with the include line appended once.
    static func including(into postgresqlConf: String) -> String {
        let lines = postgresqlConf.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.contains(where: { $0.trimmingCharacters(in: .whitespaces) == includeLine }) {
            return postgresqlConf
        }
        let separator = postgresqlConf.isEmpty || postgresqlConf.hasSuffix("\n") ? "" : "\n"
        return postgresqlConf + separator + includeLine + "\n"
    }

    private static func quoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
