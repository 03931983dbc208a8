import Backend
import Dispatch
import Logging
import PGWire
import SQLRouter

/// One authenticated client: runs its statements on the shards and keeps its session state
/// (transaction, settings, backend connections). Lives on its connection's queue.
///
/// Connections to shards are opened lazily, one per shard this client uses, and belong to this
/// client until it disconnects (session pooling; transaction pooling comes with issue 3).
///
/// `@unchecked Sendable`: confined to its connection's queue; other threads only hold it to
/// schedule work on that queue (cancel requests).
final class ClientSession: @unchecked Sendable {
    /// Strong, a cycle the connection breaks when it closes (``ClientConnection/close()``
    /// drops its session; every connection with a session is closed: the loop's registry holds
    /// it until then). `unowned` would check and retain on every use, a dozen times per
    /// transaction, and leave a session that outlives its connection a dangling reference.
    let connection: ClientConnection
    let startup: StartupMessage
    /// The configuration, router and pools in force for this session; a reload's successor
    /// is adopted between transactions (``adoptLatestContext()``).
    private(set) var context: ProxyContext
    var logger: Logger { connection.logger }
    private(set) var processID: Int32 = 0
    private(set) var secretKey: Int32 = 0

    /// One slot per shard: the backend connection and its place in the transaction.
    var links: [ShardLink]
    /// `[links[i]]` for each shard, made with the links: the target list of nearly every
    /// statement, without an array made for each.
    private(set) var soleLinks: [[ShardLink]]
    /// The client's explicit transaction, if one is open.
    var transaction: TransactionState?
    /// Session-level SET/RESET statements in order, replayed on every new backend connection.
    var settings: [String] = []
    /// The run-time parameters the client has been told, to send ParameterStatus on change.
    var reportedParameters: [String: String] = [:]
    /// True while a Query message is being executed.
    var isBusy = false
    /// Extended-protocol statements, portals and the batch in flight.
    let extended = ExtendedState()
    /// The client used session state that lives on its shard connections (LISTEN, advisory
    /// locks, temporary tables, WITH HOLD cursors, SQL PREPARE): under transaction pooling it
    /// keeps its connections until it disconnects.
    var pinned = false
    /// Notices already forwarded for the running statement (the same notice from every shard
    /// of a DDL is shown once).
    var forwardedNotices: Set<[Diagnostics.Field]> = []
    /// `SET pgshard.shard` / `SET pgshard.key` of the session, by setting name.
    var routingHints: [String: RoutingHint] = [:]
    /// The session's queue (its connection's), for work sent from other threads.
    let queue: EventLoop
    /// The SQL cursors the client declared, and where they live.
    var cursors = SQLCursors()
    /// The `COPY … FROM STDIN` running, which takes the client's CopyData, CopyDone and CopyFail.
    var copyIn: ShardCopyIn?
    /// The Query message running whole on one shard without callbacks
    /// (``runWholeMessage(on:sql:kind:)``).
    var wholeMessageRun: WholeMessageRun?
    /// PAUSE holds the session's next message.
    private var heldByPause = false
    /// The client went away (``ended()``): `connection` must not be touched any more.
    private(set) var hasEnded = false
    /// Connected to the admin console (its user is an admin: checked at start).
    let isAdmin: Bool
    /// The user's `cross_shard`, or the configuration's (read once per configuration).
    private var crossShard: RoutingContext.CrossShard

    /// Given to every shard connection the session takes, and taken back when the connection
    /// returns to its pool (``ShardPool/release(_:reusable:)``), before the session can end.
    /// Made once: a closure per acquisition would cost an allocation per transaction.
    private(set) lazy var noticeForwarder: (Diagnostics) -> Void = { [unowned self] in forwardNotice($0) }
    private(set) lazy var notificationForwarder: (BackendMessage) -> Void = { [unowned self] in forwardNotification($0) }

    init(connection: ClientConnection, startup: StartupMessage) {
        self.connection = connection
        self.startup = startup
        self.queue = connection.queue
        self.context = connection.context
        let pools = context.pools.pools(for: connection.queue)
        self.links = context.config.shards.enumerated().map { ShardLink(index: $0, name: $1.name, pool: pools[$0]) }
        self.soleLinks = links.map { [$0] }
        self.isAdmin = startup.database == Self.adminDatabase
        self.crossShard = Self.crossShard(of: startup, in: connection.context)
    }

