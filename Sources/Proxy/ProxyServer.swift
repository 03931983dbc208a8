import Backend
import Dispatch
import Foundation
import Logging
import PGWire

/// The proxy: a listening socket, a few serial "loop" queues that own the client sessions, and
/// the shared routing context.
public final class ProxyServer: @unchecked Sendable {
    // `listener` and `nextID` are touched on `acceptQueue` only (and in start/stop before/after it
    // runs); each `LoopConnections` on its own loop.
    /// The context in force (replaced by `reload`); read through `context`.
    private let initialContext: ProxyContext
    private var context: ProxyContext { initialContext.latest }
    private let reloadLock = NSLock()
    // Guarded by `reloadLock`.
    private var reloadSource: (@Sendable () throws -> ProxyConfig)?
    private let loops: [EventLoop]
    private let loopConnections: [LoopConnections]
    private let acceptQueue = EventLoop(label: "pgshard.accept")
    /// pgshard's version, as `SHOW VERSION` and `pgshard --version` say.
    public static let version = "0.4.0"
    private var listener: Listener?
    private var health: HealthServer?
    private var rowEstimates: RowEstimates?
    private var recovery: InDoubtRecovery?
    /// The port of the HTTP health endpoint, when configured (after `start`).
    public private(set) var httpPort: Int?
    private var nextID = 0

    /// The port the proxy listens on (the configured one, or the one picked for port 0).
    public private(set) var port = 0

    public init(config: ProxyConfig, logger: Logger, serverParameters: [(name: String, value: String)]? = nil) {
        let parameters = serverParameters ?? Self.fetchServerParameters(config: config, logger: logger)
        let count = config.workers ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
        self.initialContext = ProxyContext(config: config, serverParameters: parameters, logger: logger, loopCount: count)
        self.loops = (0..<count).map { EventLoop(label: "pgshard.loop.\($0)") }
        self.loopConnections = (0..<count).map { _ in LoopConnections() }
    }

    /// What the admin console's SHUTDOWN does; by default the server drains (as on SIGTERM,
    /// with `shutdown_timeout`) and stops. The executable replaces it so that the process exits.
    public func onShutdownRequest(_ action: @escaping @Sendable () -> Void) {
        context.shutdown.set(action)
    }

    /// Binds the listening socket and starts accepting clients.
    public func start() throws {
        let timeout = context.config.shutdownTimeout
        context.shutdown.set { [weak self] in self?.drain(timeout: timeout) }
        context.reload.set { [weak self] in
            guard let self else { return "pgshard is stopping" }
            if case .failure(let error) = self.reload() { return error.message }
            return nil
        }
        if context.tls != nil { TLSServerContext.ignoreSIGPIPE() }
        let listener: Listener
        do {
            listener = try Listener(host: context.config.listen.host, port: context.config.listen.port)
        } catch {
            throw ProxyStartError(message: "cannot listen on \(context.config.listen.host):\(context.config.listen.port): \(error)")
        }
        self.listener = listener
        port = listener.port
        // Before any client: the shards' collations (ordered merges of text need them) and
        // the prepared transactions a crash left.
        context.collations.read()
        context.collations.probe()
        startRecovery(context)
        if context.config.http != nil {
            // Row estimates are for /metrics: read them only when it is served.
            let estimates = RowEstimates(context: context)
            estimates.start()
            rowEstimates = estimates
        }
        if let http = context.config.http {
            let shards = context.config.shards.map { (name: $0.name, conninfo: $0.primary) }
            do {
                let health = try HealthServer(
                    host: http.host, port: http.port, shards: shards,
                    connectTimeout: Int(context.config.backend.connectTimeout.rounded(.up)),
                    metrics: { [initialContext] in
                        let context = initialContext.latest
                        context.metrics.pools(context.pools.all)
                        return context.metrics.render(clientConnections: context.registry.openConnections, router: context.router)
                    })
                health.start()
                self.health = health
                httpPort = health.port
            } catch {
                throw ProxyStartError(message: "cannot listen for HTTP on \(http.host):\(http.port): \(error)")
            }
        }
        acceptQueue.sync {
            listener.start(queue: acceptQueue, onAccept: { [unowned self] fd in accepted(fd) }, onError: { [context] error in
                context.logger.error("accept failed", metadata: ["error": "\(error)"])
            })
        }
        context.logger.info("pgshard listening", metadata: [
            "listen.host": "\(context.config.listen.host)", "listen.port": "\(port)",
            "shards": "\(context.config.shards.count)", "auth": "\(context.config.auth.rawValue)",
            "tls": "\(context.tls == nil ? "off" : context.config.requireTLS ? "required" : "on")",
        ])
    }

