import Sharding

extension StatementScanner {
    /// Scans the fields of an `InsertStmt`. For a sharded target the shard of every VALUES row
    /// is computed here (``insertShards(_:target:)``) and becomes the target's restriction.
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
        if let source = insert["selectStmt"] {
            if let rows = Self.valuesRows(source) {
                try walk(.array(rows), level: level, ctes: ctes, depth: depth + 1)
            } else {
                try scanStatement(source, ctes: ctes, parent: level, depth: depth + 1)
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
            if Self.assignedColumns(updates).contains(key.keyColumns[0]) {
                refuse(.shardKeyUpdate(table: table, key: key.keyColumns[0]))
            }
            switch insertShards(insert, target: facts.occurrences[target]) {
            case .success(let shards): facts.occurrences[target].restriction = .shards(shards)
            case .failure(let error): refuse(error)
            }
        }
        return level
    }

    /// Scans the fields of an `UpdateStmt`.
    func scanUpdate(_ update: JSONValue, ctes outerCTEs: Set<String>, parent: Int?, depth: Int) throws(AnalysisError) -> Int {
        let level = try scanTargetedWrite(update, kind: .update, extraRange: "fromClause", ctes: outerCTEs, parent: parent, depth: depth)
        if let target = facts.occurrences.firstIndex(where: { $0.level == level && $0.isWriteTarget }),
           let key = facts.occurrences[target].shardKey,
           Self.assignedColumns(update["targetList"]?.elements ?? []).contains(key.keyColumns[0]) {
            refuse(.shardKeyUpdate(table: facts.occurrences[target].table.relname, key: key.keyColumns[0]))
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
        for member in statement.members {
            switch member.key {
            case "relation", "withClause":
                continue
            case extraRange:
                for item in member.value.elements {
                    try scanFromItem(item, level: level, ctes: ctes, nullableBy: nil, depth: depth + 2)
                }
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

    /// The shard of the rows an INSERT into a sharded table writes: the statement must list its
    /// columns, include the key, and give each VALUES row a constant key, all on one shard.
    func insertShards(_ insert: JSONValue, target: TableOccurrence) -> Result<Set<Int>, RoutingError> {
        guard let key = target.shardKey else { return .success([]) }
        let table = target.table.relname
        guard let source = insert["selectStmt"] else {
            return .failure(.insertDefaultValues(table: table, key: key.keyColumns[0]))
        }
        guard let rows = Self.valuesRows(source) else {
            return .failure(.insertSelect(table: table))
        }
        let columns = (insert["cols"]?.elements ?? []).compactMap { $0.node("ResTarget") }
        guard !columns.isEmpty else {
            return .failure(.insertWithoutColumnList(table: table, key: key.keyColumns[0]))
        }
        guard let keyIndex = columns.firstIndex(where: { $0["name"]?.string == key.keyColumns[0] }) else {
            return .failure(.insertWithoutShardKey(table: table, key: key.keyColumns[0]))
        }
        guard columns[keyIndex]["indirection"] == nil else {
            return .failure(.insertKeyNotConstant(key: key.keyColumns[0]))
        }
        var shards = Set<Int>()
        for row in rows {
            let items = row.node("List")?["items"]?.elements ?? []
            guard keyIndex < items.count, let constant = predicates.constant(items[keyIndex], as: key.keyTypes[0]) else {
                return .failure(.insertKeyNotConstant(key: key.keyColumns[0]))
            }
            switch constant {
            case .value(let value): shards.formUnion((try? key.function.shards(for: [.values([value])]).get()) ?? [])
            // PostgreSQL's hash partitioning places a NULL key too (its hash is skipped).
            case .null: shards.formUnion((try? key.function.shards(for: [.values([nil])]).get()) ?? [])
            }
        }
        guard shards.count == 1 else { return .failure(.insertSpansShards()) }
        return .success(shards)
    }

    /// Restricts the sharded occurrences of `level` by the key conditions among the
    /// AND-conjuncts of its WHERE clause.
    func applyWhere(_ whereClause: JSONValue, level: Int) {
        for conjunct in KeyPredicates.conjuncts(of: whereClause) {
            guard let condition = KeyPredicates.keyCondition(conjunct),
                  let index = occurrence(named: condition.column, level: level),
                  let key = facts.occurrences[index].shardKey
            else { continue }
            var shards = Set<Int>()
            var usable = true
            for value in condition.values {
                guard case .value(let keyValue) = predicates.constant(value, as: key.keyTypes[0]) else {
                    usable = false
                    break
                }
                shards.formUnion((try? key.function.shards(for: [.values([keyValue])]).get()) ?? [])
            }
            if usable {
                facts.occurrences[index].restriction = facts.occurrences[index].restriction.intersection(shards)
            }
        }
    }

    /// The sharded occurrence of `level` whose key column `column` names: qualified by the
    /// occurrence's alias (or table name when it has none), or unqualified when exactly one
    /// sharded occurrence of the level has a key column of that name (if another range entry
    /// had such a column too, PostgreSQL would reject the reference as ambiguous).
    func occurrence(named column: [String], level: Int) -> Int? {
        let candidates = facts.occurrences.indices.filter {
            facts.occurrences[$0].level == level && facts.occurrences[$0].isInRange
                && facts.occurrences[$0].shardKey != nil
        }
        let matches: [Int]
        switch column.count {
        case 1:
            matches = candidates.filter { facts.occurrences[$0].shardKey?.keyColumns[0] == column[0] }
        case 2:
            matches = candidates.filter {
                facts.occurrences[$0].table.exposedName == column[0] && facts.occurrences[$0].shardKey?.keyColumns[0] == column[1]
            }
        case 3:
            matches = candidates.filter {
                let table = facts.occurrences[$0].table
                return table.alias == nil && table.relname == column[1] && (table.schema == nil || table.schema == column[0])
                    && facts.occurrences[$0].shardKey?.keyColumns[0] == column[2]
            }
        default:
            matches = []
        }
        return matches.count == 1 ? matches[0] : nil
    }
}
