import Backend
import Foundation
import Merge
import PGWire
import SQLRouter

/// A statement the client prepared with Parse.
final class ClientStatement {
    let sql: String
    /// The parameter types the client declared (0 = let the server infer).
    let parameterTypes: [UInt32]
    /// The route without parameter values; nil for an empty statement.
    let routed: RoutedStatement?
    /// `routed` is nil. Kept apart, as `generatesKeys` is: each read of an optional struct
    /// copies it (through generic value witnesses), and every Bind asks both.
    let isEmpty: Bool
    /// Set when the route depends on the parameters: routes each Bind without a new parse.
    let parameterized: ParameterizedRoute?
    /// The name it has on shard connections: shared by every client preparing the same text
    /// and types (named statements), or "" for the client's unnamed statement.
    let backendName: String
    /// The session's routing context when it was routed: a Bind under another (a new
    /// `SET pgshard.shard`, say) routes the text again.
    let routingContext: RoutingContext
    /// The configuration generation it was routed under: after a reload it is routed again.
    var generation = 0
    /// An INSERT whose generated keys each Bind appends as parameters (`sql` and
    /// `parameterTypes` are the shards' Parse, with those parameters).
    let generatedKeys: GeneratedKeyParameters?
    /// `generatedKeys` is set.
    let generatesKeys: Bool
    /// Its text starts like a read (``Route/textReads(_:)``): worked out once, not per Execute.
    private(set) lazy var textReads = Route.textReads(sql)

    init(sql: String, parameterTypes: [UInt32], routed: RoutedStatement?, parameterized: ParameterizedRoute?, backendName: String,
         routingContext: RoutingContext) {
        self.routingContext = routingContext
        self.parameterized = parameterized
        self.sql = sql
        self.parameterTypes = parameterTypes
        self.routed = routed
        self.isEmpty = routed == nil
        self.generatedKeys = routed?.generatedKeys
        self.generatesKeys = generatedKeys != nil
        self.backendName = backendName
    }
}

/// A portal the client bound: the statement, the shards it runs on and how their answers combine.
final class ClientPortal {
    let name: String
    private(set) var statement: ClientStatement
    private(set) var route: Route
    /// The shard links holding the portal, in shard order; empty for portals pgshard answers
    /// itself (session commands, empty statements).
    private(set) var links: [ShardLink]
    private(set) var mode: FanOutMode
    /// Combines the shards' answers of the portal's Execute, made at each Execute on several
    /// shards (one shard's answers need no combining): its value before that is never read.
    var merge: FanOutMerge
    /// Fetching in parts (Execute with a row limit) reads the shards one after the other:
    /// the shard being read, and the rows sent for the current Execute. For portals pgshard
    /// runs itself (COPY, `pgshard.next_id`), 1 once it ran.
    var cursor = 0
    var rowsInCall = 0
    /// A cross-shard SELECT whose rows the merge combines: the shards run the plan's statement
    /// (bound as this portal), and `merger` carries the plan out.
    var merger: RowMerger?
    /// Whether a Describe of the portal was sent to its first shard (feeding `merger` the
    /// shard's RowDescription).
    var mergeDescribed = false
    /// Streams (positions in `links`) whose shard portal reached its end.
    var mergeEnded: Set<Int> = []
    /// The Bind's result formats, for portals pgshard answers itself (`pgshard.next_id`) and
    /// FETCH portals across shards.
    var resultFormats: [Int16] = []
    /// A FETCH or MOVE of a SQL cursor on several shards: run step by step at each Execute
    /// (``ShardedFetchExecution``), never bound on a shard.
    var shardedFetch: CursorFetch?

    init(name: String, statement: ClientStatement, route: Route, links: [ShardLink], mode: FanOutMode) {
        self.name = name
        self.statement = statement
        self.route = route
        self.links = links
        self.mode = mode
        self.merge = FanOutMerge(mode: mode, shards: [])
    }

    /// `route` is a SQL cursor's statement (DECLARE, CLOSE, FETCH, MOVE). Read in place:
    /// `portal.route` read from outside is copied first, a large enum (at every Execute).
    var routeIsCursorStatement: Bool {
        switch route {
        case .cursor: true
        default: false
        }
    }