    /// Stops accepting, lets running statements and open transactions finish for at most
    /// `timeout` seconds (clients between transactions are disconnected at once, the others as
    /// soon as they are), then closes what is left. Returns the number of connections that had
    /// to be cut off.
    @discardableResult
    public func drain(timeout: Double) -> Int {
        stopAccepting()
        let deadline = DispatchTime.now() + timeout
        while true {
            var busy = 0
            for (loop, connections) in zip(loops, loopConnections) {
                busy += loop.sync { connections.closeIdle() }
            }
            if busy == 0 { return 0 }
            if DispatchTime.now() >= deadline {
                stop()
                return busy
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Where `reload` reads the configuration again (the executable: the file and the
    /// environment). Without one, `reload` and the console's RELOAD fail.
    public func reloadConfiguration(from source: @escaping @Sendable () throws -> ProxyConfig) {
        reloadLock.withLock { reloadSource = source }
    }

    /// Reads the configuration again (SIGHUP, the admin console's RELOAD) and puts it in force
    /// without dropping clients: new statements are routed by it, sessions move to new shard
    /// pools between transactions (a session pinned to its shard connections keeps the old
    /// ones until it ends), the old pools close their connections as they are given back. An
    /// invalid configuration is rejected with its problems and the old one stays. `listen`,
    /// `http`, `workers` and `tls` need a restart.
    @discardableResult
    public func reload() -> Result<Void, ReloadError> {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        let old = context
        guard let source = reloadSource else {
            return .failure(ReloadError(message: "pgshard was started without a configuration file to read again"))
        }
        let config: ProxyConfig
        do {
            config = try source()
        } catch {
            let message = (error as? ConfigError)?.problems.map { "\($0)" }.joined(separator: "; ") ?? "\(error)"
            old.logger.error("configuration rejected, the old one stays in force", metadata: ["reason": "\(message)"])
            return .failure(ReloadError(message: message))
        }
        var ignored: [String] = []
        if config.listen != old.config.listen { ignored.append("listen") }
        if config.http != old.config.http { ignored.append("http") }
        if config.workers != old.config.workers { ignored.append("workers") }
        if config.tls != old.config.tls || config.requireTLS != old.config.requireTLS { ignored.append("tls") }
        let new = ProxyContext(config: config, serverParameters: old.serverParameters, logger: old.logger, loopCount: loops.count,
                               previous: old)
        old.replace(with: new)
        new.collations.probe()
        // The old pools: idle connections closed now, lent ones when given back.
        for pool in old.pools.all {
            pool.queue.async { pool.retire() }
        }
        if config.nodeID != old.config.nodeID { ignored.append("node_id") }
        recovery?.stop()
        startRecovery(new)
        if let estimates = rowEstimates {
            estimates.stop()
            let replacement = RowEstimates(context: new)
            replacement.start()
            rowEstimates = replacement
        }
        old.logger.info("configuration reloaded", metadata: [
            "generation": "\(new.generation)", "shards": "\(config.shards.count)", "tables": "\(config.tables.count)",
            "needs_restart": "\(ignored.joined(separator: ","))",
        ])
        return .success(())
    }

    /// Ends the prepared transactions a crash left behind: a pass now, then every
    /// `transactions.recovery_interval` and soon after a commit whose outcome was lost.
    private func startRecovery(_ context: ProxyContext) {
        let recovery = InDoubtRecovery(context: context)
        // The first pass before any client: it also creates the decision tables.
        recovery.pass()
        context.transactions.onRecoveryNeeded { [weak recovery] in recovery?.passSoon() }
        recovery.start()
        self.recovery = recovery
    }

    /// One recovery pass now (tests); returns the number of prepared transactions it ended.
    @discardableResult
    public func recoverTransactions() -> Int {
        InDoubtRecovery(context: context).pass()
    }

    /// Reads every shard's row estimates into the metrics now (tests; normally once a minute).
    public func refreshRowEstimates() {
        (rowEstimates ?? RowEstimates(context: context)).refresh()
    }

    /// No new clients, no more HTTP answers or row estimates (the start of `drain` and `stop`).
    private func stopAccepting() {
        reloadLock.withLock {
            rowEstimates?.stop()
            rowEstimates = nil
            recovery?.stop()
            recovery = nil
        }
        health?.stop()
        health = nil
        acceptQueue.sync {
            listener?.stop()
            listener = nil
        }
    }

    /// Stops accepting and closes every client connection.
    public func stop() {
        stopAccepting()
        for (loop, connections) in zip(loops, loopConnections) {
            loop.sync { connections.closeAll() }
        }
    }

    private func accepted(_ fd: Int32) {
        nextID += 1
        let id = nextID
        let index = id % loops.count
        let loop = loops[index]
        let connections = loopConnections[index]
        let context = self.context
        loop.async {
            let connection = ClientConnection(fd: fd, id: id, queue: loop, context: context)
            guard context.registry.admitConnection(limit: context.config.limits.maxClientConnections) else {
                // Counted as admitted so close() can uncount it.
                connection.refuse(.error(.tooManyConnections, "sorry, too many clients already", severity: "FATAL"))
                return
            }
            connections.add(connection)
            connection.onClose = { connections.remove(id) }
            connection.start()
        }
    }

    /// Reads the run-time parameters clients expect at startup from the first reachable shard.
    static func fetchServerParameters(config: ProxyConfig, logger: Logger) -> [(name: String, value: String)] {
        let names = ["server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone",
                     "integer_datetimes", "standard_conforming_strings", "is_superuser", "default_transaction_read_only",
                     "in_hot_standby"]
        for shard in config.shards {
            guard let connection = try? BlockingConnection(conninfo: shard.primary, timeout: Int(config.backend.connectTimeout)) else {
                logger.warning("shard not reachable at startup", metadata: ["shard.name": "\(shard.name)"])
                continue
            }
            return names.compactMap { name in connection.parameterStatus(name).map { (name, $0) } }
        }
        return [("server_version", "15.0"), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
                ("DateStyle", "ISO, MDY"), ("IntervalStyle", "postgres"), ("TimeZone", "UTC"),
                ("integer_datetimes", "on"), ("standard_conforming_strings", "on"), ("is_superuser", "off"),
                ("default_transaction_read_only", "off"), ("in_hot_standby", "off")]
    }
}

/// Why a reload was rejected.
public struct ReloadError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Why the proxy could not start.
public struct ProxyStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The client connections of one loop; touched on that loop's queue only.
final class LoopConnections: @unchecked Sendable {
    private var connections: [Int: ClientConnection] = [:]
    func add(_ connection: ClientConnection) { connections[connection.id] = connection }
    func remove(_ id: Int) { connections.removeValue(forKey: id) }
    func closeAll() {
        for connection in connections.values { connection.close() }
        connections.removeAll()
    }

    /// Closes the connections that are between transactions (not running a statement, not inside
    /// BEGIN … COMMIT); returns how many are still busy.
    func closeIdle() -> Int {
        var busy = 0
        for (id, connection) in connections {
            if let session = connection.session, session.isBusy || session.transaction != nil {
                busy += 1
            } else {
                connection.close()
                connections.removeValue(forKey: id)
            }
        }
        return busy
    }
}
