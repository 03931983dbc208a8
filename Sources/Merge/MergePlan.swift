/// How the answers of a SELECT that runs on several shards become the one answer an unsharded
/// PostgreSQL would give. Made by the router from the statement; carried out by ``RowMerger``.
///
/// Every shard runs ``sql`` — the client's statement rewritten so that each shard's rows can be
/// combined: an `avg(x)` becomes `sum(x)` and `count(x)`, expressions the merge sorts or groups
/// by that the client did not select become leading hidden columns, and `LIMIT n OFFSET m`
/// becomes `LIMIT n+m` (or no limit when rows are aggregated).
public struct MergePlan: Sendable, Equatable {
    /// The statement every shard runs.
    public var sql: String
    /// The number of leading *final* columns the client does not see (sort keys and group keys
    /// that are not in the select list).
    public var hiddenColumns: Int
    /// Rows are combined per group (`GROUP BY`, or aggregates without it); nil: shard rows pass
    /// through as they are.
    public var aggregation: Aggregation?
    /// `SELECT DISTINCT`: equal rows from different shards are returned once.
    public var distinct: Bool
    /// `SELECT DISTINCT ON (…)`: the final columns of the ON expressions; the first row of each
    /// key (in ``order``) is returned.
    public var distinctOn: [Int]?
    /// The order of the final rows, on final columns (shard columns when not aggregated).
    public var order: [SortKey]
    /// `LIMIT` / `OFFSET` of the client's statement, applied to the merged rows.
    public var limit: RowLimit

    public init(sql: String, hiddenColumns: Int = 0, aggregation: Aggregation? = nil, distinct: Bool = false,
                distinctOn: [Int]? = nil, order: [SortKey] = [], limit: RowLimit = .init()) {
        self.distinctOn = distinctOn
        self.sql = sql
        self.hiddenColumns = hiddenColumns
        self.aggregation = aggregation
        self.distinct = distinct
        self.order = order
        self.limit = limit
    }
}

/// Rows combined per group: the shard columns not named in ``partials`` form the group key.
public struct Aggregation: Sendable, Equatable {
    /// Shard columns holding per-shard aggregate values, and how they combine.
    public var partials: [Int: AggregateKind]
    /// The final columns, computed per group from the combined shard columns.
    public var columns: [FinalColumn]
    /// The statement has no GROUP BY: with no row at all it still answers one row (count 0,
    /// other aggregates NULL). Only plans with ``FinalColumn/countDistinct(_:name:)`` can see no
    /// row from the shards (each shard groups by the distinct argument).
    public var implicitGroup: Bool
    /// `HAVING`: groups for which it is not true are left out.
    public var having: MergeExpression?

    public init(partials: [Int: AggregateKind], columns: [FinalColumn], implicitGroup: Bool = false, having: MergeExpression? = nil) {
        self.partials = partials
        self.columns = columns
        self.implicitGroup = implicitGroup
        self.having = having
    }

    /// The shard columns holding the argument of `count(DISTINCT x)`: each shard groups by it
    /// too, and the merge counts its distinct values per group.
    public var distinctColumns: Set<Int> {
        Set(columns.compactMap { if case .countDistinct(let column, _) = $0 { column } else { nil } })
    }
}

/// How the per-shard values of one aggregate combine into its value over all shards.
public enum AggregateKind: String, Sendable, Equatable {
    /// `count(*)`, `count(x)`: the counts add up.
    case count
    /// `sum(x)`: the sums add up (NULL when every shard had no row).
    case sum
    case min, max
    /// `bool_and(x)`, `every(x)`.
    case boolAnd
    /// `bool_or(x)`.
    case boolOr
}

/// One column of the merged rows of an aggregating plan.
public enum FinalColumn: Sendable, Equatable {
    /// The combined value of a shard column (a group key or a combined aggregate).
    case column(Int)
    /// `avg(x)`: the combined sum divided by the combined count, with PostgreSQL's result type
    /// (numeric for integer and numeric input, double precision for floats).
    case average(sum: Int, count: Int)
    /// `count(DISTINCT x)`: the number of distinct non-NULL values of shard column `x` (a group
    /// key of the shards' statement) in the group; `name` is the output column's name.
    case countDistinct(Int, name: String)
    /// An expression over other final columns (none of them expressions); `typeFrom` is the
    /// shard column that describes its result (name and type, as PostgreSQL infers them).
    case expression(MergeExpression, typeFrom: Int)
}

/// One ORDER BY key of the merged rows.
public struct SortKey: Sendable, Equatable {
    /// The final column (a shard column when rows are not aggregated).
    public var column: Int
    public var descending: Bool
    public var nullsFirst: Bool
    /// Text ordered by bytes whatever the database collation (`COLLATE "C"`).
    public var bytewise: Bool

    public init(column: Int, descending: Bool = false, nullsFirst: Bool? = nil, bytewise: Bool = false) {
        self.column = column
        self.descending = descending
        // PostgreSQL: NULLs sort as if larger than every value unless told otherwise.
        self.nullsFirst = nullsFirst ?? descending
        self.bytewise = bytewise
    }
}

/// `LIMIT` and `OFFSET`: constants, or `$n` parameters read at execution.
public struct RowLimit: Sendable, Equatable {
    public var count: LimitValue?
    public var offset: LimitValue?

    public init(count: LimitValue? = nil, offset: LimitValue? = nil) {
        self.count = count
        self.offset = offset
    }

    public var isEmpty: Bool { count == nil && offset == nil }
}

public enum LimitValue: Sendable, Equatable {
    case constant(Int64)
    /// `$n` (1-based), a bigint parameter.
    case parameter(Int)
}

extension LimitValue {
    /// `10` or `$2`.
    public var text: String {
        switch self {
        case .constant(let n): String(n)
        case .parameter(let number): "$\(number)"
        }
    }
}
