/// A cache entry: one reference to retain on a hit, however large the plan.
final class CachedEntry: Sendable {
    let plan: CachedPlan
    /// What ``Router/singleShardRoute(_:context:)`` reads of a `.dml` plan without parameters:
    /// taken out once here, since matching `plan` copies the whole DMLPlan on every hit.
    let quick: (fast: FastRoute, bindings: [LiteralBinding])?
    /// `quick`'s shape is `key = <integer>` on an integer key: the shard read from the
    /// literal's bytes.
    let integerKey: IntegerKeyLookup?
    /// The shape names a ``PinningMarkers`` word outside its literals.
    let pins: Bool

    init(_ plan: CachedPlan, shape: StatementShape) {
        self.plan = plan
        if case .dml(let dml, let bindings, let fast?) = plan, !dml.usesParameters {
            quick = (fast, bindings)
            integerKey = IntegerKeyLookup(fast, bindings: bindings)
        } else {
            quick = nil
            integerKey = nil
        }
        pins = shape.bytes.withUnsafeBufferPointer { PinningMarkers.mentioned(in: $0) }
    }
}

/// What the plan cache keeps for one statement shape (``NormalizedStatement/key``).
enum CachedPlan: Sendable {
    /// SELECT/INSERT/UPDATE/DELETE: the plan, and where each literal it reads sits now; `fast`
    /// for the common shape that needs no full analysis.
    case dml(DMLPlan, literals: [LiteralBinding], fast: FastRoute?)
    /// A statement whose route does not depend on its literals (transaction control).
    case fixed(Route)
    /// `SET …`: replayed as the statement's own text.
    case set(isLocal: Bool)
    /// An INSERT that leaves a generated key to pgshard: how to write new keys into its text.
    /// The route comes from the rewritten text, so no key is ever replayed.
    case generatedKey(GeneratedKeyInsert)
}

/// A literal the plan reads, found again in a new statement of the same shape.
struct LiteralBinding: Sendable {
    /// The literal's location in the statement the plan was made from.
    var location: Int
    /// Its slot (index among the statement's literals).
    var slot: Int
    /// The grammar folded a `-` into the constant: the slot holds the digits only.
    var negated: Bool
}

extension CachedPlan {
    /// The cache entry for a statement just routed the slow way, or nil when its route depends
    /// on more than its shape and literal slots.
    static func make(type: String, route: Route, plan: DMLPlan?, normalized: NormalizedStatement, text: MessageText, shardCount: Int) -> CachedPlan? {
        switch type {
        case "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt":
            guard let plan else { return nil }
            var bindings: [LiteralBinding] = []
            for literal in plan.literals where literal.kind != .null {
                guard let binding = binding(for: literal.location, normalized: normalized, text: text) else { return nil }
                bindings.append(binding)
            }
            return .dml(plan, literals: bindings, fast: FastRoute(plan, shardCount: shardCount))
        case "TransactionStmt":
            switch route {
            case .session(.begin), .session(.commit), .session(.rollback), .session(.savepoint), .session(.release), .session(.rollbackTo):
                return .fixed(route)
            default:
                return nil
            }
        case "VariableSetStmt":
            if case .session(.set(_, let isLocal)) = route { return .set(isLocal: isLocal) }
            return nil
        default:
            return nil
        }
    }

    private static func binding(for location: Int, normalized: NormalizedStatement, text: MessageText) -> LiteralBinding? {
        if let slot = normalized.slots.firstIndex(where: { $0.location == location }) {
            return LiteralBinding(location: location, slot: slot, negated: false)
        }
        // `-5`: libpg_query locates the folded constant at the sign.
        guard location < text.utf8.count, text.utf8[location] == UInt8(ascii: "-") else { return nil }
        var digits = location + 1
        while digits < text.utf8.count, MessageText.isWhitespace(text.utf8[digits]) { digits += 1 }
        guard let slot = normalized.slots.firstIndex(where: { $0.location == digits }) else { return nil }
        return LiteralBinding(location: location, slot: slot, negated: true)
    }
}

extension DMLPlan {
    /// Every literal the plan's key terms hold.
    var literals: [Literal] {
        var terms = facts.levels.flatMap(\.whereFormula.terms)
        for occurrence in facts.occurrences {
            terms += (occurrence.insertRows ?? []).flatMap { $0 }
        }
        return terms.compactMap { term in
            switch term {
            case .literal(let literal, _, _), .arrayLiteral(let literal): literal
            default: nil
            }
        }
    }
}

