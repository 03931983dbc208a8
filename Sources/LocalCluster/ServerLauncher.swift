import Foundation

/// Initialises, starts and stops one server of a cluster. It holds only immutable settings, so
/// the servers of a cluster start in parallel.
struct ServerLauncher: Sendable {
    let binaries: PostgresBinaries
    let account: ServerAccount
    let layout: ClusterLayout
    let superuser: String
    let durable: Bool
    let log: @Sendable (String) -> Void

    static let initdbTimeout: TimeInterval = 120
    static let startTimeout: TimeInterval = 60
    static let stopTimeout: TimeInterval = 60
    /// How long a server `pg_ctl -w` reported ready gets to accept TCP connections.
    static let acceptTimeout: TimeInterval = 10
    static let logTailLines = 20

    /// What `launch` did.
    enum Outcome: Sendable {
        /// This launcher started the server.
        case started(LocalServer)
        /// The server was already running and is used as it is.
        case reused(LocalServer)
    }

    /// Makes server `name` run and accept connections on 127.0.0.1: reuses a running server,
    /// otherwise runs `initdb` when the data directory is new, writes the configuration and starts
    /// it on `port`. When `portIsMovable` and another process took the port meanwhile, it retries
    /// on a fresh port that is not in `reserved`.
    func launch(_ name: String, port: Int, portIsMovable: Bool, reserved: Set<Int>) throws -> Outcome {
        let dataDirectory = layout.dataDirectory(name)
        if let lockFile = PostmasterPID.read(dataDirectory: dataDirectory), lockFile.processIsAlive {
            let runningPort = lockFile.port ?? port
            log("server \(name): already running on port \(runningPort), reusing it")
            try waitUntilAccepting(name, port: runningPort, timeout: Self.startTimeout)
            return .reused(server(name, port: runningPort))
        }
        if !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            try initdb(name)
        }
        var port = port
        for attempt in 1... {
            try configure(name, port: port)
            let logSize = fileSize(layout.logFile(name))
            do {
                try pgCtlStart(name, port: port)
                break
            } catch where portIsMovable && attempt < 3 && portWasTaken(name, logSizeBefore: logSize) {
                let freshPort = try PortPlan.distinctPort(avoiding: reserved.union([port]), LoopbackSocket.ephemeralPort)
                log("server \(name): port \(port) was taken, retrying on \(freshPort)")
                port = freshPort
            }
        }
        try waitUntilAccepting(name, port: port, timeout: Self.acceptTimeout)
        return .started(server(name, port: port))
    }

    /// `pg_ctl stop -m fast`, then `-m immediate` if that fails; failures are logged, not thrown.
    func stop(_ name: String) {
        let dataDirectory = layout.dataDirectory(name)
        for mode in ["fast", "immediate"] {
            guard PostmasterPID.read(dataDirectory: dataDirectory)?.processIsAlive == true else { return }
            log("server \(name): stopping (\(mode))")
            let command = account.command(
                binaries.path(of: "pg_ctl"),
                ["-D", dataDirectory, "-m", mode, "-w", "-t", "\(Int(Self.stopTimeout))", "stop"]
            )
            do {
                let result = try ProcessRunner.run(command, workingDirectory: layout.root, timeout: Self.stopTimeout + 10)
                if result.succeeded { return }
                log("server \(name): \(LocalClusterError.processFailed(command, result))")
            } catch {
                log("server \(name): \(error)")
            }
        }
    }

    private func server(_ name: String, port: Int) -> LocalServer {
        LocalServer(
            name: name,
            dataDirectory: layout.dataDirectory(name),
            port: port,
            socketDirectory: layout.socketDirectory,
            user: superuser
        )
    }

    private func initdb(_ name: String) throws {
        log("server \(name): initdb")
        var arguments = [
            "-D", layout.dataDirectory(name), "-U", superuser, "--auth=trust", "-E", "UTF8", "--locale=C",
        ]
        if !durable {
            arguments.append("--no-sync")
        }
        let command = account.command(binaries.path(of: "initdb"), arguments)
        let result = try ProcessRunner.run(command, workingDirectory: layout.root, timeout: Self.initdbTimeout)
        guard result.succeeded else { throw LocalClusterError.processFailed(command, result) }
    }

    /// Writes `pgshard.conf` and makes sure `postgresql.conf` includes it. Files are written in
    /// place and handed to the server account, which must be able to read them.
    private func configure(_ name: String, port: Int) throws {
        let dataDirectory = URL(fileURLWithPath: layout.dataDirectory(name))
        let configuration = ServerConfiguration(port: port, socketDirectory: layout.socketDirectory, durable: durable)
        let ownFile = dataDirectory.appendingPathComponent(ServerConfiguration.fileName)
        try Data(configuration.text.utf8).write(to: ownFile)
        account.adopt(file: ownFile.path)

        let mainFile = dataDirectory.appendingPathComponent("postgresql.conf")
        let current = (try? String(contentsOf: mainFile, encoding: .utf8)) ?? ""
        let updated = ServerConfiguration.including(into: current)
        if updated != current {
            try Data(updated.utf8).write(to: mainFile)
            account.adopt(file: mainFile.path)
        }
    }

    private func pgCtlStart(_ name: String, port: Int) throws {
        log("server \(name): starting on port \(port)")
        let command = account.command(
            binaries.path(of: "pg_ctl"),
            [
                "-D", layout.dataDirectory(name), "-l", layout.logFile(name),
                "-w", "-t", "\(Int(Self.startTimeout))", "start",
            ]
        )
        let result: ProcessResult
        do {
            result = try ProcessRunner.run(command, workingDirectory: layout.root, timeout: Self.startTimeout + 10)
        } catch {
            throw LocalClusterError.serverFailedToStart(name, reason: "\(error)", logTail: logTail(name))
        }
        guard result.succeeded else {
            throw LocalClusterError.serverFailedToStart(name, reason: result.combinedOutput, logTail: logTail(name))
        }
    }

    private func waitUntilAccepting(_ name: String, port: Int, timeout: TimeInterval) throws {
        guard LoopbackSocket.waitUntilAccepting(port: port, timeout: timeout) else {
            throw LocalClusterError.serverFailedToStart(
                name,
                reason: "nothing accepts TCP connections on 127.0.0.1:\(port) after \(Int(timeout)) s",
                logTail: logTail(name)
            )
        }
    }

    /// Whether the log lines written since the start attempt say the port was in use.
    private func portWasTaken(_ name: String, logSizeBefore: UInt64) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: layout.logFile(name)) else { return false }
        defer { try? handle.close() }
        try? handle.seek(toOffset: logSizeBefore)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        return text.contains("could not bind") || text.contains("Address already in use")
    }

    private func logTail(_ name: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: layout.logFile(name)) else {
            return ["(no server.log at \(layout.logFile(name)))"]
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        return Array(lines.suffix(Self.logTailLines))
    }

    private func fileSize(_ path: String) -> UInt64 {
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber
        return size?.uint64Value ?? 0
    }
}
