import Merge

/// Makes the ``MergePlan`` of a SELECT that runs on several shards and combines rows at its top
/// level (ORDER BY, LIMIT/OFFSET, aggregates, GROUP BY, DISTINCT), or says precisely why it
/// cannot be merged exactly.
///
/// The statement each shard runs is the client's text with a few spans replaced (libpg_query
/// gives node locations; ``SQLScanner`` finds where clauses and calls end):
/// - `avg(x)` → `sum(x) AS "avg", count(x)`; aggregates and expressions the merge sorts or
///   groups by that are not selected → leading hidden columns `expr AS __pgshard_N`;
/// - `LIMIT n OFFSET m` → `LIMIT n+m OFFSET 0`; with aggregation, `LIMIT NULL OFFSET 0`.
struct MergePlanner {
    /// The top-level `SelectStmt` fields.
    let select: JSONValue
    let text: MessageText
    /// The statement's bytes in `text`.
    let range: Range<Int>

    var bytes: [UInt8] { text.utf8 }

    /// A planned output of the shard statement: its SQL and what its shard columns hold.
    private enum Item {
        case plain(String)
        case aggregate(AggregateKind, String)
        /// `avg`: the `sum` and `count` texts.
        case average(sum: String, count: String)
        /// `count(DISTINCT x)`: the shards return `x` (and group by it); `argument` is x's tree.
        case countDistinct(String, argument: JSONValue, name: String)
        /// An expression over aggregates, computed by the merge; the shards return a NULL of
        /// its type and name (`CASE WHEN false THEN expr END`), `text`.
        case pendingExpression(TranslatedExpression, text: String)
        /// The same, its leaves turned into column references (``MergePlanner/reference``).
        case expression(MergeExpression, text: String)

        var width: Int { if case .average = self { 2 } else { 1 } }
    }

    private struct Token {
        /// Byte range in the message.
        var range: Range<Int>
        var depth: Int
        /// Lowercased word, or the symbol.
        var word: String
        var isSymbol: Bool
    }

    func plan() -> Result<MergePlan, RoutingError> {
        do throws(RoutingError) {
            return .success(try makePlan())
        } catch {
            return .failure(error)
        }
    }

    private static let clauseWords: Set<String> = [
        "from", "into", "where", "group", "having", "window", "order", "limit", "offset", "fetch", "for",
        "union", "intersect", "except",
    ]