/// The route of a statement with one sharded table and nothing else that decides its shards (a
/// point lookup, a single-row INSERT, an UPDATE by key): the shards its key conditions admit,
/// then one shard, or what the full analysis said for several shards. Exactly what
/// ``KeyPlacement`` and ``DMLRouting`` would answer for this shape, without copying its facts.
final class FastRoute: Sendable {
    let occurrence: Int
    let table: String
    let key: ShardedTable
    let formula: KeyFormula
    /// A single-row INSERT's key terms.
    let insertRow: [KeyTerm]?
    /// The route when several shards are admitted: `.scatter` (its shards replaced) or a refusal.
    let severalShards: Route
    let shardCount: Int
    /// The WHERE clause is `key = term` alone on a one-column key: its shard is the term's.
    let equalsTerm: KeyTerm?

    init?(_ plan: DMLPlan, shardCount: Int) {
        // (A class: a cache hit retains it once instead of copying every field.)
        let facts = plan.facts
        guard facts.unknownTable == nil, facts.refusal == nil, facts.keyRefusal == nil, facts.sessionFunction == nil,
              facts.keyEqualities.isEmpty,
              let index = facts.occurrences.firstIndex(where: { $0.shardKey != nil }), let key = facts.occurrences[index].shardKey,
              facts.occurrences.indices.allSatisfy({ i in
                  i == index || (!facts.occurrences[i].isWriteTarget && (facts.occurrences[i].placement == .reference || facts.occurrences[i].placement == .catalog))
              })
        else { return nil }
        let occurrence = facts.occurrences[index]
        if let rows = occurrence.insertRows {
            guard rows.count == 1 else { return nil }
        } else {
            // Only a table in its level's range is restricted by the level's WHERE clause.
            guard occurrence.isInRange else { return nil }
        }
        // What the analysis answers when the key admits every shard.
        var several = facts
        several.occurrences[index].restriction = .shards(Set(0..<shardCount))
        let route = DMLRouting(facts: several, shardCount: shardCount).route()
        switch route {
        // `.shard`: a schema of one shard, where every key is there.
        case .scatter, .refuse, .shard: break
        default: return nil
        }
        self.occurrence = index
        self.table = occurrence.table.relname
        self.key = key
        self.formula = facts.levels[occurrence.level].whereFormula
        self.insertRow = occurrence.insertRows?.first
        self.severalShards = route
        self.shardCount = shardCount
        if case .atom(index, _, .equals(let terms)) = formula, terms.count == 1, key.keyColumns.count == 1 {
            equalsTerm = terms[0]
        } else {
            equalsTerm = nil
        }
    }

    /// ``route(_:context:)`` of a Bind of `key = $n` whose bound value places it on a shard
    /// (or which no shard takes), answered from the value alone: no resolver to make. Nil
    /// when the longer way must answer.
    func route(bound parameters: BoundParameters) -> Route? {
        guard insertRow == nil, case .parameter(let index, let castType)? = equalsTerm,
              case .value(let value)? = parameters.keyConstant(index, castTo: castType, as: key.keyTypes[0])
        else { return nil }
        switch key.function.readShard(for: value) {
        case .success(let shard?): return .shard(shard)
        case .failure(let error): return .refuse(.noShardForKey(table: table, key: key, error))
        case .success(nil): return nil
        }
    }

    func route(_ resolver: KeyResolver, context: RoutingContext) -> Route {
        let shards: Set<Int>
        do {
            if let insertRow {
                guard let shard = try resolver.shard(ofRow: insertRow, key: key, table: table) else {
                    return .refuse(.insertKeyNotConstant(key: key.keyColumns.joined(separator: ", ")))
                }
                return .shard(shard)
            }
            // The most common statement: one key value, one shard, no set of shards to build.
            if let equalsTerm, case .value(let value)? = try resolver.singleValue(of: equalsTerm, as: key.keyTypes[0], column: key.keyColumns[0]) {
                switch key.function.readShard(for: value) {
                case .success(let shard?): return .shard(shard)
                case .failure(let error): return .refuse(.noShardForKey(table: table, key: key, error))
                case .success(nil): break  // not placed (directory): as below
                }
            }
            if let admitted = try resolver.shards(formula, occurrence: occurrence, key: key, table: table) {
                shards = admitted
            } else if case .success(let used) = key.function.shards(for: []) {
                shards = used
            } else {
                shards = Set(0..<shardCount)
            }
        } catch {
            return .refuse(error)
        }
        if shards.count <= 1 { return .shard(shards.first ?? 0) }
        guard case .scatter(_, let kind) = severalShards else { return severalShards }
        let route = Route.scatter(shards.sorted(), kind)
        return StatementAnalysis.applyPolicy(route, executed: route, context: context, shardCount: shardCount)
    }
}
