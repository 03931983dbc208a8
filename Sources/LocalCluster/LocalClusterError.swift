import Foundation

/// An error raised while locating, starting or talking to the local PostgreSQL servers.
///
/// Each condition has one named factory so the same problem always reads the same way.
public struct LocalClusterError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, for callers that want to react to one condition.
    public enum Code: Sendable, Hashable {
        /// No directory holds `initdb`, `pg_ctl` and `postgres`.
        case binariesNotFound
        /// Running as root, but the `postgres` account or `runuser` is unavailable.
        case serverUserUnavailable
        /// The cluster root is not usable by the account that runs the servers.
        case rootNotAccessible
        /// `<root>/sockets/.s.PGSQL.<port>` would exceed the Unix socket path limit.
        case socketPathTooLong
        /// A program could not be launched or exited with a failure status.
        case processFailed
        /// A program did not finish within its time limit and was killed.
        case processTimedOut
        /// A server did not start or did not accept connections in time.
        case serverFailedToStart
        /// No free TCP port could be found on 127.0.0.1.
        case noFreePort
        /// Neither `createdb` nor `psql` could be found.
        case clientProgramNotFound
        /// `createdb`/`psql` failed for a reason other than "already exists".
        case databaseCreationFailed
        /// The operation needs servers, but `start()` has not succeeded.
        case notStarted
    }

    /// The condition.
    public let code: Code
    /// A human-readable explanation, with the command output or log lines that show why.
    public let message: String

    /// The explanation.
    public var description: String { message }

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension LocalClusterError {
    static func binariesNotFound(searched: [String]) -> Self {
        .init(
            .binariesNotFound,
            """
            PostgreSQL server programs (initdb, pg_ctl, postgres) not found; searched \
            \(searched.joined(separator: ", ")). Install them with `apt-get install postgresql`.
            """
        )
    }

    static func runuserNotFound() -> Self {
        .init(.serverUserUnavailable, "running as root, but `runuser` was not found to run PostgreSQL as user postgres")
    }

    static func serverUserNotCreated(output: String) -> Self {
        .init(.serverUserUnavailable, "could not create the postgres user with useradd:\n\(output)")
    }

    static func rootNotAccessible(root: String, blockingDirectory: String?) -> Self {
        let why = blockingDirectory.map { "user postgres cannot enter \($0); run `chmod o+x \($0)` or " }
            ?? "user postgres cannot write to it; "
        return .init(
            .rootNotAccessible,
            "cluster root \(root) is not usable by PostgreSQL: \(why)use a root under /tmp or /var/tmp"
        )
    }

    static func socketPathTooLong(_ path: String) -> Self {
        .init(
            .socketPathTooLong,
            "socket path \(path) is longer than the 107 bytes Unix sockets allow; use a shorter cluster root"
        )
    }

    static func launchFailed(_ command: Command, _ error: any Error) -> Self {
        .init(.processFailed, "could not run \(command): \(error)")
    }

    static func processFailed(_ command: Command, _ result: ProcessResult) -> Self {
        .init(.processFailed, "\(command) exited with status \(result.status):\n\(result.combinedOutput)")
    }

    static func processTimedOut(_ command: Command, seconds: TimeInterval, output: String) -> Self {
        .init(.processTimedOut, "\(command) did not finish within \(Int(seconds)) s and was killed:\n\(output)")
    }

    static func serverFailedToStart(_ name: String, reason: String, logTail: [String]) -> Self {
        .init(
            .serverFailedToStart,
            "server \(name) failed to start: \(reason)\nlast lines of its server.log:\n\(logTail.joined(separator: "\n"))"
        )
    }

    static func noFreePort() -> Self {
        .init(.noFreePort, "no free TCP port found on 127.0.0.1")
    }

    static func clientProgramNotFound(binaries: String) -> Self {
        .init(
            .clientProgramNotFound,
            "neither createdb nor psql found in \(binaries) or on PATH; install `postgresql-client`"
        )
    }

    static func databaseCreationFailed(_ database: String, server: String, output: String) -> Self {
        .init(.databaseCreationFailed, "could not create database \(database) on server \(server):\n\(output)")
    }

    static func notStarted() -> Self {
        .init(.notStarted, "the cluster has no servers; call start() first")
    }
}