    private func makePlan() throws(RoutingError) -> MergePlan {
        if select["larg"] != nil || (select["op"]?.string ?? "SETOP_NONE") != "SETOP_NONE" {
            throw .mergeNotSupported("UNION, INTERSECT and EXCEPT combined with ORDER BY, LIMIT or aggregates across shards")
        }
        if select["intoClause"] != nil { throw .mergeNotSupported("SELECT INTO across shards") }
        if !select["lockingClause"].isEmptyList { throw .mergeNotSupported("FOR UPDATE/SHARE with ORDER BY, LIMIT or aggregates across shards") }
        if !select["windowClause"].isEmptyList { throw .mergeNotSupported("window functions across shards") }
        if select["limitOption"]?.string == "LIMIT_OPTION_WITH_TIES" { throw .mergeNotSupported("FETCH … WITH TIES across shards") }
        if select["groupDistinct"]?.bool == true { throw .mergeNotSupported("GROUP BY DISTINCT across shards") }
        let distinctClause = select["distinctClause"]?.elements ?? []
        let distinctOn = distinctClause.filter { $0.node != nil }
        let distinct = !distinctClause.isEmpty && distinctOn.isEmpty

        let tokens = tokenize()
        let targets = select["targetList"]?.elements.compactMap { $0.node("ResTarget") } ?? []
        guard !targets.isEmpty else { throw .mergeNotSupported("a SELECT without columns across shards") }
        let targetSpans = try self.targetSpans(targets, tokens)
        let hasStar = targets.contains { $0["val"]?.node("ColumnRef")?["fields"]?.elements.contains { $0.node("A_Star") != nil } == true }
        let groupItems = select["groupClause"]?.elements ?? []
        let sortItems = (select["sortClause"]?.elements ?? []).compactMap { $0.node("SortBy") }
        let hasAggregates = !groupItems.isEmpty || targets.contains { Self.containsAggregate($0["val"]) }
            || sortItems.contains { Self.containsAggregate($0["node"]) } || select["havingClause"] != nil
        if (distinct || !distinctOn.isEmpty) && hasAggregates {
            throw .mergeNotSupported("DISTINCT together with aggregates or GROUP BY across shards")
        }
        if hasAggregates && hasStar { throw .mergeNotSupported("SELECT * with aggregates or GROUP BY across shards") }

        // The client's columns, and the hidden ones before them.
        var visible: [Item] = []
        var hidden: [Item] = []
        var edits: [(Range<Int>, String)] = []
        var counter = 0
        func hiddenName() -> String {
            counter += 1
            return "__pgshard_\(counter)"
        }
        // Leaves of expressions over aggregates: select-list entries, or hidden columns.
        var hiddenNodes: [(node: JSONValue, index: Int)] = []
        func reference(_ leaf: (node: JSONValue, span: Range<Int>?)) throws(RoutingError) -> Int {
            if let target = targets.firstIndex(where: { Self.sameExpression($0["val"], leaf.node) }) { return -(target + 1) }
            if let known = hiddenNodes.first(where: { Self.sameExpression($0.node, leaf.node) }) { return known.index }
            guard let span = leaf.span else {
                throw .mergeNotSupported("an expression without aggregates next to aggregates, unless it is selected as a column of its own",
                                         hint: "select the expression as a column too, or add a condition on the shard key")
            }
            let item = try self.item(for: leaf.node, span: span, name: nil, hiddenName: hiddenName)
            hidden.append(Self.aliased(item, hiddenName))
            hiddenNodes.append((leaf.node, hidden.count - 1))
            return hidden.count - 1
        }
        func resolve(_ translated: TranslatedExpression) throws(RoutingError) -> MergeExpression {
            var references: [Int] = []
            for leaf in translated.leaves { references.append(try reference(leaf)) }
            return translated.expression.mapColumns { references[$0] }
        }
        func resolved(_ item: Item) throws(RoutingError) -> Item {
            guard case .pendingExpression(let translated, let text) = item else { return item }
            return .expression(try resolve(translated), text: text)
        }

        // GROUP BY items not selected: hidden group columns.
        if !groupItems.isEmpty {
            let spans = try clauseItems(tokens, start: ["group", "by"], until: ["having", "window", "order", "limit", "offset", "fetch", "for"])
            guard spans.count == groupItems.count else { throw .mergeNotSupported("this GROUP BY across shards") }
            for (item, span) in zip(groupItems, spans) {
                if item.node("GroupingSet") != nil { throw .mergeNotSupported("GROUPING SETS, ROLLUP and CUBE across shards") }
                if item.node("A_Const") != nil { continue }  // GROUP BY 2: a selected column
                if let name = Self.bareName(item) {
                    if let target = targets.firstIndex(where: { Self.outputName($0) == name }) {
                        // A bare name means an input column first; an alias of something else
                        // would make the grouping depend on the table's columns.
                        guard Self.bareName(targets[target]["val"] ?? .null) == name else {
                            throw .mergeNotSupported("GROUP BY an output column alias across shards")
                        }
                        continue
                    }
                }
                if targets.contains(where: { Self.sameExpression($0["val"], item) }) { continue }
                hidden.append(.plain("\(text.text(span)) AS \(hiddenName())"))
                hiddenNodes.append((item, hidden.count - 1))
            }
        }
        for (index, target) in targets.enumerated() {
            let span = targetSpans[index]
            let expressionSpan = target["name"] == nil ? span : try withoutAlias(span, tokens)
            let item = try resolved(self.item(for: target["val"], span: expressionSpan, name: target["name"]?.string,
                                              hiddenName: hiddenName))
            visible.append(item)
            if case .average(let sum, let count) = item {
                edits.append((span, "\(sum), \(count)"))
            } else if case .countDistinct(let text, _, _) = item {
                edits.append((span, "\(text) AS \(hiddenName())"))
            } else if case .expression(_, let text) = item {
                edits.append((span, text))
            }
        }
        // HAVING: computed by the merge over the merged groups; the shards return every group.
        var having: MergeExpression?
        if let clause = select["havingClause"] {
            having = try resolve(translate(clause))
            let stops: Set<String> = ["window", "order", "limit", "offset", "fetch", "for"]
            let top = tokens.first?.depth ?? 0
            if let start = tokens.firstIndex(where: { $0.depth == top && $0.word == "having" }) {
                let end = tokens[(start + 1)...].firstIndex { $0.depth == top && ((!$0.isSymbol && stops.contains($0.word)) || $0.word == ";") }
                let upper = end.map { tokens[$0].range.lowerBound } ?? tokens.last!.range.upperBound
                edits.append((tokens[start].range.lowerBound..<upper, " "))
            } else {
                throw .mergeNotSupported("this HAVING across shards")
            }
        }

        // Hidden columns: GROUP BY items not selected, then ORDER BY keys not selected.
        var order: [(finalColumn: Int?, hiddenIndex: Int?, descending: Bool, nullsFirst: Bool?, bytewise: Bool)] = []
        if !sortItems.isEmpty {
            let spans = try clauseItems(tokens, start: ["order", "by"], until: ["limit", "offset", "fetch", "for"])
            guard spans.count == sortItems.count else { throw .mergeNotSupported("this ORDER BY across shards") }
            for (sort, span) in zip(sortItems, spans) {
                if sort["useOp"] != nil { throw .mergeNotSupported("ORDER BY … USING across shards") }
                let descending = sort["sortby_dir"]?.string == "SORTBY_DESC"
                let nullsFirst: Bool? = switch sort["sortby_nulls"]?.string {
                case "SORTBY_NULLS_FIRST": true
                case "SORTBY_NULLS_LAST": false
                default: nil
                }
                guard let expression = sort["node"] else { throw .mergeNotSupported("this ORDER BY across shards") }
                let target = try targetIndex(for: expression, targets: targets, hasStar: hasStar)
                // An explicit collation: byte order ("C", "POSIX") is merged whatever the shards'
                // default; any other would need that collation's order here.
                let collation = Self.collation(of: expression) ?? target.flatMap { Self.collation(of: targets[$0]["val"]) }
                if let collation, !["C", "POSIX", "ucs_basic"].contains(collation) {
                    throw .mergeNotSupported("ORDER BY … COLLATE \"\(collation)\" across shards",
                                             hint: "order by the expression COLLATE \"C\", or add a condition on the shard key")
                }
                if let target {
                    order.append((target, nil, descending, nullsFirst, collation != nil))
                    continue
                }
                if distinct {
                    throw RoutingError(sqlState: "42P10", message: "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                                       hint: "add the ORDER BY expressions to the select list")
                }
                let exprSpan = try expressionSpan(span, tokens)
                let item = try resolved(self.item(for: expression, span: exprSpan, name: nil, hiddenName: hiddenName))
                order.append((nil, hidden.count, descending, nullsFirst, collation != nil))
                hidden.append(Self.aliased(item, hiddenName))
            }
        }

        // DISTINCT ON: each expression is a selected column, an ORDER BY key, or a hidden column.
        var distinctKeys: [(finalColumn: Int?, hiddenIndex: Int?)] = []
        if !distinctOn.isEmpty {
            let spans = try clauseItems(tokens, start: ["distinct", "on", "("], until: [], parenthesized: true)
            guard spans.count == distinctOn.count else { throw .mergeNotSupported("this DISTINCT ON across shards") }
            for (expression, span) in zip(distinctOn, spans) {
                if let target = try targetIndex(for: expression, targets: targets, hasStar: hasStar) {
                    distinctKeys.append((target, nil))
                } else if let index = sortItems.firstIndex(where: { Self.sameExpression($0["node"], expression) }) {
                    distinctKeys.append((order[index].finalColumn, order[index].hiddenIndex))
                } else {
                    distinctKeys.append((nil, hidden.count))
                    hidden.append(.plain("\(text.text(span)) AS \(hiddenName())"))
                }
            }
        }

        // Shard columns: hidden items, then the visible ones.
        let items = hidden + visible
        var partials: [Int: AggregateKind] = [:]
        var finals: [FinalColumn] = []
        var shardColumn = 0
        for item in items {
            switch item {
            case .plain:
                finals.append(.column(shardColumn))
            case .aggregate(let kind, _):
                partials[shardColumn] = kind
                finals.append(.column(shardColumn))
            case .average:
                partials[shardColumn] = .sum
                partials[shardColumn + 1] = .count
                finals.append(.average(sum: shardColumn, count: shardColumn + 1))
            case .countDistinct(_, _, let name):
                finals.append(.countDistinct(shardColumn, name: name))
            case .expression(let expression, _):
                finals.append(.expression(expression, typeFrom: shardColumn))
            case .pendingExpression:
                throw .mergeNotSupported("this expression across shards")
            }
            shardColumn += item.width
        }
        if !hasAggregates, items.contains(where: { if case .plain = $0 { false } else { true } }) {
            throw .mergeNotSupported("this aggregate across shards")
        }
        // Without HAVING the shards must still aggregate (HAVING alone makes a query aggregated).
        if select["havingClause"] != nil, groupItems.isEmpty,
           !items.contains(where: { if case .plain = $0 { false } else if case .expression = $0 { false } else { true } }) {
            throw .mergeNotSupported("HAVING without GROUP BY or aggregates across shards")
        }
        // count(DISTINCT x): every shard groups by x as well.
        let distinctArguments = items.compactMap { if case .countDistinct(let text, let argument, _) = $0 { (text, argument) } else { nil } }
        if let (argumentText, argument) = distinctArguments.first {
            guard distinctArguments.allSatisfy({ Self.sameExpression($0.1, argument) }) else {
                throw .mergeNotSupported("count(DISTINCT …) of different expressions in one statement across shards")
            }
            if groupItems.isEmpty {
                if items.contains(where: { if case .plain = $0 { true } else { false } }) {
                    throw .mergeNotSupported("count(DISTINCT …) next to columns without GROUP BY across shards")
                }
                let stops: Set<String> = ["having", "window", "order", "limit", "offset", "fetch", "for"]
                let position = tokens.first { $0.depth == tokens[0].depth && !$0.isSymbol && stops.contains($0.word) }?.range.lowerBound
                    ?? tokens.last?.range.upperBound ?? range.upperBound
                edits.append((position..<position, " GROUP BY \(argumentText) "))
            } else {
                let spans = try clauseItems(tokens, start: ["group", "by"], until: ["having", "window", "order", "limit", "offset", "fetch", "for"])
                guard let last = spans.last else { throw .mergeNotSupported("this GROUP BY across shards") }
                edits.append((last.upperBound..<last.upperBound, ", \(argumentText)"))
            }
        }
        // Final columns: one per item, hidden first.
        let sortKeys = order.map { key in
            SortKey(column: key.finalColumn.map { hidden.count + $0 } ?? key.hiddenIndex!, descending: key.descending,
                    nullsFirst: key.nullsFirst, bytewise: key.bytewise)
        }
        let finalIndex = { (reference: Int) in reference >= 0 ? reference : hidden.count - reference - 1 }
        finals = finals.map { column in
            if case .expression(let expression, let typeFrom) = column { return .expression(expression.mapColumns(finalIndex), typeFrom: typeFrom) }
            return column
        }
        let distinctColumns = distinctKeys.map { key in key.finalColumn.map { hidden.count + $0 } ?? key.hiddenIndex! }
        if !hidden.isEmpty, let first = targets.first?["location"]?.integer {
            let texts = hidden.map { item -> String in
                switch item {
                case .plain(let text), .aggregate(_, let text): text
                case .average(let sum, let count): "\(sum), \(count)"
                case .countDistinct(let text, _, _): "\(text) AS \(hiddenName())"
                case .expression(_, let text), .pendingExpression(_, let text): text
                }
            }
            edits.append((Int(first)..<Int(first), texts.joined(separator: ", ") + ", "))
        }
        let limit = try limitEdits(aggregated: hasAggregates, edits: &edits)
        var sql = Array(bytes[range])
        // From the end, so earlier offsets stay valid; at one offset the replacement before the insertion.
        let ordered = edits.sorted { $0.0.lowerBound != $1.0.lowerBound ? $0.0.lowerBound > $1.0.lowerBound : $0.0.count > $1.0.count }
        for (span, replacement) in ordered {
            guard span.lowerBound >= range.lowerBound, span.upperBound <= range.upperBound else {
                throw .mergeNotSupported("this statement across shards")
            }
            sql.replaceSubrange(span.lowerBound - range.lowerBound..<span.upperBound - range.lowerBound, with: Array(replacement.utf8))
        }
        return MergePlan(
            sql: String(decoding: sql, as: UTF8.self),
            hiddenColumns: hidden.count,
            aggregation: hasAggregates
                ? Aggregation(partials: partials, columns: finals, implicitGroup: groupItems.isEmpty, having: having?.mapColumns(finalIndex)) : nil,
            distinct: distinct,
            distinctOn: distinctOn.isEmpty ? nil : distinctColumns,
            order: sortKeys,
            limit: limit)
    }

    /// Gives an unnamed hidden item its alias.
    private static func aliased(_ item: Item, _ hiddenName: () -> String) -> Item {
        switch item {
        case .plain(let text): .plain("\(text) AS \(hiddenName())")
        case .aggregate(let kind, let text): .aggregate(kind, "\(text) AS \(hiddenName())")
        case .average, .countDistinct, .expression, .pendingExpression: item
        }
    }

    // MARK: Columns

    private static let aggregateKinds: [String: AggregateKind] = [
        "count": .count, "sum": .sum, "min": .min, "max": .max, "bool_and": .boolAnd, "every": .boolAnd, "bool_or": .boolOr,
    ]

    /// What the shards return for one select-list (or hidden) expression.
    private func item(for value: JSONValue?, span: Range<Int>, name: String?,
                      hiddenName: () -> String) throws(RoutingError) -> Item {
        guard let value else { throw .mergeNotSupported("this select list across shards") }
        let spanText = text.text(span)
        guard let call = value.node("FuncCall"), Aggregates.isAggregate(call) else {
            if Self.containsAggregate(value) {
                let outputName = name ?? Self.columnName(value)
                return .pendingExpression(try translate(value),
                                          text: "CASE WHEN false THEN (\(spanText)) END AS \(Self.quoted(outputName))")
            }
            return .plain(spanText)
        }
        let function = call["funcname"]?.nameList ?? []
        guard function.count == 1 || (function.count == 2 && function[0] == "pg_catalog"), let functionName = function.last else {
            throw .mergeNotSupported("aggregate \(function.joined(separator: ".")) across shards")
        }
        if call["agg_distinct"]?.bool == true {
            let args = call["args"]?.elements ?? []
            guard functionName == "count", args.count == 1, call["agg_filter"] == nil, let location = call["location"]?.integer else {
                throw .mergeNotSupported("\(functionName)(DISTINCT …) across shards",
                                         hint: "count(DISTINCT x) is merged; for other DISTINCT aggregates add a condition on the shard key")
            }
            let (inside, _) = try callParts(at: Int(location), until: span.upperBound)
            let argument = inside.trimmingPrefix(while: { $0 == " " })
            guard argument.lowercased().hasPrefix("distinct") else { throw .mergeNotSupported("this count(DISTINCT …) across shards") }
            return .countDistinct(String(argument.dropFirst("distinct".count)).trimmingCharacters(in: .whitespaces), argument: args[0], name: name ?? "count")
        }
        if call["agg_within_group"]?.bool == true || call["over"] != nil {
            throw .mergeNotSupported("\(functionName)(…) across shards")
        }
        if functionName == "avg" {
            let args = (call["args"]?.elements ?? [])
            guard args.count == 1, let location = call["location"]?.integer else { throw .mergeNotSupported("this avg(…) across shards") }
            let (inside, filter) = try callParts(at: Int(location), until: span.upperBound)
            let outputName = name ?? "avg"
            return .average(sum: "sum(\(inside))\(filter) AS \(Self.quoted(outputName))", count: "count(\(inside))\(filter) AS \(hiddenName())")
        }
        guard let kind = Self.aggregateKinds[functionName] else {
            throw .mergeNotSupported("aggregate \(functionName)(…) across shards",
                                     hint: "pgshard merges count, sum, min, max, avg, bool_and, bool_or and every across shards; add a condition on the shard key for others")
        }
        return .aggregate(kind, spanText)
    }

    /// The text inside the parentheses of the call at `location`, and its ` FILTER (…)` clause.
    private func callParts(at location: Int, until end: Int) throws(RoutingError) -> (String, String) {
        var depth = 0
        var open: Int?
        var close: Int?
        var filterStart: Int?
        var filterEnd: Int?
        var afterClose: [(String, Int, Int)] = []
        SQLScanner.scan(Array(bytes[location..<end])) { token in
            switch token {
            case .symbol(let byte, let at):
                if byte == UInt8(ascii: "(") {
                    if open == nil { open = at }
                    depth += 1
                } else if byte == UInt8(ascii: ")") {
                    depth -= 1
                    if depth == 0, close == nil { close = at } else if depth == 0, filterStart != nil, filterEnd == nil { filterEnd = at + 1 }
                }
                if close != nil, at != close { afterClose.append((String(UnicodeScalar(byte)), at, at + 1)) }
            case .word(let range):
                if close != nil, depth == 0 {
                    let word = String(decoding: bytes[location + range.lowerBound..<location + range.upperBound], as: UTF8.self).lowercased()
                    if word == "filter", filterStart == nil { filterStart = range.lowerBound }
                }
            default:
                break
            }
        }
        guard let open, let close else { throw .mergeNotSupported("this aggregate call across shards") }
        let inside = String(decoding: bytes[location + open + 1..<location + close], as: UTF8.self)
        var filter = ""
        if let filterStart {
            guard let filterEnd else { throw .mergeNotSupported("this FILTER clause across shards") }
            filter = " " + String(decoding: bytes[location + filterStart..<location + filterEnd], as: UTF8.self)
        }
        return (inside, filter)
    }

    private static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The output column an ORDER BY expression names: `ORDER BY 2`, an output name, or the
    /// same expression as a select-list entry.
    private func targetIndex(for expression: JSONValue, targets: [JSONValue], hasStar: Bool) throws(RoutingError) -> Int? {
        if let constant = expression.node("A_Const"), let location = constant["location"]?.integer {
            guard !hasStar else { throw .mergeNotSupported("ORDER BY a column position with SELECT * across shards") }
            guard let position = text.integerLiteral(at: Int(location)), position >= 1, position <= targets.count else {
                throw .mergeNotSupported("this ORDER BY constant across shards")
            }
            return Int(position) - 1
        }
        if let name = Self.bareName(expression), let index = targets.firstIndex(where: { Self.outputName($0) == name }) {
            return index
        }
        return targets.firstIndex { Self.sameExpression($0["val"], expression) }
    }

    /// The collation an expression names with COLLATE at its top.
    private static func collation(of expression: JSONValue?) -> String? {
        expression?.node("CollateClause")?["collname"]?.nameList?.last
    }

    private static func outputName(_ target: JSONValue) -> String? {
        if let name = target["name"]?.string { return name }
        if let fields = target["val"]?.node("ColumnRef")?["fields"]?.elements, let last = fields.last?.node("String")?["sval"]?.string {
            return last
        }
        return nil
    }

    private static func bareName(_ expression: JSONValue) -> String? {
        guard let fields = expression.node("ColumnRef")?["fields"]?.elements, fields.count == 1 else { return nil }
        return fields[0].node("String")?["sval"]?.string
    }

    static func sameExpression(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        guard let a, let b else { return false }
        return a.withoutLocations == b.withoutLocations
    }

    /// An aggregate call anywhere in the expression, subqueries excluded.
    static func containsAggregate(_ value: JSONValue?) -> Bool {
        guard let value else { return false }
        var work = [value]
        while let next = work.popLast() {
            switch next {
            case .array(let elements):
                work.append(contentsOf: elements)
            case .object(let members):
                if let node = next.node {
                    if node.type == "SubLink" { continue }
                    if node.type == "FuncCall", Aggregates.isAggregate(node.fields) { return true }
                }
                work.append(contentsOf: members.map(\.value))
            default:
                continue
            }
        }
        return false
    }

    // MARK: Text

    private func tokenize() -> [Token] {
        var tokens: [Token] = []
        var depth = 0
        let statement = Array(bytes[range])
        let base = range.lowerBound
        SQLScanner.scan(statement) { token in
            switch token {
            case .comment:
                break
            case .quoted(let r):
                tokens.append(Token(range: base + r.lowerBound..<base + r.upperBound, depth: depth, word: "", isSymbol: false))
            case .word(let r):
                let word = String(decoding: statement[r], as: UTF8.self).lowercased()
                tokens.append(Token(range: base + r.lowerBound..<base + r.upperBound, depth: depth, word: word, isSymbol: false))
            case .symbol(let byte, let at):
                if byte == UInt8(ascii: ")") || byte == UInt8(ascii: "]") { depth -= 1 }
                tokens.append(Token(range: base + at..<base + at + 1, depth: depth, word: String(UnicodeScalar(byte)), isSymbol: true))
                if byte == UInt8(ascii: "(") || byte == UInt8(ascii: "[") { depth += 1 }
            }
        }
        return tokens
    }

    /// Each select-list entry's bytes (expression and alias).
    private func targetSpans(_ targets: [JSONValue], _ tokens: [Token]) throws(RoutingError) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        for (index, target) in targets.enumerated() {
            guard let location = target["location"]?.integer, location >= 0 else { throw .mergeNotSupported("this select list across shards") }
            let start = Int(location)
            guard let first = tokens.firstIndex(where: { $0.range.lowerBound >= start }) else { throw .mergeNotSupported("this select list across shards") }
            let depth = tokens[first].depth
            var end = tokens.endIndex
            for i in first..<tokens.endIndex {
                let token = tokens[i]
                if token.depth < depth { end = i; break }
                if token.depth == depth {
                    if token.isSymbol && (token.word == "," || token.word == ";") { end = i; break }
                    if !token.isSymbol, Self.clauseWords.contains(token.word), i > first { end = i; break }
                }
            }
            let last = end > first ? tokens[end - 1].range.upperBound : start
            if index + 1 < targets.count, let next = targets[index + 1]["location"]?.integer, Int(next) < last {
                throw .mergeNotSupported("this select list across shards")
            }
            spans.append(start..<last)
        }
        return spans
    }

