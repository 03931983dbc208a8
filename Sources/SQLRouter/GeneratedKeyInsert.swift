import Sharding

/// An INSERT into a table with a generated key (`key_generator: global_id`) that leaves the key
/// to pgshard: its column list lacks the key, a VALUES row has `DEFAULT` in the key's place, or
/// it inserts `DEFAULT VALUES`. pgshard writes the generated keys into the statement's text
/// (``rewrite(_:keys:)``) and routes the result like any INSERT with constant keys.
struct GeneratedKeyInsert: Sendable, Equatable {
    /// Where the keys go.
    enum Shape: Sendable, Equatable {
        /// The column list lacks the key: add it at the end, and a key at the end of every row.
        case addColumn
        /// The key column is listed at this position; the rows with `DEFAULT` there get a key.
        case defaultKey(position: Int)
        /// `DEFAULT VALUES`: becomes `(key) VALUES (k)`.
        case defaultValues
    }

    var table: String
    var key: ShardedTable
    var shape: Shape
    /// The number of VALUES rows (1 for DEFAULT VALUES).
    var rowCount: Int
    /// The rows (0-based, in VALUES order) that get a generated key.
    var generatedRows: [Int]

    var column: String { key.keyColumns[0] }

    /// What `statement` (an entry's `stmt` of libpg_query's output) needs: nil when it is not an
    /// INSERT (or EXPLAIN of one) leaving a generated key to pgshard; a refusal when it leaves it
    /// but pgshard cannot make the keys exactly (`INSERT … SELECT` without the key: the number
    /// of rows is known only to the shard).
    static func detect(_ statement: JSONValue, schema: ShardingSchema) -> Result<GeneratedKeyInsert, RoutingError>? {
        var node = statement
        if let explain = node.node("ExplainStmt"), let query = explain["query"] { node = query }
        guard let insert = node.node("InsertStmt"), let relation = insert["relation"],
              let table = TableName(rangeVar: relation),
              case .sharded(let key)? = schema.placement(of: table), key.keyGenerator != nil
        else { return nil }
        let column = key.keyColumns[0]
        let columns = (insert["cols"]?.elements ?? []).compactMap { $0.node("ResTarget") }
        let keyPosition = columns.firstIndex { $0["name"]?.string == column }
        guard let source = insert["selectStmt"] else {
            return .success(GeneratedKeyInsert(table: table.relname, key: key, shape: .defaultValues, rowCount: 1, generatedRows: [0]))
        }
        guard let rows = StatementScanner.valuesRows(source) else {
            guard keyPosition == nil else { return nil }
            return .failure(.generatedKeyFromSelect(table: table.relname, key: column))
        }
        // Without a column list the key's place is unknown (the existing refusal applies); a
        // row of another length is PostgreSQL's error to report, on the text as written.
        let items = rows.map { $0.node("List")?["items"]?.elements ?? [] }
        guard !columns.isEmpty, items.allSatisfy({ $0.count == columns.count }) else { return nil }
        guard let keyPosition else {
            return .success(GeneratedKeyInsert(table: table.relname, key: key, shape: .addColumn, rowCount: rows.count,
                                               generatedRows: Array(rows.indices)))
        }
        guard columns[keyPosition]["indirection"] == nil else { return nil }
        let defaults = items.indices.filter { items[$0][keyPosition].node("SetToDefault") != nil }
        guard !defaults.isEmpty else { return nil }
        return .success(GeneratedKeyInsert(table: table.relname, key: key, shape: .defaultKey(position: keyPosition),
                                           rowCount: rows.count, generatedRows: defaults))
    }

