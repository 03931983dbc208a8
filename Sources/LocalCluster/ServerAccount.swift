import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The account that runs the PostgreSQL server programs.
///
/// `initdb` and `postgres` refuse to run as root, so a root process (sessions, CI) runs them as
/// the `postgres` user through `runuser`, in directories that user owns.
enum ServerAccount: Sendable {
    /// Run the programs directly, as the current (non-root) user.
    case currentUser
    /// Run the programs as `postgres` through the `runuser` at this path.
    case postgres(runuser: String)

    static let userName = "postgres"

    /// The account for this process: itself, or `postgres` when root (creating that user if missing).
    static func resolve() throws -> ServerAccount {
        guard geteuid() == 0 else { return .currentUser }
        let candidates = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
        guard let runuser = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw LocalClusterError.runuserNotFound()
        }
        try ensureUserExists()
        return .postgres(runuser: runuser)
    }

    /// `executable arguments`, wrapped in `runuser -u postgres --` when needed.
    func command(_ executable: String, _ arguments: [String]) -> Command {
        switch self {
        case .currentUser:
            return Command(executable: executable, arguments: arguments)
        case .postgres(let runuser):
            return Command(executable: runuser, arguments: ["-u", Self.userName, "--", executable] + arguments)
        }
    }

    /// Gives `path` and everything below it to the server account (a no-op when not root).
    func takeOwnership(of path: String) throws {
        guard case .postgres = self else { return }
        let chown = Command(executable: Self.program("chown"), arguments: ["-R", "\(Self.userName):", path])
        let result = try ProcessRunner.run(chown, timeout: 60)
        guard result.succeeded else { throw LocalClusterError.processFailed(chown, result) }
    }

    /// Throws a clear error when the server account cannot enter and write `root`, naming the
    /// first parent directory it cannot traverse (for example `/root`, mode 700).
    func checkAccess(to root: String) throws {
        guard case .postgres = self else { return }
        if try canServerUser("-w", root), try canServerUser("-x", root) { return }
        var ancestors: [String] = []
        var url = URL(fileURLWithPath: root)
        while url.path != "/" {
            url.deleteLastPathComponent()
            ancestors.insert(url.path, at: 0)
        }
        let blocking = try ancestors.first { try !canServerUser("-x", $0) }
        throw LocalClusterError.rootNotAccessible(root: root, blockingDirectory: blocking)
    }

    private func canServerUser(_ test: String, _ path: String) throws -> Bool {
        try ProcessRunner.run(command(Self.program("test"), [test, path]), timeout: 10).succeeded
    }

    private static func ensureUserExists() throws {
        guard getpwnam(userName) == nil else { return }
        let useradd = Command(
            executable: program("useradd"),
            arguments: ["--system", "--home-dir", "/var/lib/postgresql", "--shell", "/bin/bash", userName]
        )
        let result = try ProcessRunner.run(useradd, timeout: 60)
        // Another process may have created the user meanwhile; only its absence is an error.
        guard getpwnam(userName) != nil else {
            throw LocalClusterError.serverUserNotCreated(output: result.combinedOutput)
        }
    }

    /// The first of `/usr/sbin`, `/usr/bin`, `/sbin`, `/bin` holding `name`.
    static func program(_ name: String) -> String {
        let directories = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        return directories.map { "\($0)/\(name)" }.first(where: FileManager.default.isExecutableFile(atPath:))
            ?? "/usr/bin/\(name)"
    }
}

extension ServerAccount {
    /// Gives one file root wrote to the server account (a no-op when not root).
    func adopt(file path: String) {
        guard case .postgres = self, let entry = getpwnam(Self.userName) else { return }
        _ = chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid)
    }
}
