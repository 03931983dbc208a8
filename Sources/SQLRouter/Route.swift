import Merge

/// Where one statement runs, as decided by the ``Router``.
public enum Route: Sendable, Equatable {
    /// Exactly one shard owns everything the statement touches: the shard key of every sharded
    /// table is fixed to values on this shard, or the statement reads only tables pinned to it.
    case shard(Int)
    /// Any one shard gives the full answer: catalog queries, reads of reference tables, and
    /// statements that name no table (`SELECT 1`, `SHOW x`).
    case anyShard
    /// Run on these shards (sorted, at least two) and combine the answers as `kind` says.
    case scatter([Int], ScatterKind)
    /// Run the same statement on every shard and answer the client once.
    case allShards(AllShardsKind)
    /// `EXPLAIN` of a statement that runs as `route` says: the shards' plans, preceded by
    /// pgshard's own lines.
    indirect case explain(Route, Explanation)
    /// An `INSERT` sent as texts of pgshard's making, one per shard (in shard order), command
    /// tags summed: a multi-row `INSERT … VALUES` whose rows belong to several shards, each shard
    /// getting its own rows; or an INSERT whose generated keys pgshard wrote in (one part when
    /// its rows are on one shard).
    case insertSplit([ShardStatement])
    /// `COPY table FROM STDIN`: the client's rows are streamed to the shards that own them,
    /// all in one transaction.
    case copyIn(CopyInPlan)
    /// `DECLARE`, `FETCH`, `MOVE`, `CLOSE`: the session runs them on the shards its cursor
    /// lives on.
    case cursor(CursorStatement)
    /// A statement the proxy handles itself (transaction control, session settings).
    case session(SessionCommand)
    /// The statement cannot be routed exactly; send this error to the client.
    case refuse(RoutingError)
}

/// How the answers of a ``Route/scatter(_:_:)`` statement are combined.
public enum ScatterKind: Sendable, Equatable {
    /// A `SELECT` whose rows are concatenated in shard order; no ordering is promised.
    case read
    /// An `UPDATE` or `DELETE` whose command tags are summed (`UPDATE 7` = 3 + 4) and whose
    /// `RETURNING` rows are concatenated.
    case write
    /// A `SELECT` whose top level combines rows (ORDER BY, LIMIT, aggregates, GROUP BY,
    /// DISTINCT): every shard runs the plan's statement and the merge combines their rows.
    case merge(MergePlan)
    /// `COPY … TO STDOUT`: the shards' data concatenated, one CopyOutResponse and CopyDone,
    /// `COPY n` summed; `header`: a CSV header line comes from one shard only.
    case copyOut(header: Bool)
}

/// Why a statement runs on every shard.
public enum AllShardsKind: Sendable, Equatable {
    /// Schema changes (`CREATE`, `ALTER`, `DROP`, `TRUNCATE`, `GRANT`, …): every shard holds the
    /// same schema.
    case ddl
    /// A write to a reference table: every shard holds a full copy, so every copy changes.
    case referenceWrite
}

/// A statement that changes the state of the client session rather than data; the proxy
/// carries it out itself.
public enum SessionCommand: Sendable, Equatable {
    /// `BEGIN` / `START TRANSACTION`. `options` is the statement that opens the same kind of
    /// transaction on a shard, e.g. `BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY`.
    case begin(options: String)
    /// `COMMIT` / `END`.
    case commit
    /// `ROLLBACK` / `ABORT`.
    case rollback
    /// `SAVEPOINT name`; the name as PostgreSQL folds it (quote it when sending it on).
    case savepoint(String)
    /// `RELEASE [SAVEPOINT] name`.
    case release(String)
    /// `ROLLBACK TO [SAVEPOINT] name`.
    case rollbackTo(String)
    /// `SET`, `SET LOCAL`, `SET SESSION`, `SET TIME ZONE`, `SET TRANSACTION …`, `RESET x`,
    /// `RESET ALL`, `SET … TO DEFAULT`: sent to every shard connection of the session and
    /// replayed on new ones. `isLocal` settings (`SET LOCAL`, `SET TRANSACTION`) end with the
    /// transaction.
    case set(sql: String, isLocal: Bool)
    /// `SELECT set_config('name', $n, is_local)` of the extended protocol: becomes ``set(sql:isLocal:)``
    /// once the parameter's value is known; `location` is the byte offset of `$n` in the whole
    /// message (the Parse text), not in `sql`.
    case setConfig(sql: String, isLocal: Bool, parameter: Int, location: Int)
    /// `DISCARD ALL`.
    case discardAll
    /// `SET [LOCAL] pgshard.shard|pgshard.key = …` (`hint` set) or `RESET` of one (`hint` nil):
    /// the session's routing hint, which pgshard keeps itself (see ``RoutingContext``).
    case routingHint(name: String, hint: RoutingHint?, isLocal: Bool)
    /// `SELECT pgshard.next_id('table') [AS column]`: pgshard answers one row with a new global
    /// id (bigint) in a column of this name.
    case nextID(column: String)
    /// A statement that has nothing to do: answered with this command tag.
    case acknowledge(String)
}

/// One statement of a simple-protocol Query message and its route.
public struct RoutedStatement: Sendable, Equatable {
    /// The statement's own text: a substring of the message without surrounding whitespace
    /// and without the `;` that ends it.
    public var sql: String
    /// The number of characters (Unicode scalars, as PostgreSQL counts error positions) before
    /// `sql` in the whole message: add it to an error position a shard reports for `sql`.
    public var characterOffset: Int
    /// Where the statement runs.
    public var route: Route
    /// pgshard's explanation of the route (``Router/explain(_:context:)`` only).
    public var explanation: [String]?
    /// A `$n` parameter stood where a shard key constant could: routed without parameter
    /// values, the route is the one for unknown keys; route again with the bound values.
    public var dependsOnParameters = false
    /// An extended-protocol INSERT that leaves generated keys to pgshard: the shards prepare
    /// ``GeneratedKeyParameters/sql`` and every Bind appends new keys (``Router/generatedKeys(_:context:)``).
    public var generatedKeys: GeneratedKeyParameters?

    /// A routed statement; see the properties.
    public init(sql: String, characterOffset: Int, route: Route) {
        self.sql = sql
        self.characterOffset = characterOffset
        self.route = route
    }
}

/// The routing of one simple-protocol Query message.
public enum RoutingOutcome: Sendable, Equatable {
    /// One entry per statement, in order. Empty when the message holds only whitespace and
    /// comments: answer with EmptyQueryResponse.
    case statements([RoutedStatement])
    /// The whole message fails before any statement runs: a syntax error (42601, with
    /// `position`), a message too large (54001) or too deeply nested (54001).
    case failure(RoutingError)
}
