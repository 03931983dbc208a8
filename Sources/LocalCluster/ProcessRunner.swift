import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A program and its arguments, with the environment every child of `LocalCluster` gets.
struct Command: CustomStringConvertible, Sendable {
    let executable: String
    let arguments: [String]

    /// The inherited environment without `PG*` variables (a stray `PGDATA`, `PGPORT` or
    /// `PGSSLMODE` would override the explicit flags) and in the C locale, so messages such as
    /// "already exists" are in English.
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"
        environment["LANG"] = "C"
        environment["PGCONNECT_TIMEOUT"] = "10"
        return environment
    }

    var description: String {
        ([executable] + arguments).joined(separator: " ")
    }
}

/// How a finished program ended and what it printed.
struct ProcessResult: Sendable {
    let status: Int32
    let standardOutput: String
    let standardError: String

    var succeeded: Bool { status == 0 }

    var combinedOutput: String {
        [standardOutput, standardError]
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
            .joined(separator: "\n")
    }
}

/// Runs programs to completion with a time limit.
///
/// Programs are started with `posix_spawn` rather than Foundation's `Process`: on Linux,
/// `Process` notices a child's exit through a socket the child inherits, and the server that
/// `pg_ctl start` leaves behind inherits it too, so `pg_ctl start` would never appear to finish.
/// Here the child inherits only stdin (`/dev/null`), stdout and stderr, and exit is seen with
/// `waitpid`.
enum ProcessRunner {
    /// Runs `command` and returns how it ended; throws only when it cannot be launched or runs
    /// past `timeout` seconds (it is then killed).
    ///
    /// Output goes to files, not pipes, for the same reason: a daemon holding a pipe open would
    /// keep a reader waiting for end of file forever.
    static func run(
        _ command: Command,
        workingDirectory: String? = nil,
        timeout: TimeInterval
    ) throws -> ProcessResult {
        let fileManager = FileManager.default
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("pgshard-process-\(UUID().uuidString)")
        try fileManager.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(at: scratch) }
        let outputURL = scratch.appendingPathComponent("stdout")
        let errorURL = scratch.appendingPathComponent("stderr")
        _ = fileManager.createFile(atPath: outputURL.path, contents: nil)
        _ = fileManager.createFile(atPath: errorURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }
        let error = try FileHandle(forWritingTo: errorURL)
        defer { try? error.close() }

        let pid = try ChildProcess.spawn(
            command,
            standardOutput: output.fileDescriptor,
            standardError: error.fileDescriptor,
            workingDirectory: workingDirectory
        )
        func captured(status: Int32) -> ProcessResult {
            ProcessResult(status: status, standardOutput: text(at: outputURL), standardError: text(at: errorURL))
        }
        if let status = ChildProcess.waitForExit(pid, timeout: timeout) {
            return captured(status: status)
        }
        kill(pid, SIGTERM)
        if ChildProcess.waitForExit(pid, timeout: 5) == nil {
            kill(pid, SIGKILL)
            _ = ChildProcess.waitForExit(pid, timeout: 5)
        }
        throw LocalClusterError.processTimedOut(command, seconds: timeout, output: captured(status: -1).combinedOutput)
    }

    private static func text(at url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }
}
