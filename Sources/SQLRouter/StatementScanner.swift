import Sharding

/// Why analysis gave up on a whole message.
enum AnalysisError: Error {
    /// The parse tree is deeper than ``RouterLimits/maxNestingDepth`` allows.
    case tooDeep
}

/// Walks one SELECT/INSERT/UPDATE/DELETE parse tree and records its query levels and the
/// tables each level names (``StatementFacts``).
///
/// Recursion follows the JSON tree, whose depth the JSON parser already bounded; `depth` is
/// checked again here so the walk stays bounded even if that changes.
final class StatementScanner {
    let schema: ShardingSchema
    let predicates: KeyPredicates
    let maxDepth: Int
    var facts = StatementFacts()

    init(schema: ShardingSchema, predicates: KeyPredicates, maxDepth: Int) {
        self.schema = schema
        self.predicates = predicates
        self.maxDepth = maxDepth
    }

    func checkDepth(_ depth: Int) throws(AnalysisError) {
        guard depth <= maxDepth else { throw .tooDeep }
    }

    func newLevel(_ kind: QueryLevelKind, parent: Int?) -> Int {
        facts.levels.append(QueryLevel(kind: kind, parent: parent))
        return facts.levels.count - 1
    }

    func refuse(_ error: RoutingError) {
        facts.refuse(error)
    }

    /// Scans a statement node (`{"SelectStmt": …}`, `{"InsertStmt": …}`, …) as a new level
    /// under `parent`; `ctes` are the WITH names visible to it.
    @discardableResult
    func scanStatement(_ statement: JSONValue, ctes: Set<String>, parent: Int?, depth: Int) throws(AnalysisError) -> Int? {
        try checkDepth(depth)
        guard let node = statement.node else { return nil }
        switch node.type {
        case "SelectStmt":
            return try scanSelect(node.fields, ctes: ctes, parent: parent, depth: depth + 1)
        case "InsertStmt", "UpdateStmt", "DeleteStmt":
            if parent != nil { facts.hasNestedWrite = true }
            switch node.type {
            case "InsertStmt": return try scanInsert(node.fields, ctes: ctes, parent: parent, depth: depth + 1)
            case "UpdateStmt": return try scanUpdate(node.fields, ctes: ctes, parent: parent, depth: depth + 1)
            default: return try scanDelete(node.fields, ctes: ctes, parent: parent, depth: depth + 1)
            }
        default:
            if let parent { try walk(statement, level: parent, ctes: ctes, depth: depth + 1) }
            return nil
        }
    }

    /// Scans the fields of a `SelectStmt`: a plain SELECT/VALUES, or a set operation whose arms
    /// (`larg`, `rarg`) are SELECT fields themselves.
    func scanSelect(_ select: JSONValue, ctes outerCTEs: Set<String>, parent: Int?, depth: Int) throws(AnalysisError) -> Int {
        try checkDepth(depth)
        let isSetOperation = (select["op"]?.string ?? "SETOP_NONE") != "SETOP_NONE"
        let level = newLevel(isSetOperation ? .setOperation : .select, parent: parent)
        if isSetOperation {
            facts.levels[level].combining.insert(.setOperation)
            facts.levels[level].isUnionAll = select["op"]?.string == "SETOP_UNION" && select["all"]?.bool == true
        }
        var ctes = outerCTEs
        if let with = select["withClause"] {
            ctes = try scanWith(with, ctes: outerCTEs, level: level, depth: depth + 1)
        }
        // The FROM list first, so correlated subqueries elsewhere see its names.
        for item in select["fromClause"]?.elements ?? [] {
            try scanFromItem(item, level: level, ctes: ctes, nullableBy: nil, depth: depth + 2)
        }
        for member in select.members {
            let value = member.value
            switch member.key {
            case "withClause", "op", "all", "limitOption", "fromClause":
                continue
            case "lockingClause":
                // `FOR UPDATE OF u` names range entries (RangeVar nodes) that are not tables.
                continue
            case "larg", "rarg":
                let arm = try scanSelect(value, ctes: ctes, parent: level, depth: depth + 1)
                facts.levels[arm].isArm = true
            case "intoClause":
                refuse(.createTableAs("SELECT INTO"))
            default:
                switch member.key {
                case "groupClause": facts.levels[level].combining.insert(.groupBy)
                case "havingClause": facts.levels[level].combining.insert(.having)
                case "distinctClause": facts.levels[level].combining.insert(.distinct)
                case "sortClause": facts.levels[level].combining.insert(.orderBy)
                case "limitCount", "limitOffset": facts.levels[level].combining.insert(.limit)
                default: break
                }
                try walk(value, level: level, ctes: ctes, depth: depth + 1)
            }
        }
        if let whereClause = select["whereClause"] {
            applyWhere(whereClause, level: level)
        }
        return level
    }

