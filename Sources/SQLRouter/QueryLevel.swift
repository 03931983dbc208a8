import Sharding

/// The shards on which the rows of one table occurrence that a statement can use live.
enum ShardRestriction: Equatable {
    /// No usable condition on the shard key: rows on any shard.
    case unrestricted
    /// Conditions on the shard key admit only rows on these shards. Empty when the conditions
    /// contradict each other (`id = 1 AND id = 2` on different shards): no row qualifies, so
    /// any one shard gives the same (empty) contribution.
    case shards(Set<Int>)

    /// Both conditions at once.
    func intersection(_ other: Set<Int>) -> ShardRestriction {
        switch self {
        case .unrestricted: .shards(other)
        case .shards(let shards): .shards(shards.intersection(other))
        }
    }
}

/// One place where a statement names a table, and what routing knows about it.
struct TableOccurrence {
    /// The table as written.
    var table: TableName
    /// Where its rows live.
    var placement: TablePlacement
    /// The query level (index into ``StatementFacts/levels``) the name belongs to.
    var level: Int
    /// Named in its level's FROM list (directly or inside joins) or as the target of an
    /// UPDATE/DELETE; only such occurrences are restricted by the level's WHERE clause.
    var isInRange: Bool
    /// The kind of outer join whose nullable side holds it (`LEFT`, `RIGHT`, `FULL`), if any.
    var nullableBy: String?
    /// The shards its usable rows live on (computed from the key formulas by ``KeyPlacement``).
    var restriction: ShardRestriction = .unrestricted
    /// The target of an INSERT, UPDATE or DELETE.
    var isWriteTarget: Bool
    /// For the target of `INSERT … VALUES` into a sharded table: each row's terms for the key
    /// columns, in key order.
    var insertRows: [[KeyTerm]]?
    /// `INSERT … SELECT` whose key column is filled from a co-located table's key: the target's
    /// rows go where that table's rows are (``KeyPlacement``).
    var keyFromSelect = false
    /// The shard of each of those rows, once read.
    var insertRowShards: [Int]?
    /// Occurrences joined on equal shard keys at the same level share a component: their
    /// matching rows are on the same shard (``KeyPlacement``).
    var component = 0
    /// Occurrences whose rows meet only on equal keys, across levels too (correlated subqueries):
    /// a statement whose sharded occurrences form one group can run on each shard separately.
    var group = 0

    /// The key column and function of a sharded table.
    var shardKey: ShardedTable? {
        if case .sharded(let key) = placement { return key }
        return nil
    }

    /// `users.id`, for messages.
    var keyDescription: String {
        "\(table.relname).\(shardKey?.keyColumns.joined(separator: ", ") ?? "?")"
    }
}

/// The clauses of a SELECT level that combine rows and so cannot be computed per shard.
enum CombiningClause: Hashable {
    case aggregate, window, groupBy, having, distinct, orderBy, limit, setOperation
}

/// The kind of a query level.
enum QueryLevelKind: Equatable {
    case select, setOperation, insert, update, delete
}

/// One query level: a SELECT (top, CTE body, FROM subquery, sublink, set-operation arm) or an
/// INSERT/UPDATE/DELETE. Occurrences of tables belong to exactly one level, and a level's WHERE
/// clause restricts its own occurrences only.
struct QueryLevel {
    var kind: QueryLevelKind
    /// The enclosing level.
    var parent: Int?
    /// The names this level's FROM list exposes (aliases and unaliased table or CTE names).
    var rangeNames: Set<String> = []
    /// Row-combining clauses present at this level.
    var combining: Set<CombiningClause> = []
    /// The FROM list holds something besides sharded tables (a reference table, a function, a
    /// subquery, VALUES, a CTE): rows every shard would produce alike.
    var hasOtherRangeItems = false
    /// A set operation that is `UNION ALL` (its rows are its arms' rows, concatenated).
    var isUnionAll = false
    /// An arm (`larg`/`rarg`) of its parent set operation, not one of its CTEs.
    var isArm = false
    /// The aggregate calls written at this level (fields of their `FuncCall` nodes).
    var aggregates: [JSONValue] = []
    /// The key conditions of the level's WHERE clause.
    var whereFormula: KeyFormula = .unknown
}

/// `a.key = b.key` between two key columns: rows that satisfy it have equal keys.
struct KeyEquality {
    var left: KeyColumnReference
    var right: KeyColumnReference
}

/// Everything one scan of a DML statement found.
struct StatementFacts {
    var levels: [QueryLevel] = []
    var occurrences: [TableOccurrence] = []
    /// Equalities between key columns found in WHERE clauses and JOIN conditions (AND-conjuncts
    /// only), including correlated ones between a subquery and an enclosing level.
    var keyEqualities: [KeyEquality] = []
    /// The first table pgshard does not know.
    var unknownTable: TableName?
    /// The first refusal found while scanning (an INSERT whose shard cannot be computed, an
    /// UPDATE of the shard key, SELECT INTO, …).
    var refusal: RoutingError?
    /// INSERT/UPDATE/DELETE levels inside WITH.
    var hasNestedWrite = false
    /// The first call of a function whose value differs from shard to shard (`now()`,
    /// `random()`, `nextval()`, `CURRENT_TIMESTAMP`, …), as written.
    var volatileFunction: String?
    /// A call of a session-state function whose effect lives on the shard that runs it:
    /// advisory locks and `pg_notify` (must always be the same shard), `set_config` (refused).
    var sessionFunction: String?

    /// The first refusal that only says the key is unknown (INSERT without the key, with a key
    /// that is not a constant, INSERT … SELECT): a routing hint supplies the shard instead.
    var keyRefusal: RoutingError?

    mutating func refuse(_ error: RoutingError) {
        if refusal == nil { refusal = error }
    }
}
