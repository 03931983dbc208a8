import Backend
import Dispatch
import Foundation
import PGWire
import Synchronization

/// The connections of one loop to one shard. Confined to the loop: every session of the loop
/// borrows from it, and every callback runs there.
///
/// A client takes a connection when it needs the shard and gives it back at the end of its
/// transaction (transaction pooling) or of its session (session pooling). When all `size`
/// connections are lent, clients wait in line, at most `queryWaitTimeout` seconds (53300).
// `@unchecked Sendable`: other threads only read its constants and monitor, or schedule work on its queue.
final class ShardPool: @unchecked Sendable {
    let shard: Int
    let name: String
    let conninfo: String
    let queue: EventLoop
    let settings: ProxyConfig.PoolSettings
    let size: Int
    let connectTimeout: Double
    /// Connections given back, the last one last, with when (``monotonicNanoseconds()``). A
    /// struct, not a tuple: an array of tuples looks up its type's metadata at run time.
    private struct IdleConnection {
        let connection: BackendConnection
        let since: UInt64
    }

    private var idle: [IdleConnection] = []
    private(set) var total = 0
    private var waiters: [Waiter] = []
    private var idleTimer: LoopTimer?
    /// What the admin console shows (`SHOW POOLS`, `SHOW SERVERS`), readable from any thread.
    let monitor = PoolMonitor()
    /// The loop's number, for the admin console.
    var loop = 0
    /// Counts what the shard's connections carry (metrics).
    var traffic: ShardTraffic?
    /// A reload replaced the configuration: connections given back are closed.
    private var retired = false

    private final class Waiter {
        let completion: (Result<BackendConnection, BackendError>) -> Void
        var timer: LoopTimer?
        init(_ completion: @escaping (Result<BackendConnection, BackendError>) -> Void) { self.completion = completion }
    }

    init(shard: Int, name: String, conninfo: String, queue: EventLoop, settings: ProxyConfig.PoolSettings,
         size: Int, connectTimeout: Double) {
        self.shard = shard
        self.name = name
        self.conninfo = conninfo
        self.queue = queue
        self.settings = settings
        self.size = max(1, size)
        self.connectTimeout = connectTimeout
    }

    /// An idle connection for one client, if there is one (no waiting, no new connection).
    func takeIdle() -> BackendConnection? {
        while let connection = idle.popLast()?.connection {
            if connection.isConnected && !connection.isBroken && !connection.isBusy {
                monitor.acquired()
                monitor.set(connection, .active)
                return connection
            }
            discard(connection)
        }
        return nil
    }

    /// A connection for one client: an idle one, a new one, or the next one given back.
    func acquire(_ completion: @escaping (Result<BackendConnection, BackendError>) -> Void) {
        if let connection = takeIdle() { return completion(.success(connection)) }
        monitor.acquired()
        if total < size {
            open(completion)
            return
        }
        let waiter = Waiter(completion)
        waiter.timer = queue.schedule(after: settings.queryWaitTimeout) { [self, weak waiter] in
            guard let waiter, let index = self.waiters.firstIndex(where: { $0 === waiter }) else { return }
            self.waiters.remove(at: index)
            self.monitor.waiting(self.waiters.count, timedOut: true)
            waiter.timer?.cancel()
            waiter.completion(.failure(BackendError(.poolTimeout,
                "no connection to shard \"\(self.name)\" became free within \(String(format: "%g", self.settings.queryWaitTimeout)) s")))
        }
        waiters.append(waiter)
        monitor.waiting(waiters.count, timedOut: false)
    }

    private func open(_ completion: @escaping (Result<BackendConnection, BackendError>) -> Void) {
        total += 1
        let connection = BackendConnection(shardName: name, queue: queue)
        connection.traffic = traffic
        monitor.set(connection, .connecting)
        connection.connect(conninfo: conninfo, parameters: [("client_encoding", "UTF8")], timeout: connectTimeout) { [self] error in
            if let error {
                connection.close()
                monitor.remove(connection)
                total -= 1
                completion(.failure(error))
                serveWaiter()
                return
            }
            monitor.set(connection, .active)
            completion(.success(connection))
        }
    }

