import Backend
import Dispatch
import Foundation
import Logging
import Sharding
import SQLRouter
import Synchronization

/// What every session shares: the configuration in force, the router, the parameters the
/// shards report, and the registry of live sessions (for cancel requests and limits).
final class ProxyContext: Sendable {
    let config: ProxyConfig
    let router: Router
    /// Shard-side names of prepared statements, shared by every session.
    let statementNames: StatementNames
    let serverParameters: [(name: String, value: String)]
    let registry: SessionRegistry
    /// Prometheus metrics (`GET /metrics` on the HTTP endpoint).
    let metrics: ProxyMetrics
    /// Users with their own `cross_shard`.
    let crossShardByUser: [String: RoutingContext.CrossShard]
    let logger: Logger
    /// The log level is debug or finer: statements are logged with their routes. Read once (a
    /// session's `logger.logLevel` copies the logger and asks its handler).
    let logsStatements: Bool
    /// Credentials and TLS rules for the startup phase, resolved once.
    let authentication: AuthenticationSettings
    /// The TLS context for clients, when a certificate is configured.
    let tls: TLSServerContext?

    /// Shard connection pools, per loop.
    let pools: ShardPools
    /// Which shards order text as bytes (for merging ORDER BY on text).
    let collations: ShardCollations
    /// What the admin console's SHUTDOWN and RELOAD do (set by the server).
    let shutdown: ShutdownHook
    let reload: ReloadHook
    /// The admin console's PAUSE: sessions between transactions wait before their next one.
    let pause: PauseGate
    /// Distributed transaction ids, the commits running now, the recovery trigger.
    let transactions: DistributedTransactions
    /// Counts reloads: 0 for the configuration pgshard started with.
    let generation: Int
    private let scratches: ScratchStore
    /// The context a reload made from this one (sessions move to it between transactions).
    private let next = SuccessorBox()

    /// The read buffer shared by the connections of the loop that owns `queue`.
    func readScratch(for queue: EventLoop, size: Int) -> ReadScratch {
        scratches.scratch(for: queue, size: size)
    }

    /// A reload made a successor (one atomic load, no lock and no reference counting: every
    /// message of every session asks).
    var isReplaced: Bool { next.isSet }

    /// The newest context: this one, or the one the latest reload made.
    var latest: ProxyContext {
        var context = self
        while let successor = context.next.value { context = successor }
        return context
    }

    /// Makes `successor` the context new statements use.
    func replace(with successor: ProxyContext) { next.value = successor }

    /// `previous`: the context this one replaces (a reload): sessions, statement names, read
    /// buffers, hooks — and the metrics, when the shards are the same — carry over.
    init(config: ProxyConfig, serverParameters: [(name: String, value: String)], logger: Logger, loopCount: Int = 1,
         previous: ProxyContext? = nil) {
        self.config = config
        let shardNames = config.shards.map(\.name)
        if let previous, previous.config.shards.map(\.name) == shardNames {
            self.metrics = previous.metrics
        } else {
            self.metrics = ProxyMetrics(shardNames: shardNames)
        }
        self.pools = ShardPools(config: config, loopCount: loopCount, traffic: metrics.traffic)
        self.collations = ShardCollations(conninfos: config.shards.map(\.primary), timeout: Int(config.backend.connectTimeout.rounded(.up)))
        self.router = Router(
            schema: config.shardingSchema,
            limits: RouterLimits(maxStatementBytes: config.limits.maxStatementSize),
            // Every generator of the process shares one sequence: a reload keeps ids increasing.
            idGenerator: GlobalIDGenerator(nodeID: config.nodeID)
        )
        self.serverParameters = serverParameters
        self.logger = logger
        self.logsStatements = logger.logLevel <= .debug
        self.authentication = AuthenticationSettings(config: config)
        var policies: [String: RoutingContext.CrossShard] = [:]
        for user in config.users { if let policy = user.crossShard { policies[user.name] = policy } }
        self.crossShardByUser = policies
        self.tls = config.tls?.context
        self.statementNames = previous?.statementNames ?? StatementNames()
        self.registry = previous?.registry ?? SessionRegistry()
        self.scratches = previous?.scratches ?? ScratchStore()
        self.shutdown = previous?.shutdown ?? ShutdownHook()
        self.reload = previous?.reload ?? ReloadHook()
        self.pause = previous?.pause ?? PauseGate()
        // The node id is read once: transactions committing now keep their ids (needs a restart).
        self.transactions = previous?.transactions ?? DistributedTransactions(nodeID: config.nodeID)
        self.generation = (previous?.generation ?? -1) + 1
    }
}

/// The read buffers of the loops, one per loop queue.
final class ScratchStore: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var scratches: [ObjectIdentifier: ReadScratch] = [:]

    func scratch(for queue: EventLoop, size: Int) -> ReadScratch {
        lock.withLock {
            if let scratch = scratches[ObjectIdentifier(queue)] { return scratch }
            let scratch = ReadScratch(size: size)
            scratches[ObjectIdentifier(queue)] = scratch
            return scratch
        }
    }
}

/// A context's successor, set once by a reload.
final class SuccessorBox: @unchecked Sendable {
    // Guarded by `lock`; `isSet` lets every message check without taking it.
    private let lock = NSLock()
    private var successor: ProxyContext?
    private let isSetFlag = Atomic<Bool>(false)

