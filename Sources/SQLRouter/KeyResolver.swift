import Sharding

/// Literal values that replace those a cached plan was made with, by the literal's location in
/// the statement the plan was made from. A statement has few (mostly one): a list is cheaper
/// to build and search than a dictionary.
struct LiteralValues: Sendable {
    // (A struct, not a tuple: an array of tuples looks up its type's metadata at run time.)
    private struct Entry {
        let location: Int
        let value: String
    }

    /// The first value apart: most plans read one literal (the key), and an array made for it
    /// would cost an allocation per statement.
    private var first: Entry?
    private var entries: [Entry] = []

    subscript(location: Int) -> String? {
        if let first, first.location == location { return first.value }
        for entry in entries where entry.location == location { return entry.value }
        return nil
    }

    mutating func append(_ value: String, at location: Int) {
        if first == nil {
            first = Entry(location: location, value: value)
        } else {
            entries.append(Entry(location: location, value: value))
        }
    }
}

/// Reads the values of key terms and turns key formulas into the shards a table occurrence's
/// rows can be on. This is the part of routing that depends on constant values and bound
/// parameters; everything before it depends on the statement's structure only.
struct KeyResolver {
    /// The values bound to `$n` parameters, or nil before they are known.
    let parameters: BoundParameters?
    /// Literal values that replace those the plan was made with (a plan cache hit), by the
    /// literal's location in the statement the plan was made from.
    var literals = LiteralValues()

    /// The values a term can have as a key of type `keyType`: one for a scalar, any number for an
    /// array; nil when routing cannot know them exactly. Throws for a literal PostgreSQL itself
    /// would reject for the key's type (22P02).
    func values(of term: KeyTerm, as keyType: ShardKeyType, column: String) throws(RoutingError) -> [KeyConstant]? {
        switch term {
        case .literal, .parameter:
            return try singleValue(of: term, as: keyType, column: column).map { [$0] }
        case .arrayLiteral(let literal):
            guard let elements = ArrayText.elements(literals[literal.location] ?? literal.text) else { return nil }
            return Self.arrayValues(elements, as: keyType)
        case .arrayParameter(let index):
            return parameters?.arrayKeyConstants(index, as: keyType)
        case .unknown:
            return nil
        }
    }

    /// The term's value when it has exactly one (see ``values(of:as:column:)``), without the
    /// array: `key = $1`, routed at every Bind, asks this.
    func singleValue(of term: KeyTerm, as keyType: ShardKeyType, column: String) throws(RoutingError) -> KeyConstant? {
        switch term {
        case .literal(var literal, let castType, let negated):
            if let text = literals[literal.location] { literal.text = text }
            return try self.literal(literal, castTo: castType, negated: negated, as: keyType, column: column)
        case .parameter(let index, let castType):
            return parameters?.keyConstant(index, castTo: castType, as: keyType)
        case .arrayLiteral, .arrayParameter, .unknown:
            guard let values = try values(of: term, as: keyType, column: column), values.count == 1 else { return nil }
            return values[0]
        }
    }

    static func arrayValues(_ elements: [String?], as keyType: ShardKeyType) -> [KeyConstant]? {
        var values: [KeyConstant] = []
        for element in elements {
            guard let element else {
                values.append(.null)
                continue
            }
            guard let value = keyType.parse(element) else { return nil }
            values.append(.value(value))
        }
        return values
    }