    /// A client gives a connection back; `reusable` is false when it carries state another
    /// client must not inherit (it is closed instead).
    func release(_ connection: BackendConnection, reusable: Bool) {
        connection.stopReceiving()
        connection.noticeHandler = nil
        connection.notificationHandler = nil
        // One clock read for the age, the monitor and the idle list: this runs per transaction.
        let now = monotonicNanoseconds()
        let tooOld = connection.age(at: now) > settings.lifetime
        guard reusable, !tooOld, !retired, connection.isConnected, !connection.isBroken, !connection.isBusy,
              connection.serverTransactionStatus == .idle
        else {
            discard(connection)
            serveWaiter()
            return
        }
        if let waiter = waiters.first {
            waiters.removeFirst()
            monitor.waiting(waiters.count, timedOut: false)
            waiter.timer?.cancel()
            monitor.set(connection, .active)
            waiter.completion(.success(connection))
            return
        }
        monitor.set(connection, .idle, at: now)
        idle.append(IdleConnection(connection: connection, since: now))
        scheduleIdleSweep()
    }

    private func discard(_ connection: BackendConnection) {
        connection.close()
        monitor.remove(connection)
        total -= 1
    }

    /// Opens a connection for the first waiter when one was closed.
    private func serveWaiter() {
        guard let waiter = waiters.first, total < size else { return }
        waiters.removeFirst()
        monitor.waiting(waiters.count, timedOut: false)
        waiter.timer?.cancel()
        open(waiter.completion)
    }

    private func scheduleIdleSweep() {
        guard idleTimer == nil else { return }
        let interval = max(1, min(settings.idleTimeout, 60))
        // Strong: the timer is cancelled when no connection is idle (and at retire/close), and a
        // weak reference would slow every retain of the pool.
        idleTimer = queue.schedule(after: interval, every: interval) { [self] in sweep() }
    }

    private func sweep() {
        let now = monotonicNanoseconds()
        let timeout = UInt64(settings.idleTimeout * 1e9)
        let limit = now > timeout ? now - timeout : 0
        let (stale, fresh) = (idle.filter { $0.since < limit }, idle.filter { $0.since >= limit })
        idle = fresh
        for entry in stale { discard(entry.connection) }
        if idle.isEmpty {
            idleTimer?.cancel()
            idleTimer = nil
        }
    }

    /// A reload replaced this pool: its idle connections close now, lent ones when given back.
    func retire() {
        retired = true
        closeIdle()
    }

    /// Closes every idle connection (shutdown).
    func closeIdle() {
        for entry in idle { discard(entry.connection) }
        idle = []
        idleTimer?.cancel()
        idleTimer = nil
    }
}

/// The pools of every loop, created on first use by the loop that uses them.
final class ShardPools: @unchecked Sendable {
    private let lock = NSLock()
    private var pools: [ObjectIdentifier: [ShardPool]] = [:]
    private let config: ProxyConfig
    private let loopCount: Int
    private let traffic: [ShardTraffic]

    init(config: ProxyConfig, loopCount: Int, traffic: [ShardTraffic] = []) {
        self.config = config
        self.loopCount = max(1, loopCount)
        self.traffic = traffic
    }

    /// The pools of the loop `queue`, one per shard, in shard order.
    func pools(for queue: EventLoop) -> [ShardPool] {
        lock.withLock {
            if let existing = pools[ObjectIdentifier(queue)] { return existing }
            // The configured size is for the whole process: each loop gets its share.
            let share = (config.pool.size + loopCount - 1) / loopCount
            let loop = pools.count
            let created = config.shards.enumerated().map { index, shard in
                let pool = ShardPool(shard: index, name: shard.name, conninfo: shard.primary, queue: queue, settings: config.pool,
                                     size: share, connectTimeout: config.backend.connectTimeout)
                pool.loop = loop
                pool.traffic = index < traffic.count ? traffic[index] : nil
                return pool
            }
            pools[ObjectIdentifier(queue)] = created
            return created
        }
    }
}