    /// A successor was set.
    var isSet: Bool { isSetFlag.load(ordering: .acquiring) }

    var value: ProxyContext? {
        get {
            guard isSet else { return nil }
            return lock.withLock { successor }
        }
        set {
            lock.withLock { successor = newValue }
            isSetFlag.store(newValue != nil, ordering: .releasing)
        }
    }
}

/// The action behind the admin console's RELOAD: re-reads the configuration; the error
/// explains why the new one was rejected.
final class ReloadHook: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var action: (@Sendable () -> String?)?

    func set(_ action: @escaping @Sendable () -> String?) { lock.withLock { self.action = action } }

    /// nil when the configuration was reloaded, else why not.
    func request() -> String? {
        guard let action = lock.withLock({ self.action }) else { return "pgshard was started without a configuration file to read again" }
        return action()
    }
}

/// Live sessions by backend key, so a CancelRequest on another connection finds its session.
final class SessionRegistry: @unchecked Sendable {
    // Guarded by `lock`: touched from every loop queue.
    private let lock = NSLock()
    /// Strong references: a session is unregistered when it ends (``ClientSession/ended()``); a
    /// weak one would give every session a side table, which slows each of its retains.
    private var sessions: [Int32: (secret: Int32, session: ClientSession, client: ClientInfo)] = [:]

    /// What the admin console shows of a session, fixed at registration.
    struct ClientInfo {
        var processID: Int32
        var user: String
        var database: String
        var application: String
    }
    private var connectionCount = 0

    /// Counts a new client connection; false when the limit is reached.
    /// Client connections open now.
    var openConnections: Int { lock.withLock { connectionCount } }

    func admitConnection(limit: Int) -> Bool {
        lock.withLock {
            guard connectionCount < limit else { return false }
            connectionCount += 1
            return true
        }
    }

    func connectionClosed() {
        lock.withLock { connectionCount -= 1 }
    }

    /// Registers a session and returns its (process id, secret key) for BackendKeyData.
    func register(_ session: ClientSession) -> (Int32, Int32) {
        lock.withLock {
            var pid: Int32
            repeat { pid = Int32.random(in: 1...Int32.max) } while sessions[pid] != nil
            let secret = Int32.random(in: Int32.min...Int32.max)
            let startup = session.startup
            let user = startup.user ?? ""
            let application = startup.parameters.first { $0.name == "application_name" }?.value ?? ""
            sessions[pid] = (secret, session, ClientInfo(processID: pid, user: user, database: startup.database ?? user, application: application))
            return (pid, secret)
        }
    }

    /// Every registered session, by process id.
    func clients() -> [ClientInfo] {
        lock.withLock { sessions.values.map(\.client) }.sorted { $0.processID < $1.processID }
    }

    /// Every live session (admin console sessions included).
    func liveSessions() -> [ClientSession] {
        lock.withLock { sessions.values.map(\.session) }
    }

    func unregister(processID: Int32) {
        _ = lock.withLock { sessions.removeValue(forKey: processID) }
    }

    /// The session a CancelRequest names, if the secret matches.
    func session(processID: Int32, secret: Int32) -> ClientSession? {
        lock.withLock {
            guard let entry = sessions[processID], entry.secret == secret else { return nil }
            return entry.session
        }
    }
}

/// A read buffer used by one loop at a time.
final class ReadScratch: @unchecked Sendable {
    var bytes: [UInt8]
    init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }
}

/// The action behind the admin console's SHUTDOWN: set once by the server (or the executable),
/// run from the console's session.
final class ShutdownHook: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var action: (@Sendable () -> Void)?

    func set(_ action: @escaping @Sendable () -> Void) { lock.withLock { self.action = action } }

    /// Runs the action off the caller's queue (it waits for sessions on every loop).
    func request() {
        guard let action = lock.withLock({ self.action }) else { return }
        DispatchQueue.global().async { action() }
    }
}

/// PAUSE and RESUME: while paused, a session between transactions holds its next message
/// (and stops reading its socket) until RESUME; sessions inside a transaction go on.
final class PauseGate: @unchecked Sendable {
    // Guarded by `lock`; `flag` mirrors `paused` for the check every message makes.
    private let lock = NSLock()
    private var paused = false
    private let flag = Atomic<Bool>(false)
    private var waiting: [(queue: EventLoop, resume: @Sendable () -> Void)] = []

    var isPaused: Bool { flag.load(ordering: .acquiring) }

    func pause() {
        lock.withLock {
            paused = true
            flag.store(true, ordering: .releasing)
        }
    }

    /// Lets every held session go on, each on its own queue.
    func resume() {
        let held = lock.withLock { () -> [(queue: EventLoop, resume: @Sendable () -> Void)] in
            paused = false
            flag.store(false, ordering: .releasing)
            defer { waiting = [] }
            return waiting
        }
        for (queue, resume) in held { queue.async(execute: resume) }
    }

    /// Runs `resume` on `queue` once not paused; false when not paused now (nothing held).
    func hold(on queue: EventLoop, _ resume: @escaping @Sendable () -> Void) -> Bool {
        lock.withLock {
            guard paused else { return false }
            waiting.append((queue, resume))
            return true
        }
    }
}
