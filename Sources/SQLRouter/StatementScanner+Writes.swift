import Sharding

extension StatementScanner {
    /// Scans the fields of an `InsertStmt`. For a sharded target the key terms of every VALUES
    /// row are recorded (``insertRows(_:target:)``); ``KeyPlacement`` reads their shards.
    func scanInsert(_ insert: JSONValue, ctes outerCTEs: Set<String>, parent: Int?, depth: Int) throws(AnalysisError) -> Int {
        try checkDepth(depth)
        let level = newLevel(.insert, parent: parent)
        var ctes = outerCTEs
        if let with = insert["withClause"] {
            ctes = try scanWith(with, ctes: outerCTEs, level: level, depth: depth + 1)
        }
        let target = insert["relation"].flatMap {
            addTable($0, level: level, ctes: ctes, isInRange: false, nullableBy: nil, isWriteTarget: true)
        }
        var sourceLevel: Int?
        if let source = insert["selectStmt"] {
            if let rows = Self.valuesRows(source) {
                try walk(.array(rows), level: level, ctes: ctes, depth: depth + 1)
            } else {
                sourceLevel = try scanStatement(source, ctes: ctes, parent: level, depth: depth + 1)
            }
        }
        for member in insert.members {
            switch member.key {
            case "relation", "withClause", "selectStmt":
                continue
            default:
                try walk(member.value, level: level, ctes: ctes, depth: depth + 1)
            }
        }
        if let target, let key = facts.occurrences[target].shardKey {
            let table = facts.occurrences[target].table.relname
            let updates = insert["onConflictClause"]?["targetList"]?.elements ?? []
            if let column = key.keyColumns.first(where: Self.assignedColumns(updates).contains) {
                refuse(.shardKeyUpdate(table: table, key: column))
            }
            if let sourceLevel, insertFromSelect(insert, target: target, sourceLevel: sourceLevel) {
                // The key comes from the SELECT: placed in KeyPlacement.
            } else {
                switch insertRows(insert, target: facts.occurrences[target]) {
                case .success(let rows): facts.occurrences[target].insertRows = rows
                case .failure(let error): facts.keyRefusal = facts.keyRefusal ?? error
                }
            }
        }
        return level
    }

    /// Scans the fields of an `UpdateStmt`.
    func scanUpdate(_ update: JSONValue, ctes outerCTEs: Set<String>, parent: Int?, depth: Int) throws(AnalysisError) -> Int {
        let level = try scanTargetedWrite(update, kind: .update, extraRange: "fromClause", ctes: outerCTEs, parent: parent, depth: depth)
        if let target = facts.occurrences.firstIndex(where: { $0.level == level && $0.isWriteTarget }),
           let key = facts.occurrences[target].shardKey,
           let column = key.keyColumns.first(where: Self.assignedColumns(update["targetList"]?.elements ?? []).contains) {
            refuse(.shardKeyUpdate(table: facts.occurrences[target].table.relname, key: column))
        }
        return level
    }

    /// Scans the fields of a `DeleteStmt`.
    func scanDelete(_ delete: JSONValue, ctes outerCTEs: Set<String>, parent: Int?, depth: Int) throws(AnalysisError) -> Int {
        try scanTargetedWrite(delete, kind: .delete, extraRange: "usingClause", ctes: outerCTEs, parent: parent, depth: depth)
    }

    /// UPDATE and DELETE: the target and the FROM/USING items form the level's range, and the
    /// WHERE clause restricts them all.
    private func scanTargetedWrite(_ statement: JSONValue, kind: QueryLevelKind, extraRange: String, ctes outerCTEs: Set<String>, parent: Int?, depth: Int) throws(AnalysisError) -> Int {
        try checkDepth(depth)
        let level = newLevel(kind, parent: parent)
        var ctes = outerCTEs
        if let with = statement["withClause"] {
            ctes = try scanWith(with, ctes: outerCTEs, level: level, depth: depth + 1)
        }
        if let relation = statement["relation"] {
            addTable(relation, level: level, ctes: ctes, isInRange: true, nullableBy: nil, isWriteTarget: true)
        }
        // The range first, so correlated subqueries elsewhere see its names.
        for item in statement[extraRange]?.elements ?? [] {
            try scanFromItem(item, level: level, ctes: ctes, nullableBy: nil, depth: depth + 2)
        }
        for member in statement.members {
            switch member.key {
            case "relation", "withClause", extraRange:
                continue
            default:
                try walk(member.value, level: level, ctes: ctes, depth: depth + 1)
            }
        }
        if let whereClause = statement["whereClause"] {
            applyWhere(whereClause, level: level)
        }
        return level
    }