    /// Scans a WITH clause owned by `level` and returns the CTE names visible in the rest of it.
    /// A CTE of a plain WITH sees the CTEs before it; one of WITH RECURSIVE sees all of them.
    func scanWith(_ with: JSONValue, ctes outerCTEs: Set<String>, level: Int, depth: Int) throws(AnalysisError) -> Set<String> {
        try checkDepth(depth)
        let clause = with.node("WithClause") ?? with
        let recursive = clause["recursive"]?.bool == true
        let definitions = (clause["ctes"]?.elements ?? []).compactMap { $0.node("CommonTableExpr") }
        let names = definitions.compactMap { $0["ctename"]?.string }
        var visible = outerCTEs
        if recursive { visible.formUnion(names) }
        for definition in definitions {
            if let query = definition["ctequery"] {
                try scanStatement(query, ctes: visible, parent: level, depth: depth + 2)
            }
            if !recursive, let name = definition["ctename"]?.string { visible.insert(name) }
        }
        return outerCTEs.union(names)
    }

    /// Scans one FROM item of `level`. `nullableBy` names the outer join whose nullable side
    /// holds it.
    func scanFromItem(_ item: JSONValue, level: Int, ctes: Set<String>, nullableBy: String?, depth: Int) throws(AnalysisError) {
        try checkDepth(depth)
        guard let node = item.node else {
            try walk(item, level: level, ctes: ctes, depth: depth + 1)
            return
        }
        let fields = node.fields
        switch node.type {
        case "RangeVar":
            addTable(fields, level: level, ctes: ctes, isInRange: true, nullableBy: nullableBy, isWriteTarget: false)
        case "JoinExpr":
            let joinType = fields["jointype"]?.string ?? "JOIN_INNER"
            let leftNullable = nullableBy ?? (joinType == "JOIN_RIGHT" ? "RIGHT" : joinType == "JOIN_FULL" ? "FULL" : nil)
            let rightNullable = nullableBy ?? (joinType == "JOIN_LEFT" ? "LEFT" : joinType == "JOIN_FULL" ? "FULL" : nil)
            if let left = fields["larg"] {
                try scanFromItem(left, level: level, ctes: ctes, nullableBy: leftNullable, depth: depth + 2)
            }
            if let right = fields["rarg"] {
                try scanFromItem(right, level: level, ctes: ctes, nullableBy: rightNullable, depth: depth + 2)
            }
            if let quals = fields["quals"] {
                try walk(quals, level: level, ctes: ctes, depth: depth + 2)
                noteKeyEqualities(quals, level: level)
            }
            addRangeName(alias: fields["alias"], level: level)
        case "RangeSubselect":
            facts.levels[level].hasOtherRangeItems = true
            addRangeName(alias: fields["alias"], level: level)
            if let subquery = fields["subquery"] {
                try scanStatement(subquery, ctes: ctes, parent: level, depth: depth + 2)
            }
        case "RangeTableSample":
            if let relation = fields["relation"] {
                try scanFromItem(relation, level: level, ctes: ctes, nullableBy: nullableBy, depth: depth + 2)
            }
            for member in fields.members where member.key != "relation" {
                try walk(member.value, level: level, ctes: ctes, depth: depth + 2)
            }
        default:
            // RangeFunction, RangeTableFunc, …: expressions that may hold sublinks.
            facts.levels[level].hasOtherRangeItems = true
            addRangeName(alias: fields["alias"], level: level)
            try walk(item, level: level, ctes: ctes, depth: depth + 1)
        }
    }

