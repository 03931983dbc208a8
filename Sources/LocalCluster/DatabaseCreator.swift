import Foundation

/// Creates databases with the PostgreSQL client programs: `createdb` when installed, else `psql`
/// (both are clients, so they run as the current user and connect over TCP as the superuser).
struct DatabaseCreator: Sendable {
    /// The client program to run.
    enum Tool: Sendable {
        case createdb(String)
        case psql(String)
    }

    static let timeout: TimeInterval = 30

    let tool: Tool

    /// Creates `database` on `server`; "already exists" counts as success.
    func create(_ database: String, on server: LocalServer) throws {
        let connection = ["-h", server.host, "-p", "\(server.port)", "-U", server.user]
        let command: Command
        switch tool {
        case .createdb(let createdb):
            command = Command(executable: createdb, arguments: connection + ["--", database])
        case .psql(let psql):
            let statement = "CREATE DATABASE \(Self.quotedIdentifier(database))"
            command = Command(
                executable: psql,
                arguments: ["-X", "-q", "-v", "ON_ERROR_STOP=1"] + connection
                    + ["-d", server.database, "-c", statement]
            )
        }
        let result = try ProcessRunner.run(command, timeout: Self.timeout)
        guard result.succeeded || result.standardError.contains("already exists") else {
            throw LocalClusterError.databaseCreationFailed(database, server: server.name, output: result.combinedOutput)
        }
    }

    static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension DatabaseCreator {
    /// Prefers the installation's own `createdb`, then its `psql`, then those on `PATH`.
    init(binaries: PostgresBinaries) throws {
        let candidates: [(String, (String) -> Tool)] = [("createdb", Tool.createdb), ("psql", Tool.psql)]
        for (program, tool) in candidates {
            let path = binaries.path(of: program)
            if FileManager.default.isExecutableFile(atPath: path) {
                self.tool = tool(path)
                return
            }
        }
        for (program, tool) in candidates {
            if let path = binaries.clientProgram(program) {
                self.tool = tool(path)
                return
            }
        }
        throw LocalClusterError.clientProgramNotFound(binaries: binaries.directory)
    }
}
