/// One statement text for one shard.
public struct ShardStatement: Sendable, Equatable {
    public var shard: Int
    public var sql: String

    public init(shard: Int, sql: String) {
        self.shard = shard
        self.sql = sql
    }
}

/// Splits `INSERT … VALUES (…), (…) …` into one INSERT per shard holding that shard's rows, the
/// rest of the statement (column list, ON CONFLICT) unchanged.
enum InsertSplit {
    /// The per-shard statements, in shard order, for rows whose shards are `rowShards` (in
    /// VALUES order); nil when the text's VALUES list cannot be found exactly (its row count
    /// must match).
    static func statements(_ sql: String, rowShards: [Int]) -> [ShardStatement]? {
        let bytes = Array(sql.utf8)
        var depth = 0
        var valuesEnd: Int?
        var rows: [Range<Int>] = []
        var rowStart: Int?
        var expectRow = false
        var afterRows: Int?
        var malformed = false
        SQLScanner.scan(bytes) { token in
            guard afterRows == nil, !malformed else { return }
            switch token {
            case .word(let range):
                if depth == 0 {
                    if valuesEnd == nil, String(decoding: bytes[range], as: UTF8.self).lowercased() == "values" {
                        valuesEnd = range.upperBound
                        expectRow = true
                    } else if valuesEnd != nil {
                        afterRows = range.lowerBound
                    }
                }
            case .symbol(UInt8(ascii: "("), let at):
                if depth == 0, valuesEnd != nil {
                    guard expectRow else { malformed = true; return }
                    rowStart = at
                    expectRow = false
                }
                depth += 1
            case .symbol(UInt8(ascii: ")"), let at):
                depth -= 1
                if depth < 0 { malformed = true }
                if depth == 0, let start = rowStart {
                    rows.append(start..<at + 1)
                    rowStart = nil
                }
            case .symbol(UInt8(ascii: ","), _):
                if depth == 0, valuesEnd != nil {
                    guard !expectRow, rowStart == nil else { malformed = true; return }
                    expectRow = true
                }
            case .symbol(_, let at):
                if depth == 0, valuesEnd != nil { afterRows = at }
            case .quoted, .comment:
                break
            }
        }
        guard !malformed, let valuesEnd, !expectRow, rowStart == nil, rows.count == rowShards.count else { return nil }
        let prefix = String(decoding: bytes[..<valuesEnd], as: UTF8.self)
        let suffixStart = rows.last!.upperBound
        let suffix = String(decoding: bytes[suffixStart...], as: UTF8.self)
        var byShard: [Int: [Range<Int>]] = [:]
        for (row, shard) in zip(rows, rowShards) { byShard[shard, default: []].append(row) }
        return byShard.keys.sorted().map { shard in
            let values = byShard[shard]!.map { String(decoding: bytes[$0], as: UTF8.self) }.joined(separator: ", ")
            return ShardStatement(shard: shard, sql: prefix + " " + values + suffix)
        }
    }
}
