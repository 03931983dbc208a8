/// A statement on a SQL cursor. A cursor lives on the shard connections that ran its DECLARE,
/// so the session remembers where each of its cursors is and sends FETCH, MOVE and CLOSE there;
/// the router only reads what the statement asks for.
public enum CursorStatement: Sendable, Equatable {
    /// `DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH | WITHOUT HOLD] FOR query`.
    case declare(CursorDeclaration)
    /// `FETCH` or `MOVE`.
    case fetch(CursorFetch)
    /// `CLOSE name`; `nil`: `CLOSE ALL`.
    case close(String?)
    /// `UPDATE` or `DELETE … WHERE CURRENT OF name` of a sharded or pinned table: runs on the
    /// shard the cursor reads now, where its current row is.
    case currentOf(String)
}

/// What a DECLARE creates.
public struct CursorDeclaration: Sendable, Equatable {
    /// The cursor's name as PostgreSQL folds it (quote it when writing it into a statement).
    public var name: String
    /// Where the cursor's query runs.
    public var placement: CursorPlacement
    /// `WITH HOLD`: the cursor outlives the transaction that declared it.
    public var withHold: Bool

    public init(name: String, placement: CursorPlacement, withHold: Bool) {
        self.name = name
        self.placement = placement
        self.withHold = withHold
    }
}

/// The shards a cursor's query reads.
public enum CursorPlacement: Sendable, Equatable {
    /// One shard holds every row the query reads.
    case shard(Int)
    /// Any one shard gives the whole answer (reference tables, catalogs, no table).
    case anyShard
    /// Each of these shards (sorted, at least two) holds part of the rows and none of them
    /// need combining: a FETCH reads the shards one after the other.
    case shards([Int])
}

extension CursorPlacement {
    /// The route of the cursor's query as a plain statement.
    public var queryRoute: Route {
        switch self {
        case .shard(let shard): .shard(shard)
        case .anyShard: .anyShard
        case .shards(let shards): .scatter(shards, .read)
        }
    }
}

/// What a FETCH or MOVE asks of a cursor.
public struct CursorFetch: Sendable, Equatable {
    /// The cursor's name as PostgreSQL folds it.
    public var name: String
    /// `MOVE`: the rows are skipped, not sent.
    public var isMove: Bool
    /// The rows asked for when the statement only moves forward (`NEXT`, `FORWARD n` with
    /// n > 0, `ALL`, `FORWARD ALL`); nil for every other direction (`PRIOR`, `BACKWARD`,
    /// `ABSOLUTE`, `RELATIVE`, `FIRST`, `LAST`, a count of 0 or below), which only a cursor on
    /// one shard can run.
    public var forward: FetchCount?
    /// The direction as written, for messages: `FETCH BACKWARD`, `MOVE ABSOLUTE`, ….
    public var directionText: String

    public init(name: String, isMove: Bool, forward: FetchCount?, directionText: String) {
        self.name = name
        self.isMove = isMove
        self.forward = forward
        self.directionText = directionText
    }
}

/// How many rows a forward FETCH or MOVE asks for.
public enum FetchCount: Sendable, Equatable {
    /// At most this many (at least one).
    case rows(Int64)
    /// Every row left.
    case all
}