    /// A literal as a key value: what PostgreSQL's comparison of the key column with it
    /// converts it to.
    private func literal(_ literal: Literal, castTo castType: ShardKeyType?, negated: Bool, as keyType: ShardKeyType, column: String) throws(RoutingError) -> KeyConstant? {
        var text = literal.text
        switch literal.kind {
        case .null:
            return .null
        case .integer, .numeric:
            if negated { text = text.utf8.first == UInt8(ascii: "-") ? String(text.dropFirst()) : "-" + text }
            // `id = 4.0` compares as numeric: only a plain integer literal is an integer key.
            // (Bytes, not Characters: this runs for every routed statement.)
            if keyType.family == .integer, !Self.isWholeNumber(text) { return nil }
            guard keyType.acceptsNumberLiterals else { return nil }
        case .string:
            break
        }
        if let castType {
            guard castType.hashesAlike(keyType) || castType == keyType else { return nil }
        }
        guard let value = keyType.parse(text) else {
            // An untyped string (or one cast to the key's own kind) compared with the key is
            // read by the key type's input function: PostgreSQL rejects the statement.
            if literal.kind == .string, keyType.hasExactParser {
                throw .invalidKeyLiteral(text, type: castType ?? keyType, column: column)
            }
            return nil
        }
        if let castType, castType != keyType {
            // The cast's own type must accept the literal and mean the same value.
            guard let castValue = castType.parse(text), castValue == value else { return nil }
        }
        return .value(value)
    }
}

extension KeyResolver {
    /// Whether a number literal has no fraction or exponent (read over its contiguous bytes:
    /// this runs for every routed statement).
    static func isWholeNumber(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            !bytes.contains { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }
        }
    }
}

extension KeyResolver {
    /// The shards on which the rows of occurrence `occurrence` (of `table`, sharded as `key`)
    /// that satisfy `formula` can be; nil for any shard. A superset is fine, a missing shard is
    /// not: predicates on other tables and unknown predicates count as true.
    func shards(_ formula: KeyFormula, occurrence: Int, key: ShardedTable, table: String) throws(RoutingError) -> Set<Int>? {
        let evaluation = FormulaEvaluation(resolver: self, occurrence: occurrence, key: key, table: table)
        return try evaluation.evaluate(formula, context: [])
    }

    /// The shard of one INSERT row whose key columns hold `terms`; nil when a term's value is not
    /// known.
    func shard(ofRow terms: [KeyTerm], key: ShardedTable, table: String) throws(RoutingError) -> Int? {
        var row: [ShardKeyValue?] = []
        for (index, term) in terms.enumerated() {
            guard let values = try values(of: term, as: key.keyTypes[index], column: key.keyColumns[index]),
                  values.count == 1
            else { return nil }
            switch values[0] {
            case .value(let value): row.append(value)
            case .null: row.append(nil)
            }
        }
        switch key.function.shard(for: row) {
        case .success(let shard): return shard
        case .failure(let error): throw .noShardForKey(table: table, key: key, error)
        }
    }
}

/// One evaluation of a formula for one occurrence.
private struct FormulaEvaluation {
    let resolver: KeyResolver
    let occurrence: Int
    let key: ShardedTable
    let table: String

    /// The shards of the rows satisfying `formula` and every atom of `context` (the atoms of the
    /// enclosing conjunctions, distributed into each branch of a disjunction).
    func evaluate(_ formula: KeyFormula, context: [(column: Int, atom: KeyAtom)]) throws(RoutingError) -> Set<Int>? {
        switch formula {
        case .atom(let index, let column, let atom) where index == occurrence:
            // `key = …` alone, the most common formula: no list of atoms to build.
            if context.isEmpty, key.keyColumns.count == 1, case .equals(let terms) = atom { return try placeEquals(terms) }
            return try place(context + [(column, atom)])
        case .atom, .unknown:
            return try place(context)
        case .and(let parts):
            var atoms = context
            for case .atom(let index, let column, let atom) in parts where index == occurrence {
                atoms.append((column, atom))
            }
            var result = try place(atoms)
            for part in parts {
                guard case .or = part, part.mentions(occurrence) else { continue }
                let shards = try evaluate(part, context: atoms)
                if let shards { result = result.map { $0.intersection(shards) } ?? shards }
            }
            return result
        case .or(let parts):
            var union = Set<Int>()
            for part in parts {
                guard let shards = try evaluate(part, context: context) else { return nil }
                union.formUnion(shards)
            }
            return union
        }
    }

