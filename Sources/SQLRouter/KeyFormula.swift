import Sharding

/// A constant that a shard key is compared with or set to.
enum KeyConstant: Equatable {
    /// A value, converted as PostgreSQL's input function for the key's type would.
    case value(ShardKeyValue)
    /// SQL NULL.
    case null
}

/// A literal as the statement writes it, before it is read as a key value (which depends on the
/// key's type).
struct Literal: Equatable {
    enum Kind: Equatable {
        /// Digits, possibly with a sign the grammar folded in (`-5`).
        case integer
        /// Any other number (`4.5`, `1e3`, or an integer too large for 32 bits).
        case numeric
        /// A string constant (`'42'`, `E'…'`, `$$…$$`), its value decoded.
        case string
        /// `NULL`.
        case null
    }

    var kind: Kind
    /// The number as written, or the string's value.
    var text: String
    /// Byte offset of the literal in the message.
    var location: Int
}

/// Something a key column is compared with, as analysis finds it in the parse tree; its value
/// is read later (``KeyResolver``), once the key's type and any bound parameters are known.
enum KeyTerm: Equatable {
    /// A literal, optionally cast (`'42'::bigint`); `negated` for `-(literal)` the grammar did
    /// not fold (`-5::bigint`).
    case literal(Literal, castTo: ShardKeyType?, negated: Bool)
    /// `$n` (0-based `index`), optionally cast.
    case parameter(index: Int, castTo: ShardKeyType?)
    /// A string literal holding an array (`= ANY('{1,2}')`).
    case arrayLiteral(Literal)
    /// `$n` bound to an array (`= ANY($1)`).
    case arrayParameter(index: Int)
    /// Any other expression: its value is not known to routing.
    case unknown
}

/// What one predicate says about one key column.
enum KeyAtom: Equatable {
    /// `key = t`, `key IN (t, …)`, `key = ANY(…)`: the key equals one of the terms.
    case equals([KeyTerm])
    /// `key < t`, `key >= t`, `key BETWEEN a AND b`: the key lies in the interval.
    case range(lower: KeyTerm?, lowerInclusive: Bool, upper: KeyTerm?, upperInclusive: Bool)
}

/// The key conditions of a WHERE clause: its AND/OR structure, with every predicate that is not
/// a usable key condition reduced to ``unknown`` (true for routing: it does not narrow).
indirect enum KeyFormula: Equatable {
    /// A predicate on key column `column` of occurrence `occurrence` (``StatementFacts/occurrences``).
    case atom(occurrence: Int, column: Int, KeyAtom)
    case and([KeyFormula])
    case or([KeyFormula])
    /// Anything else.
    case unknown

    /// The formula with `and`s inside `and`s flattened and `unknown` children of `and` dropped.
    static func conjunction(_ parts: [KeyFormula]) -> KeyFormula {
        var flat: [KeyFormula] = []
        for part in parts {
            switch part {
            case .and(let inner): flat.append(contentsOf: inner)
            case .unknown: continue
            default: flat.append(part)
            }
        }
        switch flat.count {
        case 0: return .unknown
        case 1: return flat[0]
        default: return .and(flat)
        }
    }

    /// An `or` whose `unknown` branch makes the whole disjunction unknown.
    static func disjunction(_ parts: [KeyFormula]) -> KeyFormula {
        if parts.isEmpty || parts.contains(.unknown) { return .unknown }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    /// Whether any atom of the formula is about `occurrence`.
    func mentions(_ occurrence: Int) -> Bool {
        switch self {
        case .atom(let index, _, _): index == occurrence
        case .and(let parts), .or(let parts): parts.contains { $0.mentions(occurrence) }
        case .unknown: false
        }
    }

    /// Every term of the formula's atoms, in order.
    var terms: [KeyTerm] {
        switch self {
        case .atom(_, _, .equals(let terms)): terms
        case .atom(_, _, .range(let lower, _, let upper, _)): [lower, upper].compactMap { $0 }
        case .and(let parts), .or(let parts): parts.flatMap(\.terms)
        case .unknown: []
        }
    }
}