    private func addRangeName(alias: JSONValue?, level: Int) {
        if let name = alias?["aliasname"]?.string {
            facts.levels[level].rangeNames.insert(name)
        }
    }

    /// Records the table a `RangeVar` names. A CTE name visible here is not a table (the target
    /// of a write always is). Returns the occurrence's index.
    @discardableResult
    func addTable(_ rangeVar: JSONValue, level: Int, ctes: Set<String>, isInRange: Bool, nullableBy: String?, isWriteTarget: Bool) -> Int? {
        guard let table = TableName(rangeVar: rangeVar) else { return nil }
        facts.levels[level].rangeNames.insert(table.exposedName)
        if !isWriteTarget, table.schema == nil, ctes.contains(table.relname) {
            if isInRange { facts.levels[level].hasOtherRangeItems = true }
            return nil
        }
        guard let placement = schema.placement(of: table) else {
            if facts.unknownTable == nil { facts.unknownTable = table }
            return nil
        }
        if isInRange, !isWriteTarget, !placement.isSharded {
            facts.levels[level].hasOtherRangeItems = true
        }
        facts.occurrences.append(TableOccurrence(
            table: table, placement: placement, level: level, isInRange: isInRange,
            nullableBy: nullableBy, isWriteTarget: isWriteTarget))
        return facts.occurrences.count - 1
    }

    /// Walks an expression (or any other subtree) of `level`: nested statements become child
    /// levels, function calls are checked for aggregates and window functions, and a table
    /// found in an unexpected place is recorded as an unrestricted occurrence.
    func walk(_ value: JSONValue, level: Int, ctes: Set<String>, depth: Int) throws(AnalysisError) {
        try checkDepth(depth)
        switch value {
        case .array(let elements):
            for element in elements {
                try walk(element, level: level, ctes: ctes, depth: depth + 1)
            }
        case .object(let members):
            if let node = value.node {
                switch node.type {
                case "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt":
                    try scanStatement(value, ctes: ctes, parent: level, depth: depth + 1)
                    return
                case "RangeVar":
                    addTable(node.fields, level: level, ctes: ctes, isInRange: false, nullableBy: nil, isWriteTarget: false)
                    return
                case "FuncCall":
                    noteFunctionCall(node.fields, level: level)
                case "SQLValueFunction":
                    if let name = Volatility.volatileName(ofValueFunction: node.fields) {
                        facts.volatileFunction = facts.volatileFunction ?? name
                    }
                default:
                    break
                }
            } else if value["relname"]?.string != nil, value["relpersistence"] != nil {
                // A bare RangeVar (see TableName.init(anyRangeVar:)) in an unexpected place.
                addTable(value, level: level, ctes: ctes, isInRange: false, nullableBy: nil, isWriteTarget: false)
                return
            }
            for member in members {
                try walk(member.value, level: level, ctes: ctes, depth: depth + 1)
            }
        default:
            return
        }
    }

    private func noteFunctionCall(_ call: JSONValue, level: Int) {
        if let name = call["funcname"]?.nameList?.last?.lowercased(),
           name.hasPrefix("pg_advisory") || name.hasPrefix("pg_try_advisory") || name == "set_config" || name == "pg_notify" {
            facts.sessionFunction = facts.sessionFunction ?? name
        }
        if let name = Volatility.volatileName(ofCall: call) {
            facts.volatileFunction = facts.volatileFunction ?? name
        }
        if call["over"] != nil {
            facts.levels[level].combining.insert(.window)
        } else if Aggregates.isAggregate(call) {
            facts.levels[level].combining.insert(.aggregate)
            facts.levels[level].aggregates.append(call)
        }
    }
}