    /// The column names a SET list (`ResTarget` nodes) assigns.
    static func assignedColumns(_ targets: [JSONValue]) -> Set<String> {
        Set(targets.compactMap { $0.node("ResTarget")?["name"]?.string })
    }

    /// The rows of an INSERT source that is a plain `VALUES` list (nothing else: no ORDER BY,
    /// LIMIT or WITH on it); `nil` for any other source.
    static func valuesRows(_ source: JSONValue) -> [JSONValue]? {
        guard let select = source.node("SelectStmt"), let rows = select["valuesLists"] else { return nil }
        for member in select.members {
            switch member.key {
            case "valuesLists": continue
            case "op": guard member.value.string == "SETOP_NONE" else { return nil }
            case "limitOption": guard member.value.string == "LIMIT_OPTION_DEFAULT" else { return nil }
            default: return nil
            }
        }
        return rows.elements
    }

    /// The key terms of each VALUES row of an INSERT into a sharded table: the statement must
    /// list its columns, include every key column, and give each row a constant (or parameter)
    /// key. Values are read later (``KeyPlacement``).
    func insertRows(_ insert: JSONValue, target: TableOccurrence) -> Result<[[KeyTerm]], RoutingError> {
        guard let key = target.shardKey else { return .success([]) }
        let table = target.table.relname
        let keyName = key.keyColumns.joined(separator: ", ")
        guard let source = insert["selectStmt"] else {
            return .failure(.insertDefaultValues(table: table, key: keyName))
        }
        guard let rows = Self.valuesRows(source) else {
            return .failure(.insertSelect(table: table))
        }
        let columns = (insert["cols"]?.elements ?? []).compactMap { $0.node("ResTarget") }
        guard !columns.isEmpty else {
            return .failure(.insertWithoutColumnList(table: table, key: keyName))
        }
        var keyIndexes: [Int] = []
        for keyColumn in key.keyColumns {
            guard let index = columns.firstIndex(where: { $0["name"]?.string == keyColumn }) else {
                return .failure(.insertWithoutShardKey(table: table, key: keyColumn))
            }
            guard columns[index]["indirection"] == nil else {
                return .failure(.insertKeyNotConstant(key: keyColumn))
            }
            keyIndexes.append(index)
        }
        var result: [[KeyTerm]] = []
        result.reserveCapacity(rows.count)
        for row in rows {
            let items = row.node("List")?["items"]?.elements ?? []
            var terms: [KeyTerm] = []
            for (position, index) in keyIndexes.enumerated() {
                let term = index < items.count ? predicates.term(items[index]) : .unknown
                guard term != .unknown else {
                    return .failure(.insertKeyNotConstant(key: key.keyColumns[position]))
                }
                terms.append(term)
            }
            result.append(terms)
        }
        return .success(result)
    }

    /// `INSERT INTO t (…, key, …) SELECT …, x, … FROM …`: when `x` is a constant, the target's one
    /// row shape is that constant; when it is the key column of a co-located table of the SELECT,
    /// the inserted keys equal that table's keys (and live on its shards). False for anything
    /// else (the INSERT is then refused unless a hint routes it).
    func insertFromSelect(_ insert: JSONValue, target: Int, sourceLevel: Int) -> Bool {
        guard let key = facts.occurrences[target].shardKey, key.keyColumns.count == 1,
              let select = insert["selectStmt"]?.node("SelectStmt"), (select["op"]?.string ?? "SETOP_NONE") == "SETOP_NONE",
              facts.levels.indices.contains(sourceLevel)
        else { return false }
        let columns = (insert["cols"]?.elements ?? []).compactMap { $0.node("ResTarget") }
        let items = (select["targetList"]?.elements ?? []).compactMap { $0.node("ResTarget")?["val"] }
        guard let keyIndex = columns.firstIndex(where: { $0["name"]?.string == key.keyColumns[0] }), keyIndex < items.count,
              items.count == columns.count, !items.contains(where: { $0.node("ColumnRef")?["fields"]?.nameList?.contains("*") == true })
        else { return false }
        let item = items[keyIndex]
        if let names = KeyPredicates.columnReference(item) {
            guard let source = keyColumn(named: names, level: sourceLevel, outer: false),
                  let sourceKey = facts.occurrences[source.occurrence].shardKey, sourceKey.isColocated(with: key)
            else { return false }
            facts.keyEqualities.append(KeyEquality(left: KeyColumnReference(occurrence: target, column: 0), right: source))
            facts.occurrences[target].keyFromSelect = true
            return true
        }
        let term = predicates.term(item)
        guard term != .unknown else { return false }
        facts.occurrences[target].insertRows = [[term]]
        return true
    }

