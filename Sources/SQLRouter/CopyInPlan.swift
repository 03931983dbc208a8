import Sharding

/// `COPY table [(columns)] FROM STDIN`: what the session needs to stream the client's rows to
/// the shards that own them. The statement itself goes to every target shard unchanged.
public struct CopyInPlan: Sendable, Equatable {
    /// The table's name as PostgreSQL folds it, for messages (`COPY users, line 3`).
    public var table: String
    /// The table as SQL names it (quoted, with its schema if the statement gave one), for the
    /// catalog query that finds its columns.
    public var qualifiedName: String
    /// Where the rows go.
    public var target: CopyTarget
    /// The column list of the statement, as PostgreSQL folds the names; nil: every column of
    /// the table, in table order.
    public var columns: [String]?
    /// How the data is written.
    public var options: CopyOptions
    /// The statement has a `WHERE` clause: the shards filter the rows pgshard sends them, so
    /// pgshard leaves the NOT NULL check of key columns to them.
    public var hasWhere: Bool

    public init(table: String, qualifiedName: String, target: CopyTarget, columns: [String]?, options: CopyOptions, hasWhere: Bool) {
        self.table = table
        self.qualifiedName = qualifiedName
        self.target = target
        self.columns = columns
        self.options = options
        self.hasWhere = hasWhere
    }

    /// The shards that take part in the COPY, sorted.
    public var shards: [Int] {
        switch target {
        case .sharded(_, let shards): shards
        case .reference(let shardCount): Array(0..<shardCount)
        case .pinned(let shard): [shard]
        }
    }
}

/// Where the rows of a COPY FROM go.
public enum CopyTarget: Sendable, Equatable {
    /// Each row to the shard its key places it on; `shards` are those the function can place
    /// keys on (all of them for `hash`).
    case sharded(ShardedTable, shards: [Int])
    /// Every row to every shard (the data is forwarded as the client sent it).
    case reference(shardCount: Int)
    /// Every row to one shard (the data is forwarded as the client sent it).
    case pinned(Int)
}

/// The data format of a COPY.
public enum CopyFormat: String, Sendable, Equatable {
    case text, csv, binary
}

/// The options of a COPY FROM that decide how rows and fields are found, with PostgreSQL's
/// defaults for the format.
public struct CopyOptions: Sendable, Equatable {
    public var format: CopyFormat
    /// The field separator (tab for text, comma for CSV).
    public var delimiter: UInt8
    /// The text that stands for NULL (`\N` for text, an unquoted empty field for CSV).
    public var null: [UInt8]
    /// The first line is a header (forwarded to every shard, which skips or checks it).
    public var header: Bool
    /// CSV's quote character (`"`).
    public var quote: UInt8
    /// CSV's escape character inside quotes (the quote character unless given).
    public var escape: UInt8
    /// CSV: columns whose unquoted null string is an empty string instead of NULL.
    public var forceNotNull: [String]
    /// CSV: columns whose quoted null string is NULL as well.
    public var forceNull: [String]
    /// The `ENCODING` option, upper-cased; nil: the session's `client_encoding`.
    public var encoding: String?

    /// PostgreSQL's defaults for `format`.
    public init(format: CopyFormat) {
        self.format = format
        self.delimiter = format == .csv ? UInt8(ascii: ",") : UInt8(ascii: "\t")
        self.null = format == .csv ? [] : Array(#"\N"#.utf8)
        self.header = false
        self.quote = UInt8(ascii: "\"")
        self.escape = UInt8(ascii: "\"")
        self.forceNotNull = []
        self.forceNull = []
        self.encoding = nil
    }
}