extension ShardPools {
    /// Every pool created so far, by loop then shard.
    var all: [ShardPool] {
        lock.withLock { pools.values.flatMap { $0 } }.sorted { ($0.loop, $0.shard) < ($1.loop, $1.shard) }
    }
}

/// The state of one pool's connections, written on the pool's loop and read by the admin
/// console from another.
final class PoolMonitor: @unchecked Sendable {
    enum State: UInt8 {
        case connecting, active, idle

        var name: String {
            switch self {
            case .connecting: "connecting"
            case .active: "active"
            case .idle: "idle"
            }
        }
    }

    struct Server {
        var state: State
        var connectedAt: Date
        var since: Date
    }

    /// One connection's entry, also kept on the connection (`monitorRecord`), so that the two
    /// state changes of every transaction (lent, given back) touch it without a lookup.
    /// Times are `monotonicNanoseconds()` (no wall clock read on the statement path). The
    /// fields are atomic: changing them takes no lock.
    final class Record: Sendable {
        private let rawState: Atomic<UInt8>
        let connectedAt: UInt64
        private let changed: Atomic<UInt64>

        init(state: State, at now: UInt64) {
            rawState = Atomic(state.rawValue)
            connectedAt = now
            changed = Atomic(now)
        }

        var state: State { State(rawValue: rawState.load(ordering: .relaxed)) ?? .active }
        var since: UInt64 { changed.load(ordering: .relaxed) }

        func set(_ state: State, at now: UInt64) {
            rawState.store(state.rawValue, ordering: .relaxed)
            changed.store(now, ordering: .relaxed)
        }
    }

    // Guarded by `lock`.
    private let lock = NSLock()
    private var servers: [ObjectIdentifier: Record] = [:]
    private var waitingClients = 0
    private var timeouts = 0
    private let acquisitions = Atomic<Int>(0)

    func set(_ connection: BackendConnection, _ state: State, at now: UInt64 = monotonicNanoseconds()) {
        if let record = connection.monitorRecord {
            unsafeDowncast(record, to: Record.self).set(state, at: now)
            return
        }
        let record = Record(state: state, at: now)
        connection.monitorRecord = record
        lock.withLock { servers[ObjectIdentifier(connection)] = record }
    }

    func remove(_ connection: BackendConnection) {
        connection.monitorRecord = nil
        _ = lock.withLock { servers.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    func waiting(_ count: Int, timedOut: Bool) {
        lock.withLock {
            waitingClients = count
            if timedOut { timeouts += 1 }
        }
    }

    func acquired() {
        acquisitions.add(1, ordering: .relaxed)
    }

    /// Connections by state, clients waiting, wait timeouts and acquisitions since start.
    var counts: (active: Int, idle: Int, connecting: Int, waiting: Int, timeouts: Int, acquired: Int) {
        lock.withLock {
            let states = servers.values.map(\.state)
            return (states.filter { $0 == .active }.count, states.filter { $0 == .idle }.count,
                    states.filter { $0 == .connecting }.count, waitingClients, timeouts, acquisitions.load(ordering: .relaxed))
        }
    }

    var serverList: [Server] {
        let (uptime, wall) = (monotonicNanoseconds(), Date())
        func date(_ nanoseconds: UInt64) -> Date { wall.addingTimeInterval(-Double(uptime &- nanoseconds) / 1e9) }
        return lock.withLock {
            servers.values.sorted { $0.connectedAt < $1.connectedAt }
                .map { Server(state: $0.state, connectedAt: date($0.connectedAt), since: date($0.since)) }
        }
    }
}