    /// Makes this closed portal, which nothing else holds any more, the one a new Bind creates:
    /// as ``init(name:statement:route:links:mode:)`` would make it, under the same name.
    func reopen(statement: ClientStatement, route: Route, links: [ShardLink], mode: FanOutMode) {
        if statement !== self.statement { self.statement = statement }
        self.route = route
        self.links = links
        self.mode = mode
        cursor = 0
        rowsInCall = 0
        if merger != nil { merger = nil }
        mergeDescribed = false
        if !mergeEnded.isEmpty { mergeEnded = [] }
        if !resultFormats.isEmpty { resultFormats = [] }
        if shardedFetch != nil { shardedFetch = nil }
    }
}

/// One answer the client is owed, in the order of its messages.
enum OwedAnswer {
    /// An answer pgshard gives itself.
    case local(LocalAnswer)
    /// Answers a shard gives; `silent` ones are consumed without reaching the client.
    case shard(ShardLink, ShardAnswer)
    /// Given already (a shard's Sync answer may come before earlier answers of other shards).
    case done
    /// The Execute of a merge portal: every shard of it answers at once.
    case merge(MergeExecution)
}

extension OwedAnswer {
    // `switch`, not `if case`: see ``ExtendedState/nextIsShardAnswer(of:)``.

    /// Its case, without its payload.
    @inline(__always)
    var kind: OwedAnswerKind {
        switch self {
        case .local: .local
        case .shard: .shard
        case .done: .done
        case .merge: .merge
        }
    }

    /// A shard gives it.
    @inline(__always)
    var isShard: Bool { kind == .shard }

    /// The Execute of a merge portal that has no shard answer left to read.
    var finishedMerge: MergeExecution? {
        switch self {
        case .merge(let execution): execution.isFinished ? execution : nil
        case .local, .shard, .done: nil
        }
    }

    /// A shard's answer to Sync.
    @inline(__always)
    var isSync: Bool {
        switch self {
        case .shard(_, .sync): true
        default: false
        }
    }

    /// It is an answer `link` gives.
    @inline(__always)
    func isShardAnswer(of link: ShardLink) -> Bool {
        switch self {
        case .shard(let owner, _): owner === link
        case .local, .done, .merge: false
        }
    }

    /// The fast lane's step for a pass-through message of type `type` answering this (a
    /// shard's answer), or nil (see ``ShardAnswer/laneStep(for:)``).
    @inline(__always)
    func laneStep(for type: UInt8) -> LaneStep? {
        switch self {
        case .shard(_, let answer): answer.laneStep(for: type)
        case .local, .done, .merge: nil
        }
    }

    /// It reads a portal in parts (an Execute of a several-shard portal with a row limit, a
    /// FETCH across shards).
    var readsInParts: Bool {
        switch self {
        case .shard(_, .executePart), .shard(_, .fetchStep): true
        case .shard, .local, .done, .merge: false
        }
    }
}

/// The case of an ``OwedAnswer``.
enum OwedAnswerKind {
    case local, shard, done, merge
}

enum LocalAnswer {
    case parseComplete, bindComplete, closeComplete, noData, emptyQuery
    /// Describe of an empty statement: no parameters, no rows.
    case emptyStatementDescription
    case commandComplete(String)
    case error(ErrorFields)
    /// `pgshard.next_id`: its Describe and its row.
    case parameterDescription([UInt32])
    case rowDescription([FieldDescription])
    case dataRow([[UInt8]?])
}

enum ShardAnswer {
    /// Parse of the statement under its shard-side name (the client got ParseComplete already).
    case parse(name: String)
    case bind(silent: Bool)
    /// `hiddenParameters`: trailing parameters pgshard appends (generated keys), left out of
    /// the ParameterDescription the client sees.
    case describeStatement(silent: Bool, hiddenParameters: Int)
    case describePortal(silent: Bool)
    case execute(ClientPortal, last: Bool, silent: Bool)
    /// Execute of a portal on several shards read one after the other (row limit `maxRows`).
    case executePart(ClientPortal, maxRows: Int32, silent: Bool)
    /// Execute of a FETCH or MOVE on a cursor across shards: the step on one shard (Parse,
    /// Bind, Execute, Close), then the next shard's in the same place while rows are missing.
    case fetchStep(ShardedFetchExecution, silent: Bool)
    /// Describe of a merge portal on its first shard: the shard's RowDescription feeds the
    /// merge, which answers with the client's.
    case describeMerge(ClientPortal, silent: Bool)
    case close(silent: Bool)
    /// A simple Query run for pgshard's own purposes (ROLLBACK of a failed batch); all swallowed.
    case query
    case sync