    /// A select-list entry's bytes without its alias (`expr AS name`, `expr name`).
    private func withoutAlias(_ span: Range<Int>, _ tokens: [Token]) throws(RoutingError) -> Range<Int> {
        var inside = tokens.filter { $0.range.lowerBound >= span.lowerBound && $0.range.upperBound <= span.upperBound }
        guard let depth = inside.first?.depth, let last = inside.last, last.depth == depth, !last.isSymbol, inside.count > 1 else {
            throw .mergeNotSupported("this select list across shards")
        }
        inside.removeLast()
        if let keyword = inside.last, keyword.depth == depth, keyword.word == "as", inside.count > 1 { inside.removeLast() }
        return span.lowerBound..<inside.last!.range.upperBound
    }

    /// The items of the top-level clause starting with the words `start` (`order by`), split at
    /// top-level commas, up to a word of `until`.
    /// `parenthesized`: the clause's items are inside the parenthesis `start` ends with.
    private func clauseItems(_ tokens: [Token], start: [String], until: Set<String>, parenthesized: Bool = false) throws(RoutingError) -> [Range<Int>] {
        guard var topDepth = tokens.first?.depth else { return [] }
        var index: Int?
        for i in tokens.indices where i + start.count <= tokens.count {
            if (0..<start.count).allSatisfy({ tokens[i + $0].depth == topDepth && tokens[i + $0].word == start[$0] }) {
                index = i + start.count
            }
        }
        guard var i = index else { throw .mergeNotSupported("this \(start.joined(separator: " ").uppercased()) across shards") }
        if parenthesized { topDepth += 1 }
        var items: [Range<Int>] = []
        var itemStart: Int?
        var itemEnd = 0
        while i < tokens.count {
            let token = tokens[i]
            if token.depth < topDepth { break }
            if token.depth == topDepth {
                if token.isSymbol && token.word == ";" { break }
                if !token.isSymbol && until.contains(token.word) { break }
                if token.isSymbol && token.word == "," {
                    if let s = itemStart { items.append(s..<itemEnd) }
                    itemStart = nil
                    i += 1
                    continue
                }
            }
            if itemStart == nil { itemStart = token.range.lowerBound }
            itemEnd = token.range.upperBound
            i += 1
        }
        if let s = itemStart { items.append(s..<itemEnd) }
        return items
    }

