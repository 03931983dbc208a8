import Merge
import Sharding

/// pgshard's own part of an EXPLAIN: where the statement goes, why, what each shard receives
/// and how the answers are combined. `EXPLAIN` through pgshard prints these lines before the
/// shards' plans; `pgshard route` prints them without connecting.
public struct Explanation: Sendable, Equatable {
    /// The lines, each starting with `pgshard:`.
    public var lines: [String]
    /// `EXPLAIN (FORMAT TEXT)` (the default): pgshard's lines can go in front of the plan rows.
    public var textFormat: Bool

    public init(lines: [String], textFormat: Bool = true) {
        self.lines = lines
        self.textFormat = textFormat
    }
}

/// What analysis learned about a statement, kept for explaining it.
final class AnalysisTrace: @unchecked Sendable {
    var facts: StatementFacts?
    /// The plan of the last DML statement analysed, for prepared statements.
    var plan: DMLPlan?
    var hint: RoutingHint?
}

/// Builds ``Explanation`` lines from a route and the facts behind it.
struct RouteExplainer {
    let schema: ShardingSchema

    func lines(route: Route, sql: String, trace: AnalysisTrace) -> [String] {
        var lines = ["pgshard: " + summary(route)]
        if let hint = trace.hint {
            switch hint {
            case .shard(let shard): lines.append("pgshard:   hint: shard=\(name(shard))")
            case .key(let key): lines.append("pgshard:   hint: key=\(key)")
            }
        }
        if let facts = trace.facts {
            lines += reasons(facts)
        }
        switch route {
        case .insertSplit(let parts):
            for part in parts { lines.append("pgshard: statement sent to \(name(part.shard)): \(part.sql)") }
        case .refuse:
            break
        default:
            lines.append("pgshard: statement sent: \(sql)")
        }
        if let merge = merge(route) { lines.append("pgshard: merge: \(merge)") }
        return lines
    }

    private func name(_ shard: Int) -> String {
        shard < schema.shardNames.count ? schema.shardNames[shard] : "shard \(shard)"
    }

    private func names(_ shards: [Int]) -> String {
        shards.map(name).joined(separator: ", ")
    }

    private func summary(_ route: Route) -> String {
        switch route {
        case .shard(let shard): "runs on shard \(name(shard))"
        case .anyShard: "runs on any one shard (no sharded table: catalogs, reference tables or none)"
        case .scatter(let shards, let kind):
            shards.count == schema.shardCount
                ? "runs on every shard (\(names(shards))) as a \(kind == .write ? "write" : "read")"
                : "runs on \(shards.count) of \(schema.shardCount) shards (\(names(shards))) as a \(kind == .write ? "write" : "read")"
        case .allShards(.ddl): "runs on every shard: schema change"
        case .allShards(.referenceWrite): "runs on every shard: write to a reference table"
        case .insertSplit(let parts): "split into one INSERT per shard (\(names(parts.map(\.shard))))"
        case .copyIn(let plan):
            switch plan.target {
            case .sharded(_, let shards): "COPY FROM STDIN: each row to the shard of its key (\(names(shards))), in one transaction"
            case .reference: "COPY FROM STDIN into a reference table: every row to every shard, in one transaction"
            case .pinned(let shard): "COPY FROM STDIN: runs on shard \(name(shard))"
            }
        case .cursor(let statement): cursorSummary(statement)
        case .session: "handled by pgshard (session or transaction control)"
        case .refuse(let error): "refused: \(error.sqlState) \(error.message)" + (error.hint.map { " (hint: \($0))" } ?? "")
        case .explain(let inner, _): summary(inner)
        }
    }

    private func cursorSummary(_ statement: CursorStatement) -> String {
        switch statement {
        case .declare(let cursor):
            switch cursor.placement {
            case .shard(let shard): "declares cursor \(cursor.name) on shard \(name(shard))"
            case .anyShard: "declares cursor \(cursor.name) on any one shard (no sharded table: catalogs, reference tables or none)"
            case .shards(let shards): "declares cursor \(cursor.name) on \(shards.count) shards (\(names(shards))); FETCH reads them one after the other"
            }
        case .fetch(let fetch): "\(fetch.isMove ? "MOVE" : "FETCH") runs where cursor \(fetch.name) was declared"
        case .close(let name?): "CLOSE runs where cursor \(name) was declared"
        case .close(nil): "CLOSE ALL runs on every shard the session uses"
        case .currentOf(let name): "runs on the shard whose row cursor \(name) stands on"
        }
    }

    private func merge(_ route: Route) -> String? {
        switch route {
        case .shard, .anyShard: "none (one shard answers)"
        case .scatter(_, .read): "rows of every shard concatenated, in no particular order"
        case .scatter(_, .merge(let plan)): Self.describe(plan)
        case .scatter(_, .copyOut(let header)): "the shards' COPY data concatenated\(header ? ", one header line" : ""), COPY counts summed"
        case .scatter(_, .write), .insertSplit: "command tags summed, RETURNING rows concatenated"
        case .allShards: "one shard's answer stands for all; every shard must succeed"
        default: nil
        }
    }

