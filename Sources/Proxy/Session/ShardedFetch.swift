import SQLRouter

/// One FETCH or MOVE on a cursor that several shards hold. The shards are read in order, each
/// to its end before the next: the shard being read is asked for the rows still missing, and
/// when it has fewer, the next shard continues. The counts add up to the client's tag.
struct ShardedFetch: Equatable {
    /// What the client asked for.
    let count: FetchCount
    /// The number of shards the cursor reads.
    let shardCount: Int
    /// The position (in the cursor's shards) being read.
    private(set) var position: Int
    /// Rows fetched (or moved over) so far.
    private(set) var total: Int64 = 0

    init(count: FetchCount, shardCount: Int, position: Int) {
        self.count = count
        self.shardCount = shardCount
        self.position = min(max(position, 0), shardCount - 1)
    }

    /// What to ask of the shard at ``position``.
    var request: FetchCount {
        switch count {
        case .all: .all
        case .rows(let wanted): .rows(wanted - total)
        }
    }

    /// The shard at ``position`` answered with `rows`: true when the next shard must continue
    /// (``position`` moved to it). A shard that gave fewer rows than asked has none left; the
    /// last shard stays the position even then, so a later FETCH finds nothing more.
    mutating func shardAnswered(rows: Int64) -> Bool {
        total += rows
        let exhausted: Bool
        switch request {
        case .all: exhausted = true
        case .rows(let missing): exhausted = missing > 0
        }
        guard exhausted, position + 1 < shardCount else { return false }
        position += 1
        return true
    }

    /// The statement the shard runs for ``request``.
    func statement(cursor name: String, isMove: Bool) -> String {
        let amount: String
        switch request {
        case .all: amount = "ALL"
        case .rows(let missing): amount = String(missing)
        }
        return "\(isMove ? "MOVE" : "FETCH") FORWARD \(amount) FROM \(quoteIdentifier(name))"
    }

    /// The client's command tag: `FETCH n` or `MOVE n`.
    func tag(isMove: Bool) -> String {
        "\(isMove ? "MOVE" : "FETCH") \(total)"
    }
}