    var isSync: Bool {
        switch self {
        case .sync: true
        default: false
        }
    }

    func silenced() -> ShardAnswer {
        switch self {
        case .parse: self
        case .bind: .bind(silent: true)
        case .describeStatement(_, let hidden): .describeStatement(silent: true, hiddenParameters: hidden)
        case .describePortal: .describePortal(silent: true)
        case .describeMerge(let portal, _): .describeMerge(portal, silent: true)
        case .execute(let portal, let last, _): .execute(portal, last: last, silent: true)
        case .executePart(let portal, let maxRows, _): .executePart(portal, maxRows: maxRows, silent: true)
        case .fetchStep(let run, _): .fetchStep(run, silent: true)
        case .close: .close(silent: true)
        case .query, .sync: self
        }
    }
}

/// The client's extended-protocol state: statements, portals, and the batch in flight (the
/// messages since the last Sync) with the answers still owed.
final class ExtendedState {
    var statements: [String: ClientStatement] = [:] {
        didSet { lastBound = nil }
    }
    /// The statement the last Bind named: clients bind the same one again and again, and
    /// comparing its name costs less than hashing it.
    private var lastBound: (name: String, statement: ClientStatement)?
    var portals = PortalTable()
    /// Answers owed to the client, oldest first; `head` indexes the next one.
    var owed: [OwedAnswer] = []
    var head = 0
    /// Shard links used since the last Sync, in first-use order.
    var touched: [ShardLink] = []
    /// After an error, messages are skipped until Sync (the protocol's error rule).
    var skipping = false
    /// An error happened in this batch.
    var failed = false
    /// A statement of the batch may have written (see ``Route/mayWrite(textReads:)``).
    var mayHaveWritten = false
    /// The batch ends with a commit across its shards before ReadyForQuery.
    var commitOnSync = false
    /// Shards (by index) on which a COPY of the batch, run with the simple protocol outside a
    /// transaction block, opened a block: the batch's Sync commits or rolls it back with the rest.
    var openedBlocks: Set<Int> = []
    /// Links paused because their answers are not the client's next ones.
    var held: [BackendConnection] = []
    /// Whether a Sync is being answered (waiting for every shard's ReadyForQuery).
    var syncing = false
    /// Shards whose error ended the batch: they skip everything until Sync.
    var failedLinks: Set<Int> = []
    /// Runs instead of ReadyForQuery once the batch ended (a Query came before Sync).
    var afterSync: (() -> Void)?
    /// Runs once every owed answer has been given.
    var onIdle: (() -> Void)?
    /// A FETCH across shards is in flight: the client's next messages wait until every owed
    /// answer was given, because a shard the FETCH goes on to must answer its step before
    /// anything sent to it later.
    var fetchInFlight = false

    /// The batch owed an answer that reads a portal in parts (set where one is owed):
    /// ``readsInParts`` may be true. Most batches never do, and every Sync asks.
    var mayReadInParts = false

    /// An answer still owed reads a portal in parts (an Execute of a several-shard portal with
    /// a row limit, a FETCH across shards).
    var readsInParts: Bool {
        guard mayReadInParts else { return false }
        for index in head..<owed.count where owed[index].readsInParts { return true }
        return false
    }

    // The next owed answer, read in place. Tested with `if case` or `guard case`, an element
    // of `owed` is copied first (its link, its portal: retains and releases through an
    // outlined copy), even without a binding; a `switch` reads it where it is. These run for
    // every answer of every batch.

    /// The next owed answer is one `link` gives.
    @inline(__always)
    func nextIsShardAnswer(of link: ShardLink) -> Bool {
        head < owed.count && owed[head].isShardAnswer(of: link)
    }

    /// The fast lane's step for a message of type `type` answering the next owed answer, a
    /// shard's (see ``ShardAnswer/laneStep(for:)``).
    @inline(__always)
    func nextLaneStep(for type: UInt8) -> LaneStep? {
        owed[head].laneStep(for: type)
    }