    /// `sql` (the statement's own text) with `keys` (SQL text: literals or `$n`, one per
    /// generated row) written in; nil when the text does not have the shape the parse tree said
    /// (never a guess).
    func rewrite(_ sql: String, keys: [String]) -> String? {
        precondition(keys.count == generatedRows.count, "one key per generated row")
        let bytes = Array(sql.utf8)
        guard let layout = InsertLayout(bytes) else { return nil }
        var edits: [(range: Range<Int>, text: String)] = []
        let quoted = "\"" + column.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        switch shape {
        case .defaultValues:
            guard let defaultWord = layout.defaultWord, let values = layout.valuesWord, layout.rows.isEmpty else { return nil }
            edits.append((defaultWord.lowerBound..<values.upperBound, "(\(quoted)) VALUES (\(keys[0]))"))
        case .addColumn:
            guard let listEnd = layout.columnListEnd, layout.defaultWord == nil, layout.rows.count == rowCount else { return nil }
            edits.append((listEnd..<listEnd, ", " + quoted))
            for (row, key) in zip(generatedRows, keys) {
                let close = layout.rows[row].close
                edits.append((close..<close, ", " + key))
            }
        case .defaultKey(let position):
            guard layout.rows.count == rowCount else { return nil }
            for (row, key) in zip(generatedRows, keys) {
                let items = layout.rows[row].items
                guard position < items.count, items[position].count == 1, case .word(let range) = items[position][0],
                      String(decoding: bytes[range], as: UTF8.self).lowercased() == "default"
                else { return nil }
                edits.append((range, key))
            }
        }
        var result = bytes
        for edit in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            result.replaceSubrange(edit.range, with: Array(edit.text.utf8))
        }
        return String(decoding: result, as: UTF8.self)
    }
}

/// The parts of an INSERT's text the rewrite needs, found by tokens at parenthesis depth 0: the
/// first `VALUES` word, the last `)` before it (the end of the column list), `DEFAULT` right
/// before it, and the rows after it with their comma-separated items.
private struct InsertLayout {
    struct Row {
        var open: Int
        var close: Int
        /// The tokens of each item (comments left out).
        var items: [[SQLScanner.Token]]
    }

    var columnListEnd: Int?
    var defaultWord: Range<Int>?
    var valuesWord: Range<Int>?
    var rows: [Row] = []

    init?(_ bytes: [UInt8]) {
        var columnListEnd: Int?, defaultWord: Range<Int>?, valuesWord: Range<Int>?
        var rows: [Row] = []
        var depth = 0
        var previousWord: Range<Int>?
        var expectRow = false
        var row: Row?
        var finished = false
        var malformed = false
        func word(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self).lowercased() }
        SQLScanner.scan(bytes) { token in
            guard !finished, !malformed else { return }
            if case .comment = token { return }
            if depth > 0 {
                // Inside parentheses: a row's items, or what comes before VALUES (CTEs, EXPLAIN
                // options, the column list).
                if case .symbol(let byte, let at) = token {
                    if byte == UInt8(ascii: "(") { depth += 1 }
                    if byte == UInt8(ascii: ")") {
                        depth -= 1
                        if depth == 0 {
                            if var current = row {
                                current.close = at
                                rows.append(current)
                                row = nil
                            } else if valuesWord == nil {
                                columnListEnd = at
                            }
                            previousWord = nil
                            return
                        }
                    }
                    if byte == UInt8(ascii: ","), depth == 1, row != nil {
                        row!.items.append([])
                        return
                    }
                }
                if row != nil { row!.items[row!.items.count - 1].append(token) }
                return
            }
            switch token {
            case .word(let range):
                guard valuesWord == nil else {
                    finished = true  // ON CONFLICT, RETURNING, ...
                    return
                }
                if word(range) == "values" {
                    valuesWord = range
                    if let previous = previousWord, word(previous) == "default" {
                        defaultWord = previous
                        finished = true
                    } else {
                        expectRow = true
                    }
                }
                previousWord = range
            case .symbol(UInt8(ascii: "("), let at):
                depth = 1
                previousWord = nil
                if valuesWord != nil {
                    guard expectRow else { malformed = true; return }
                    expectRow = false
                    row = Row(open: at, close: at, items: [[]])
                }
            case .symbol(UInt8(ascii: ")"), _):
                malformed = true
            case .symbol(UInt8(ascii: ","), _) where valuesWord != nil:
                guard !expectRow else { malformed = true; return }
                expectRow = true
            case .symbol, .quoted, .comment:
                if valuesWord != nil { finished = true }
                previousWord = nil
            }
        }
        guard !malformed, !expectRow, row == nil, finished || depth == 0 else { return nil }
        self.columnListEnd = columnListEnd
        self.defaultWord = defaultWord
        self.valuesWord = valuesWord
        self.rows = rows
    }
}