    /// What the router needs to know about this session besides the SQL: the user's
    /// `cross_shard` and the session's (or transaction's) routing hint. A shard hint wins over a
    /// key hint.
    var routingContext: RoutingContext {
        let localHints = transaction?.localHints ?? [:]
        guard !routingHints.isEmpty || !localHints.isEmpty else {
            return RoutingContext(crossShard: crossShard, hint: nil)
        }
        var hints = routingHints
        for (name, hint) in localHints { hints[name] = hint }
        let hint = hints[RoutingHint.shardSetting] ?? hints[RoutingHint.keySetting]
        return RoutingContext(crossShard: crossShard, hint: hint)
    }

    private static func crossShard(of startup: StartupMessage, in context: ProxyContext) -> RoutingContext.CrossShard {
        context.crossShardByUser[startup.user ?? ""] ?? context.config.crossShard
    }

    /// Whether the connection may hand over the next message.
    var acceptsMessages: Bool { !isBusy || copyIn?.acceptsData == true }

    /// Sends the startup answer: AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery.
    /// The database name of the admin console.
    static let adminDatabase = "pgshard"

    func start() {
        if isAdmin, !context.config.users.contains(where: { $0.name == startup.user && $0.admin }) {
            connection.output.errorResponse(.error(SQLState(rawValue: "28000"), "user \"\(startup.user ?? "")\" may not use the admin console",
                                                   hint: "mark the user admin: true in the configuration", severity: "FATAL"))
            connection.closeAfterWrite()
            return
        }
        (processID, secretKey) = context.registry.register(self)
        settings = startupSettings()
        connection.logger[metadataKey: "client.user"] = "\(startup.user ?? "")"
        let out = connection
        out.output.authenticationOk()
        for (name, value) in initialParameters() {
            reportedParameters[name] = value
            out.output.parameterStatus(name: name, value: value)
        }
        out.output.backendKeyData(processID: processID, secretKey: secretKey)
        out.output.readyForQuery(.idle)
        out.flush()
    }

    /// The ParameterStatus values a client gets at startup: the shards' values, overridden by
    /// what the client asked for in its startup packet.
    private func initialParameters() -> [(String, String)] {
        var values: [(String, String)] = context.serverParameters
        func set(_ name: String, _ value: String) {
            if let i = values.firstIndex(where: { $0.0 == name }) { values[i].1 = value } else { values.append((name, value)) }
        }
        set("application_name", "")
        set("session_authorization", startup.user ?? "")
        for (name, value) in startup.parameters where Self.reportedNames.contains(name) {
            set(name, value)
        }
        return values
    }

    private func isTerminate(_ message: FrontendMessage) -> Bool {
        if case .terminate = message { return true }
        return false
    }

    /// Between transactions and batches, not running anything (or held by PAUSE): what PAUSE
    /// waits for.
    var isBetweenTransactions: Bool { transaction == nil && (!isBusy || heldByPause) && !batchIsOpen }

    /// Moves the session to the configuration a reload put in force, when nothing of it lives
    /// on its shard connections: outside a transaction and an extended-protocol batch, and not
    /// pinned and holding no cursor (a pinned session keeps its configuration until it ends). Its shard connections
    /// go back to the old pools, which close them; new ones come from the new pools.
    func adoptLatestContext() {
        guard context.isReplaced else { return }
        let latest = context.latest
        guard latest !== context, transaction == nil, !pinned, cursors.isEmpty, !isBusy else { return }
        for link in links { link.close() }
        context = latest
        crossShard = Self.crossShard(of: startup, in: latest)
        let pools = context.pools.pools(for: connection.queue)
        links = context.config.shards.enumerated().map { ShardLink(index: $0, name: $1.name, pool: pools[$0]) }
        soleLinks = links.map { [$0] }
        logger.debug("session moved to the reloaded configuration", metadata: ["generation": "\(context.generation)"])
    }

    /// Parameters PostgreSQL reports with ParameterStatus (GUC_REPORT).
    static let reportedNames = Set(BackendConnection.reportedParameters)

    /// Whether the client's next message may skip ``received(_:)``: decoded without a
    /// ``FrontendMessage`` and handed to its handler after ``commonMessageStarts()``. Not while
    /// copying, paused or the admin console, which take ``received(_:)`` with the message made.
    var takesMessagesDirectly: Bool {
        copyIn == nil && !isAdmin && (batchIsOpen || transaction != nil || !context.pause.isPaused)
    }

    /// What ``received(_:)`` does before it hands any message to its handler, for a message
    /// that skips it (``takesMessagesDirectly``).
    func commonMessageStarts() {
        if !batchIsOpen { adoptLatestContext() }
    }

    /// A Query message that skips ``received(_:)`` (``takesMessagesDirectly``): what that does
    /// with it.
    func queryMessageReceived(_ sql: String) {
        commonMessageStarts()
        if ext.skipping { return }
        if batchIsOpen {
            syncReceived { [self] in queryReceived(sql) }
        } else {
            queryReceived(sql)
        }
    }