    /// Stops reading the answers of every link the batch touched. Without a retain and a
    /// release of each link and connection around the call: `touched` holds the links and a
    /// link its connection, and `stopReceiving` only resets the connection's own state and
    /// drops its handlers (none of them runs), so it lets go of neither.
    func stopReadingTouched() {
        for index in touched.indices {
            Unmanaged.passUnretained(touched[index])._withUnsafeGuaranteedRef { link in
                guard let connection = link.connection else { return }
                Unmanaged.passUnretained(connection)._withUnsafeGuaranteedRef { $0.stopReceiving() }
            }
        }
    }

    /// The statement a Bind names, if the client prepared it.
    func statementToBind(_ name: String) -> ClientStatement? {
        if let lastBound, lastBound.name == name { return lastBound.statement }
        guard let statement = statements[name] else { return nil }
        lastBound = (name, statement)
        return statement
    }

    func resetBatch() {
        // One by one from the end: `removeAll(keepingCapacity:)` goes through the general
        // `replaceSubrange`, which destroys the elements through generic value witnesses and
        // cost several times as much for the few answers of a batch.
        while !owed.isEmpty { owed.removeLast() }
        head = 0
        while !touched.isEmpty { touched.removeLast() }
        skipping = false
        failed = false
        mayHaveWritten = false
        commitOnSync = false
        if !openedBlocks.isEmpty { openedBlocks.removeAll() }
        if !held.isEmpty { held.removeAll() }
        syncing = false
        if !failedLinks.isEmpty { failedLinks.removeAll() }
        // (Mostly unset: clearing an optional closure that is nil already still destroys it.)
        if afterSync != nil { afterSync = nil }
        if onIdle != nil { onIdle = nil }
        fetchInFlight = false
        mayReadInParts = false
    }
}

/// Names of statements prepared on shard connections, shared by all sessions so that one
/// connection prepares a given statement once whichever client asks for it.
final class StatementNames: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String: String] = [:]
    private var next = 0
    private let limit: Int

    init(limit: Int = 10_000) { self.limit = limit }

    func name(sql: String, types: [UInt32]) -> String {
        let key = types.map(String.init).joined(separator: ",") + "|" + sql
        lock.lock()
        defer { lock.unlock() }
        if let name = names[key] { return name }
        // Forgetting names only costs a new Parse on connections that had the statement.
        if names.count >= limit { names.removeAll(keepingCapacity: true) }
        next += 1
        let name = "pgshard_\(next)"
        names[key] = name
        return name
    }
}

/// One Execute of a merge portal in the extended protocol. Each shard not at its end was sent
/// Execute with the same row limit (0: all rows) when the client's Execute arrived; the merge
/// reads their answers at once and gives the client at most `maxRows` rows. Rows read beyond
/// that wait in the portal's ``RowMerger`` for the next Execute: each unfinished shard got
/// `maxRows` new rows, so at least `maxRows` rows can always leave.
final class MergeExecution {
    let portal: ClientPortal
    let links: [ShardLink]
    let merger: RowMerger
    let maxRows: Int
    /// Streams whose Execute for this call has not ended (PortalSuspended or CommandComplete).
    var outstanding: Set<Int>
    var rowsInCall = 0
    var error: ErrorFields?
    /// Links whose error ended their part of the batch.
    var failedLinks: [ShardLink] = []
    /// Streams paused because their queue is long.
    var waiting: [Int: BackendConnection] = [:]
    var silent = false

    init(portal: ClientPortal, merger: RowMerger, maxRows: Int, outstanding: Set<Int>) {
        self.portal = portal
        self.links = portal.links
        self.merger = merger
        self.maxRows = maxRows
        self.outstanding = outstanding
    }

    func stream(of link: ShardLink) -> Int? { links.firstIndex { $0 === link } }

    /// Whether `link` still owes this Execute's answers.
    func awaits(_ link: ShardLink) -> Bool {
        guard let stream = stream(of: link) else { return false }
        return outstanding.contains(stream)
    }

    /// No shard answer left to read for this call.
    var isFinished: Bool { outstanding.isEmpty }

    /// Rows this call may still send.
    var allowance: Int? { maxRows == 0 ? nil : maxRows - rowsInCall }
}
