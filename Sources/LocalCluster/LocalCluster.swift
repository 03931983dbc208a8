import Foundation

/// Local PostgreSQL servers under one root directory, started and stopped together.
///
/// Each server keeps its data in `<root>/<name>/data` and its output in `<root>/<name>/server.log`;
/// all listen on 127.0.0.1 and put their Unix sockets in `<root>/sockets`. The chosen ports are
/// remembered in `<root>/cluster.json`, so starting the same root again (the demo's next run)
/// reuses the data directories, the ports, and any server that is still running.
///
/// When the process runs as root, the server programs run as the `postgres` user (created if
/// missing) and the root directory is handed to that user.
///
/// `@unchecked Sendable`: every stored `var` is read and written only while `lock` is held, and
/// each public method holds `lock` for its whole run, so `start`, `stop` and `createDatabase`
/// never interleave. Everything else is an immutable `Sendable` value.
public final class LocalCluster: @unchecked Sendable {
    /// The absolute path of the directory holding every server's files.
    public let root: String
    /// The servers' names, in order.
    public let serverNames: [String]
    /// The PostgreSQL installation that runs the servers.
    public let binaries: PostgresBinaries
    /// The first port, when the caller fixed them; nil when `start()` picks free ports.
    public let basePort: Int?
    /// The superuser `initdb` creates, and the user of every `conninfo`.
    public let superuser: String
    /// False for throwaway clusters, which run with `fsync = off`.
    public let durable: Bool
    /// Whether `stop()` also stops servers that were already running when `start()` found them.
    public let stopReused: Bool

    private let log: @Sendable (String) -> Void
    private let layout: ClusterLayout
    private let lock = NSLock()
    /// The servers after the last successful `start()`.
    private var startedServers: [LocalServer] = []
    /// The servers `stop()` stops, by name.
    private var owned: Set<String> = []
    /// Resolved by the first `start()`.
    private var account: ServerAccount?

    /// A cluster of servers named `serverNames` under `root` (relative paths are taken from the
    /// current directory). Nothing happens on disk until `start()`.
    ///
    /// - Parameters:
    ///   - basePort: Servers get `basePort`, `basePort + 1`, ... in order. When nil, a server keeps
    ///     its port from `cluster.json` if still free; otherwise a durable cluster takes the first
    ///     free ports from 5433 up and a throwaway one any free ports.
    ///   - durable: False for throwaway clusters (tests): `initdb --no-sync` and `fsync = off`.
    ///   - stopReused: Whether `stop()` also stops servers `start()` found already running.
    ///   - log: Receives one line per step (initdb, start, reuse, stop).
    public init(
        root: String,
        serverNames: [String],
        binaries: PostgresBinaries,
        basePort: Int? = nil,
        superuser: String = "postgres",
        durable: Bool = true,
        stopReused: Bool = false,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        precondition(!serverNames.isEmpty, "a cluster needs at least one server")
        precondition(Set(serverNames).count == serverNames.count, "server names must be unique")
        precondition(
            serverNames.allSatisfy { !$0.isEmpty && !$0.contains("/") && ![".", "..", "sockets"].contains($0) },
            "server names are directory names: not empty, no '/', not '.', '..' or 'sockets'"
        )
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
        self.serverNames = serverNames
        self.binaries = binaries
        self.basePort = basePort
        self.superuser = superuser
        self.durable = durable
        self.stopReused = stopReused
        self.log = log
        self.layout = ClusterLayout(root: self.root)
    }

    /// The servers, in `serverNames` order, with the ports `start()` gave them; empty before the
    /// first successful `start()`.
    public var servers: [LocalServer] {
        lock.lock()
        defer { lock.unlock() }
        return startedServers
    }

    /// Makes every server run and accept connections on 127.0.0.1.
    ///
    /// New data directories get `initdb`; existing ones are reused, and a server already running
    /// on its data directory is used as it is. Servers start in parallel. If one fails, the
    /// servers this call started are stopped again and the error (with the last lines of that
    /// server's `server.log`) is thrown. Calling `start()` again is harmless.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }

        let account = try self.account ?? ServerAccount.resolve()
        self.account = account
        try prepareRoot(account)