    /// An ORDER BY item without its ASC/DESC/NULLS modifiers.
    private func expressionSpan(_ span: Range<Int>, _ tokens: [Token]) throws(RoutingError) -> Range<Int> {
        var inside = tokens.filter { $0.range.lowerBound >= span.lowerBound && $0.range.upperBound <= span.upperBound }
        let depth = inside.first?.depth ?? 0
        while let last = inside.last, last.depth == depth, !last.isSymbol,
              ["asc", "desc", "first", "last", "nulls"].contains(last.word), inside.count > 1 {
            inside.removeLast()
        }
        guard let first = inside.first, let last = inside.last else { throw .mergeNotSupported("this ORDER BY across shards") }
        return first.range.lowerBound..<last.range.upperBound
    }

    /// LIMIT/OFFSET for the merge, and the edits that make each shard return enough rows.
    /// `$n` values (extended protocol) stay referenced in the shards' text, typed bigint, so
    /// that their type is known to the shards whatever the edits.
    private func limitEdits(aggregated: Bool, edits: inout [(Range<Int>, String)]) throws(RoutingError) -> RowLimit {
        func value(_ node: JSONValue?, _ what: String) throws(RoutingError) -> (LimitValue?, Range<Int>?) {
            guard let node else { return (nil, nil) }
            if let parameter = node.node("ParamRef"), let number = parameter["number"]?.integer, let location = parameter["location"]?.integer {
                guard let span = tokenSpan(at: Int(location)) else {
                    throw .mergeNotSupported("this \(what) across shards")
                }
                return (.parameter(Int(number)), span)
            }
            if let constant = node.node("A_Const") {
                let location = Int(constant["location"]?.integer ?? -1)
                if constant["isnull"]?.bool == true {
                    return (nil, location >= 0 ? tokenSpan(at: location) : nil)
                }
                // FETCH FIRST ROW ONLY: an implicit 1 without a location.
                if location < 0 { return (.constant(constant["ival"]?["ival"]?.integer ?? 1), nil) }
                guard let number = text.integerLiteral(at: location) else { throw .mergeNotSupported("this \(what) across shards") }
                guard number >= 0 else {
                    // PostgreSQL's own error for it.
                    throw RoutingError(sqlState: what == "OFFSET" ? "2201X" : "2201W", message: "\(what) must not be negative")
                }
                return (.constant(number), tokenSpan(at: location))
            }
            throw .mergeNotSupported("\(what) with an expression across shards", hint: "write the \(what) as a constant or a parameter")
        }
        func sql(_ value: LimitValue) -> String {
            switch value {
            case .constant(let n): String(n)
            case .parameter(let number): "$\(number)::int8"
            }
        }
        let (count, countSpan) = try value(select["limitCount"], "LIMIT")
        let (offset, offsetSpan) = try value(select["limitOffset"], "OFFSET")
        var limit = RowLimit()
        limit.count = count
        limit.offset = offset
        if let offset {
            guard let offsetSpan else { throw .mergeNotSupported("this OFFSET across shards") }
            // Each shard starts at its first row; a parameter stays referenced.
            if case .parameter = offset { edits.append((offsetSpan, "(\(sql(offset)) * 0)")) } else { edits.append((offsetSpan, "0")) }
        }
        guard let count else { return limit }
        if aggregated {
            guard let countSpan else { throw .mergeNotSupported("FETCH FIRST ROW ONLY with aggregates across shards", hint: "write FETCH FIRST 1 ROWS ONLY or LIMIT 1") }
            // Every group from every shard: no limit.
            if case .parameter = count { edits.append((countSpan, "(NULL::int8 + \(sql(count)))")) } else { edits.append((countSpan, "NULL")) }
            return limit
        }
        switch (count, offset) {
        case (_, nil), (_, .constant(0)?):
            break
        case (.constant(let n), .constant(let m)?):
            guard let countSpan else { throw .mergeNotSupported("FETCH FIRST ROW ONLY with OFFSET across shards", hint: "write LIMIT 1") }
            let (sum, overflow) = n.addingReportingOverflow(m)
            edits.append((countSpan, overflow ? "NULL" : String(sum)))
        case (_, let offset?):
            guard let countSpan else { throw .mergeNotSupported("FETCH FIRST ROW ONLY with OFFSET across shards", hint: "write LIMIT 1") }
            edits.append((countSpan, "(\(sql(count)) + \(sql(offset)))"))
        }
        return limit
    }

