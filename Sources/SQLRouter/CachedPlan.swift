/// What the plan cache keeps for one statement shape (``NormalizedStatement/key``).
enum CachedPlan: Sendable {
    /// SELECT/INSERT/UPDATE/DELETE: the plan, and where each literal it reads sits now.
    case dml(DMLPlan, literals: [LiteralBinding])
    /// A statement whose route does not depend on its literals (transaction control).
    case fixed(Route)
    /// `SET …`: replayed as the statement's own text.
    case set(isLocal: Bool)
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
    static func make(type: String, route: Route, plan: DMLPlan?, normalized: NormalizedStatement, text: MessageText) -> CachedPlan? {
        switch type {
        case "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt":
            guard let plan else { return nil }
            var bindings: [LiteralBinding] = []
            for literal in plan.literals where literal.kind != .null {
                guard let binding = binding(for: literal.location, normalized: normalized, text: text) else { return nil }
                bindings.append(binding)
            }
            return .dml(plan, literals: bindings)
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