        var running: [String: Int] = [:]
        for name in serverNames {
            if let lockFile = PostmasterPID.read(dataDirectory: layout.dataDirectory(name)),
               lockFile.processIsAlive, let port = lockFile.port {
                running[name] = port
            }
        }
        let plan = PortPlan(
            running: running,
            basePort: basePort,
            remembered: ClusterManifest.load(from: layout.manifest)?.ports ?? [:],
            preferDemoPorts: durable
        )
        let ports = try plan.ports(for: serverNames, isFree: LoopbackSocket.isFree, anyFreePort: LoopbackSocket.ephemeralPort)

        let launcher = launcher(account)
        let outcomes = launchAll(launcher, ports: ports)

        var servers: [LocalServer] = []
        var startedNow: [String] = []
        var reusedNow: Set<String> = []
        var failures: [any Error] = []
        for outcome in outcomes {
            switch outcome {
            case .success(.started(let server)):
                servers.append(server)
                startedNow.append(server.name)
            case .success(.reused(let server)):
                servers.append(server)
                reusedNow.insert(server.name)
            case .failure(let error):
                failures.append(error)
            }
        }
        if let failure = failures.first {
            // Stop what this call started, including a server whose start timed out but that
            // came up anyway; servers that were running before are left alone.
            for name in serverNames where !reusedNow.contains(name) && !owned.contains(name) {
                launcher.stop(name)
            }
            throw failure
        }

        owned.formUnion(startedNow)
        if stopReused {
            owned.formUnion(servers.map(\.name))
        }
        startedServers = servers
        do {
            try ClusterManifest(servers: servers.map { .init(name: $0.name, port: $0.port) }).save(to: layout.manifest)
        } catch {
            log("could not write \(layout.manifest): \(error)")
        }
    }

    /// Stops, with `pg_ctl stop -m fast`, every server this object started (and the ones it
    /// reused, when `stopReused`). Failures are logged; calling it again does nothing.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard let account else { return }
        let launcher = launcher(account)
        for name in serverNames where owned.contains(name) {
            launcher.stop(name)
        }
        owned.removeAll()
    }

    /// Stops one server (as `stop()` does); the next `start()` starts it again on its port.
    public func stopServer(_ name: String) {
        lock.lock()
        defer { lock.unlock() }
        guard let account, serverNames.contains(name) else { return }
        launcher(account).stop(name)
    }

    /// Creates database `name` on every server; a database that already exists is left alone.
    public func createDatabase(_ name: String) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !startedServers.isEmpty else { throw LocalClusterError.notStarted() }
        let creator = try DatabaseCreator(binaries: binaries)
        for server in startedServers {
            log("server \(server.name): create database \(name)")
            try creator.create(name, on: server)
        }
    }

    /// A TCP port on 127.0.0.1 that is free right now: binds port 0, reads the port the kernel
    /// chose, and closes the socket.
    public static func freePort() throws -> Int {
        try LoopbackSocket.ephemeralPort()
    }

    private func launcher(_ account: ServerAccount) -> ServerLauncher {
        ServerLauncher(
            binaries: binaries, account: account, layout: layout, superuser: superuser, durable: durable, log: log
        )
    }

    /// Creates the root, the sockets directory and each server directory, hands them to the
    /// server account, and checks that account can use them.
    private func prepareRoot(_ account: ServerAccount) throws {
        guard layout.longestSocketPath.utf8.count <= 107 else {
            throw LocalClusterError.socketPathTooLong(layout.longestSocketPath)
        }
        let directories = [root, layout.socketDirectory] + serverNames.map(layout.serverDirectory)
        for directory in directories {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try account.takeOwnership(of: root)
        try account.checkAccess(to: root)
    }

    /// Runs `launcher.launch` for every server at once; results in `serverNames` order.
    private func launchAll(
        _ launcher: ServerLauncher,
        ports: [String: Int]
    ) -> [Result<ServerLauncher.Outcome, any Error>] {
        let names = serverNames
        let reserved = Set(ports.values)
        let movable = basePort == nil
        let results = ResultSlots<ServerLauncher.Outcome>(count: names.count)
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            let name = names[index]
            results[index] = Result {
                try launcher.launch(name, port: ports[name]!, portIsMovable: movable, reserved: reserved)
            }
        }
        return results.all
    }
}