    /// What the merge of a cross-shard SELECT does.
    static func describe(_ plan: MergePlan) -> String {
        var steps: [String] = []
        if plan.aggregation != nil { steps.append("per-shard aggregates combined per group") }
        if plan.distinct { steps.append("duplicate rows removed") }
        if !plan.order.isEmpty {
            steps.append(plan.aggregation == nil ? "k-way merge of the shards' sorted rows" : "groups sorted")
        }
        if let count = plan.limit.count { steps.append("LIMIT \(count.text)") }
        if let offset = plan.limit.offset { steps.append("OFFSET \(offset.text)") }
        if plan.hiddenColumns > 0 { steps.append("\(plan.hiddenColumns) hidden column(s) removed") }
        return steps.joined(separator: ", ") + "; each shard runs: \(plan.sql)"
    }

    /// Per table: its placement and the key conditions that decided its shards.
    private func reasons(_ facts: StatementFacts) -> [String] {
        var lines: [String] = []
        for (index, occurrence) in facts.occurrences.enumerated() {
            let table = occurrence.table.relname
            switch occurrence.placement {
            case .reference:
                lines.append("pgshard:   \(table): reference table, a copy on every shard")
            case .pinned(let shard):
                lines.append("pgshard:   \(table): pinned to \(name(shard))")
            case .catalog:
                lines.append("pgshard:   \(table): system catalog, the same on every shard")
            case .sharded(let key):
                let column = key.keyColumns.joined(separator: ", ")
                let shards: String
                switch occurrence.restriction {
                case .unrestricted: shards = "every shard"
                case .shards(let set) where set.isEmpty: shards = "no shard (the conditions admit no row)"
                case .shards(let set): shards = names(set.sorted())
                }
                let why: String
                if let rows = occurrence.insertRowShards {
                    why = "\(rows.count) VALUES row\(rows.count == 1 ? "" : "s")"
                } else {
                    let condition = render(facts.levels[occurrence.level].whereFormula, occurrence: index, facts: facts)
                    let joins = facts.keyEqualities.filter { $0.left.occurrence == index || $0.right.occurrence == index }
                        .map { equality -> String in
                            let other = equality.left.occurrence == index ? equality.right : equality.left
                            let partner = facts.occurrences[other.occurrence]
                            return "joined on the key with \(partner.table.exposedName)"
                        }
                    let parts = (condition.isEmpty ? [] : [condition]) + joins
                    why = parts.isEmpty ? "no condition on the key" : parts.joined(separator: "; ")
                }
                lines.append("pgshard:   \(table).\(column) (\(key.function.name)): \(why) → \(shards)")
            }
        }
        return lines
    }

    /// The key conditions of `formula` that concern `occurrence`, as SQL-like text.
    private func render(_ formula: KeyFormula, occurrence: Int, facts: StatementFacts) -> String {
        switch formula {
        case .atom(let index, let column, let atom) where index == occurrence:
            let name = facts.occurrences[index].shardKey?.keyColumns[column] ?? "?"
            switch atom {
            case .equals(let terms) where terms.count == 1:
                if case .arrayLiteral = terms[0] { return "\(name) = ANY(\(terms[0].text))" }
                if case .arrayParameter = terms[0] { return "\(name) = ANY(\(terms[0].text))" }
                return "\(name) = \(terms[0].text)"
            case .equals(let terms):
                return "\(name) IN (\(terms.map(\.text).joined(separator: ", ")))"
            case .range(let lower, let lowerInclusive, let upper, let upperInclusive):
                var parts: [String] = []
                if let lower { parts.append("\(name) \(lowerInclusive ? ">=" : ">") \(lower.text)") }
                if let upper { parts.append("\(name) \(upperInclusive ? "<=" : "<") \(upper.text)") }
                return parts.joined(separator: " AND ")
            }
        case .atom, .unknown:
            return ""
        case .and(let parts):
            return parts.map { render($0, occurrence: occurrence, facts: facts) }.filter { !$0.isEmpty }.joined(separator: " AND ")
        case .or(let parts):
            let rendered = parts.map { render($0, occurrence: occurrence, facts: facts) }
            return rendered.contains("") ? "" : "(" + rendered.joined(separator: " OR ") + ")"
        }
    }
}

extension KeyTerm {
    /// The term as the statement wrote it, roughly.
    var text: String {
        switch self {
        case .literal(let literal, let castTo, let negated):
            var text = literal.kind == .string ? "'\(literal.text)'" : literal.kind == .null ? "NULL" : literal.text
            if negated { text = "-" + text }
            if let castTo { text += "::\(castTo.rawValue)" }
            return text
        case .parameter(let index, let castTo):
            return "$\(index + 1)" + (castTo.map { "::\($0.rawValue)" } ?? "")
        case .arrayLiteral(let literal):
            return "'\(literal.text)'"
        case .arrayParameter(let index):
            return "$\(index + 1)"
        case .unknown:
            return "(expression)"
        }
    }
}