    /// The word or number token at `location`.
    private func tokenSpan(at location: Int) -> Range<Int>? {
        var end = location
        while end < bytes.count, SQLScanner.isWordByte(bytes[end]) || bytes[end] == UInt8(ascii: ".") { end += 1 }
        return end > location ? location..<end : nil
    }
}

extension JSONValue {
    /// The same tree without `location` members, to compare expressions as written.
    var withoutLocations: JSONValue {
        switch self {
        case .array(let elements): .array(elements.map(\.withoutLocations))
        case .object(let members): .object(members.filter { $0.key != "location" }.map { JSONMember(key: $0.key, value: $0.value.withoutLocations) })
        default: self
        }
    }

    fileprivate var isEmptyList: Bool { self.elements.isEmpty }
}

extension Optional where Wrapped == JSONValue {
    fileprivate var isEmptyList: Bool { self?.elements.isEmpty ?? true }
}

extension RoutingError {
    /// A cross-shard SELECT that needs a merge plan, routed from a plan where the statement's
    /// tree is not at hand (a plan-cache hit, a prepared statement's Bind): the caller routes
    /// the statement's text again. Reaching a client would be a bug.
    public static let mergeNeedsStatement = RoutingError(
        sqlState: "XX000",
        message: "pgshard could not plan the merge of this statement across shards",
        hint: "report this statement to the pgshard developers; adding a condition on the shard key avoids the merge")

    /// A cross-shard SELECT the merge cannot compute exactly.
    static func mergeNotSupported(_ what: String, hint: String? = nil) -> RoutingError {
        RoutingError(sqlState: featureNotSupported, message: "\(what) is not supported",
                     hint: hint ?? "add a condition on the shard key so the statement runs on one shard")
    }
}