    /// Handles one message of the client. `consuming`: the message is destroyed where its
    /// payload is used up, not by the caller — whose destroy of a whole `FrontendMessage` goes
    /// through generic value witnesses, several hundred instructions per message.
    func received(_ message: consuming FrontendMessage) {
        if let copyIn, copyIn.receivesClientMessages {
            return copyReceived(message, by: copyIn)
        }
        if !batchIsOpen, !isAdmin, transaction == nil, !isTerminate(message), context.pause.isPaused {
            // PAUSE: the next transaction waits for RESUME; the socket is not read meanwhile.
            connection.wantsInput = false
            isBusy = true
            heldByPause = true
            let waiting = copy message
            let held = context.pause.hold(on: queue) { [weak self] in
                guard let self else { return }
                self.heldByPause = false
                self.isBusy = false
                guard !self.connection.isClosed else { return }
                self.connection.wantsInput = true
                self.received(waiting)
                self.connection.processInput()
            }
            if held { return }
            heldByPause = false
            isBusy = false
            connection.wantsInput = true
        }
        if !batchIsOpen { adoptLatestContext() }
        if isAdmin { return adminReceived(message) }
        switch consume message {
        case .query(let sql):
            if ext.skipping { return }
            if batchIsOpen {
                syncReceived { [self] in queryReceived(sql) }
            } else {
                queryReceived(sql)
            }
        case .parse(let parse):
            parseReceived(parse)
        case .bind(let bind):
            bindReceived(bind)
        case .describe(let describe):
            describeReceived(describe)
        case .execute(let execute):
            executeReceived(execute)
        case .close(let close):
            closeReceived(close)
        case .sync:
            syncReceived()
        case .flush:
            flushReceived()
        case .terminate:
            connection.close()
        case .functionCall:
            // The fast-path interface (large objects): its function OIDs mean nothing across shards.
            fail(.error(.featureNotSupported, "the function call interface is not supported by pgshard",
                        hint: "call the function with SELECT"))
            connection.output.readyForQuery(transactionStatus)
            connection.scheduleFlush()
        case .copyData, .copyDone, .copyFail:
            // Outside COPY these are ignored, as PostgreSQL does.
            break
        case .password:
            connection.output.errorResponse(.error(.protocolViolation, "unexpected password message", severity: "FATAL"))
            connection.closeAfterWrite()
        case .startup, .sslRequest, .gssEncRequest, .cancelRequest:
            connection.output.errorResponse(.error(.protocolViolation, "unexpected startup packet", severity: "FATAL"))
            connection.closeAfterWrite()
        }
    }

    /// A Query whose text was not valid UTF-8: refused, the session goes on.
    func invalidTextReceived() {
        connection.output.errorResponse(.error(.characterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"",
                                               hint: "pgshard reads statements as UTF-8; set client_encoding to UTF8"))
        transaction?.failed = true
        connection.output.readyForQuery(transactionStatus)
        connection.scheduleFlush()
    }

    /// The status ReadyForQuery reports.
    var transactionStatus: TransactionStatus {
        guard let transaction else { return .idle }
        return transaction.failed ? .failed : .inTransaction
    }

    /// A CancelRequest named this session: cancel whatever runs on its shards.
    func cancelRequested() {
        connection.queue.async { [self] in
            // A shard is running the client's work when it owes a ReadyForQuery, or when it
            // has unanswered messages of an extended-protocol batch whose Sync pgshard holds
            // back until every shard of the batch answered.
            let handles = links.compactMap { link -> BackendCancelHandle? in
                guard let backend = link.connection,
                      backend.isBusy || ext.touched.contains(where: { $0 === link }) && ext.head < ext.owed.count
                else { return nil }
                return backend.makeCancelHandle()
            }
            logger.info("cancel request", metadata: ["shards": "\(handles.count)"])
            guard !handles.isEmpty else { return }
            DispatchQueue.global().async {
                for handle in handles { handle.cancel() }
            }
        }
    }

    /// The client went away: its shard connections go back to the pool when they carry
    /// nothing of this client (transaction pooling, idle, not pinned); the others are closed
    /// (the shards roll back).
    func ended() {
        hasEnded = true
        context.registry.unregister(processID: processID)
        copyIn?.clientLeft()
        copyIn = nil
        let reusable = context.config.pool.mode == .transaction && !pinned
        for link in links {
            guard let backend = link.connection else { continue }
            link.connection = nil
            link.inTransaction = false
            link.pool.release(backend, reusable: reusable && !backend.isBusy && backend.serverTransactionStatus == .idle)
        }
    }
}
