import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `postmaster.pid` lock file a running server keeps in its data directory. Its lines are:
/// PID, data directory, start time, port, socket directory, listen address, shared memory key,
/// status.
struct PostmasterPID: Equatable, Sendable {
    let pid: Int32
    let port: Int?

    init?(contents: String) {
        let lines = contents.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = lines.first, let pid = Int32(first), pid > 0 else { return nil }
        self.pid = pid
        self.port = lines.count > 3 ? Int(lines[3]) : nil
    }

    /// The lock file in `dataDirectory`; nil when there is none (the server is stopped).
    static func read(dataDirectory: String) -> PostmasterPID? {
        let path = URL(fileURLWithPath: dataDirectory).appendingPathComponent("postmaster.pid").path
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return PostmasterPID(contents: String(decoding: data, as: UTF8.self))
    }

    /// Whether the process still exists; `EPERM` means it does but belongs to another user.
    /// A crash leaves a stale file behind, which `pg_ctl start` then replaces.
    var processIsAlive: Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