    /// Records the key formula of `level`'s WHERE clause and the key equalities among its
    /// AND-conjuncts.
    func applyWhere(_ whereClause: JSONValue, level: Int) {
        facts.levels[level].whereFormula = predicates.formula(whereClause) { keyColumn(named: $0, level: level, outer: false) }
        noteKeyEqualities(whereClause, level: level)
    }

    /// Records `a.key = b.key` conjuncts of `clause` (a WHERE clause or JOIN condition of
    /// `level`). One side may name a key column of an enclosing level (a correlated subquery),
    /// but only qualified, so the name cannot belong to a table of this level.
    func noteKeyEqualities(_ clause: JSONValue, level: Int) {
        for conjunct in KeyPredicates.conjuncts(of: clause) {
            guard let expression = conjunct.node("A_Expr"), expression["kind"]?.string == "AEXPR_OP",
                  let name = expression["name"]?.nameList, name == ["="] || name == ["pg_catalog", "="],
                  let left = expression["lexpr"].flatMap(KeyPredicates.columnReference),
                  let right = expression["rexpr"].flatMap(KeyPredicates.columnReference),
                  let leftKey = keyColumn(named: left, level: level, outer: true),
                  let rightKey = keyColumn(named: right, level: level, outer: true),
                  leftKey.occurrence != rightKey.occurrence, leftKey.column == rightKey.column,
                  facts.occurrences[leftKey.occurrence].level == level || facts.occurrences[rightKey.occurrence].level == level,
                  let leftTable = facts.occurrences[leftKey.occurrence].shardKey,
                  let rightTable = facts.occurrences[rightKey.occurrence].shardKey,
                  leftTable.isColocated(with: rightTable)
            else { continue }
            facts.keyEqualities.append(KeyEquality(left: leftKey, right: rightKey))
        }
    }

    /// The key column of a sharded occurrence that `column` names: qualified by the
    /// occurrence's alias (or table name when it has none) at the innermost level that exposes
    /// that name (this level only unless `outer`), or unqualified when exactly one sharded
    /// occurrence of this level has a key column of that name (had another range entry such a
    /// column too, PostgreSQL would reject the reference as ambiguous).
    func keyColumn(named column: [String], level: Int, outer: Bool) -> KeyColumnReference? {
        func reference(_ index: Int, _ name: String) -> KeyColumnReference? {
            guard let position = facts.occurrences[index].shardKey?.keyColumns.firstIndex(of: name) else { return nil }
            return KeyColumnReference(occurrence: index, column: position)
        }
        func candidates(at level: Int) -> [Int] {
            facts.occurrences.indices.filter {
                facts.occurrences[$0].level == level && facts.occurrences[$0].isInRange && facts.occurrences[$0].shardKey != nil
            }
        }
        switch column.count {
        case 1:
            let matches = candidates(at: level).compactMap { reference($0, column[0]) }
            return matches.count == 1 ? matches[0] : nil
        case 2:
            var current: Int? = level
            while let scope = current {
                if facts.levels[scope].rangeNames.contains(column[0]) {
                    let matches = candidates(at: scope).filter { facts.occurrences[$0].table.exposedName == column[0] }
                    return matches.count == 1 ? reference(matches[0], column[1]) : nil
                }
                current = outer ? facts.levels[scope].parent : nil
            }
            return nil
        case 3:
            let matches = candidates(at: level).filter {
                let table = facts.occurrences[$0].table
                return table.alias == nil && table.relname == column[1] && (table.schema == nil || table.schema == column[0])
            }
            return matches.count == 1 ? reference(matches[0], column[2]) : nil
        default:
            return nil
        }
    }
}