    /// The shards of rows satisfying every atom (a conjunction); nil when they do not narrow.
    private func place(_ atoms: [(column: Int, atom: KeyAtom)]) throws(RoutingError) -> Set<Int>? {
        guard !atoms.isEmpty else { return nil }
        if atoms.count == 1, key.keyColumns.count == 1, case .equals(let terms) = atoms[0].atom {
            return try placeEquals(terms)
        }
        let columnCount = key.keyColumns.count
        var equal: [Set<ShardKeyValue>?] = Array(repeating: nil, count: columnCount)
        var ranges: [[KeyRange]] = Array(repeating: [], count: columnCount)
        for (column, atom) in atoms where column < columnCount {
            let type = key.keyTypes[column], name = key.keyColumns[column]
            switch atom {
            case .equals(let terms):
                var values = Set<ShardKeyValue>()
                var known = true
                for term in terms {
                    guard let constants = try resolver.values(of: term, as: type, column: name) else {
                        known = false
                        break
                    }
                    // `key = NULL` is never true: NULL adds no row.
                    for case .value(let value) in constants { values.insert(value) }
                }
                guard known else { continue }
                equal[column] = equal[column].map { $0.intersection(values) } ?? values
            case .range(let lower, let lowerInclusive, let upper, let upperInclusive):
                guard key.function.isOrdered, column == 0 else { continue }
                let range = KeyRange(
                    lower: try bound(lower, inclusive: lowerInclusive, type: type, column: name),
                    upper: try bound(upper, inclusive: upperInclusive, type: type, column: name))
                if range.lower != nil || range.upper != nil { ranges[column].append(range) }
            }
        }
        let base: [KeyConstraint] = equal.map { values in values.map { .values(Array($0)) } ?? .any }
        if base.allSatisfy({ $0 == .any }) && ranges.allSatisfy(\.isEmpty) { return nil }
        var result = try shards(base)
        for (column, columnRanges) in ranges.enumerated() where equal[column] == nil {
            for range in columnRanges {
                var constraints = base
                constraints[column] = .range(range)
                result.formIntersection(try shards(constraints))
            }
        }
        return result
    }

    /// `key = t` / `key IN (…)` on a one-column key, the most common shape, without building
    /// constraint lists.
    private func placeEquals(_ terms: [KeyTerm]) throws(RoutingError) -> Set<Int>? {
        var shards = Set<Int>()
        for term in terms {
            guard let constants = try resolver.values(of: term, as: key.keyTypes[0], column: key.keyColumns[0]) else { return nil }
            for case .value(let value) in constants {
                switch key.function.readShard(for: value) {
                case .success(let shard): if let shard { shards.insert(shard) }
                case .failure(let error): throw .noShardForKey(table: table, key: key, error)
                }
            }
        }
        return shards
    }

    private func bound(_ term: KeyTerm?, inclusive: Bool, type: ShardKeyType, column: String) throws(RoutingError) -> KeyBound? {
        guard let term, let values = try resolver.values(of: term, as: type, column: column), values.count == 1,
              case .value(let value) = values[0]
        else { return nil }
        return KeyBound(value, inclusive: inclusive)
    }

    private func shards(_ constraints: [KeyConstraint]) throws(RoutingError) -> Set<Int> {
        switch key.function.shards(for: constraints) {
        case .success(let shards): return shards
        case .failure(let error): throw .noShardForKey(table: table, key: key, error)
        }
    }
}

extension ShardKeyType {
    /// Number literals compare with keys of this type as numbers.
    var acceptsNumberLiterals: Bool {
        family == .integer || self == .numeric
    }

    /// ``parse(_:)`` rejects exactly what PostgreSQL's input function rejects, so a failure
    /// means PostgreSQL would fail the statement too (types whose parser reads only the common
    /// forms answer nil for forms PostgreSQL accepts, and must not be reported as errors).
    var hasExactParser: Bool {
        family == .integer || family == .uuid
    }
}

extension ShardKeyValue {
    /// The value as a SQL literal, for messages.
    var sqlDescription: String {
        switch self {
        case .integer(let value): String(value)
        case .text(let text): "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
        default: String(describing: self)
        }
    }
}
