import Sharding

/// A key column a column reference resolves to: key column `column` of occurrence `occurrence`.
struct KeyColumnReference: Equatable {
    var occurrence: Int
    var column: Int
}

/// Reads key conditions out of parse trees: WHERE clauses become ``KeyFormula``s, expressions
/// become ``KeyTerm``s. Pure syntax: values are read later by ``KeyResolver``.
struct KeyPredicates {
    /// The message, for constants libpg_query's JSON does not carry faithfully.
    let text: MessageText
    /// Records whether a parameter stood where a key constant was looked for.
    let parameterUse: ParameterUse

    /// The AND-conjuncts of a clause: nested `AND`s are flattened; an `OR` or `NOT` is one
    /// conjunct.
    static func conjuncts(of clause: JSONValue) -> [JSONValue] {
        var result: [JSONValue] = []
        var work = [clause]
        while let expression = work.popLast() {
            if let bool = expression.node("BoolExpr"), bool["boolop"]?.string == "AND_EXPR" {
                work.append(contentsOf: bool["args"]?.elements.reversed() ?? [])
            } else {
                result.append(expression)
            }
        }
        return result
    }

    /// The key formula of a boolean expression; `resolve` finds the key column a column
    /// reference names at this level (nil: not a key column of a sharded table here). `depth`
    /// bounds the recursion along AND/OR/NOT nesting.
    func formula(_ expression: JSONValue, depth: Int = 0, resolve: ([String]) -> KeyColumnReference?) -> KeyFormula {
        guard depth < 64, let node = expression.node else { return .unknown }
        switch node.type {
        case "BoolExpr":
            let args = node.fields["args"]?.elements ?? []
            switch node.fields["boolop"]?.string {
            case "AND_EXPR": return .conjunction(args.map { formula($0, depth: depth + 1, resolve: resolve) })
            case "OR_EXPR": return .disjunction(args.map { formula($0, depth: depth + 1, resolve: resolve) })
            default: return .unknown
            }
        case "A_Expr":
            return comparison(node.fields, resolve: resolve)
        default:
            return .unknown
        }
    }

    /// `key = t`, `t = key`, `key IN (…)`, `key = ANY(…)`, `key < t` (and the other order
    /// operators, either way round), `key BETWEEN a AND b`.
    private func comparison(_ expression: JSONValue, resolve: ([String]) -> KeyColumnReference?) -> KeyFormula {
        guard let name = expression["name"]?.nameList, let op = name.last,
              name.count == 1 || (name.count == 2 && name[0] == "pg_catalog")
        else { return .unknown }
        let left = expression["lexpr"], right = expression["rexpr"]
        // The column is resolved before the terms are read: a parameter compared with a column
        // that is not a key does not make the route depend on parameters.
        func atom(_ column: JSONValue?, _ atom: () -> KeyAtom) -> KeyFormula {
            guard let names = column.flatMap(Self.columnReference), let reference = resolve(names) else { return .unknown }
            return .atom(occurrence: reference.occurrence, column: reference.column, atom())
        }
        switch expression["kind"]?.string {
        case "AEXPR_OP":
            let leftIsColumn = left.flatMap(Self.columnReference) != nil
            let rightIsColumn = right.flatMap(Self.columnReference) != nil
            guard leftIsColumn != rightIsColumn, let left, let right else { return .unknown }
            let (column, value, flipped) = leftIsColumn ? (left, right, false) : (right, left, true)
            switch (op, flipped) {
            case ("=", _): return atom(column) { .equals([term(value)]) }
            case ("<", false), (">", true): return atom(column) { .range(lower: nil, lowerInclusive: false, upper: term(value), upperInclusive: false) }
            case ("<=", false), (">=", true): return atom(column) { .range(lower: nil, lowerInclusive: false, upper: term(value), upperInclusive: true) }
            case (">", false), ("<", true): return atom(column) { .range(lower: term(value), lowerInclusive: false, upper: nil, upperInclusive: false) }
            case (">=", false), ("<=", true): return atom(column) { .range(lower: term(value), lowerInclusive: true, upper: nil, upperInclusive: false) }
            default: return .unknown
            }
        case "AEXPR_IN":
            guard op == "=", let items = right?.node("List")?["items"]?.elements, !items.isEmpty else { return .unknown }
            return atom(left) { .equals(items.map(term)) }
        case "AEXPR_OP_ANY":
            guard op == "=", let right else { return .unknown }
            return atom(left) { .equals(arrayTerms(right)) }
        case "AEXPR_BETWEEN":
            guard let bounds = right?.node("List")?["items"]?.elements, bounds.count == 2 else { return .unknown }
            return atom(left) { .range(lower: term(bounds[0]), lowerInclusive: true, upper: term(bounds[1]), upperInclusive: true) }
        default:
            return .unknown
        }
    }

    /// The elements of `= ANY(array)`: `ARRAY[a, b]`, `'{a,b}'` (optionally cast), `$n`.
    private func arrayTerms(_ array: JSONValue) -> [KeyTerm] {
        var expression = array
        if let cast = array.node("TypeCast"), let argument = cast["arg"] {
            // A cast to an array type of the key's family changes nothing routing sees; a cast
            // to anything else (text[] for an integer key) makes the values unknown.
            guard let typeName = cast["typeName"].flatMap(TypeNameInfo.init), typeName.isArray else { return [.unknown] }
            expression = argument
        }
        if let elements = expression.node("A_ArrayExpr") {
            let items = elements["elements"]?.elements ?? []
            return items.isEmpty ? [.unknown] : items.map(term)
        }
        if let parameter = expression.node("ParamRef"), let number = parameter["number"]?.integer, number >= 1 {
            parameterUse.used = true
            return [.arrayParameter(index: Int(number) - 1)]
        }
        if let constant = expression.node("A_Const"), let literal = literal(constant), literal.kind == .string {
            return [.arrayLiteral(literal)]
        }
        return [.unknown]
    }

    /// The names of a plain column reference (no `*`).
    static func columnReference(_ expression: JSONValue) -> [String]? {
        guard let fields = expression.node("ColumnRef")?["fields"]?.nameList,
              !fields.isEmpty, !fields.contains("*")
        else { return nil }
        return fields
    }

    /// The term an expression is as a key value: a literal (optionally cast to a type without
    /// modifiers, optionally negated), a parameter (optionally cast), or unknown.
    func term(_ expression: JSONValue) -> KeyTerm {
        guard let node = expression.node else { return .unknown }
        switch node.type {
        case "A_Const":
            return literal(node.fields).map { .literal($0, castTo: nil, negated: false) } ?? .unknown
        case "ParamRef":
            return parameter(node.fields, castTo: nil)
        case "TypeCast":
            guard let typeName = node.fields["typeName"].flatMap(TypeNameInfo.init),
                  let castType = typeName.castKeyType, let argument = node.fields["arg"]
            else { return .unknown }
            if let parameter = argument.node("ParamRef") {
                return self.parameter(parameter, castTo: castType)
            }
            guard let constant = argument.node("A_Const"), let literal = literal(constant) else { return .unknown }
            return .literal(literal, castTo: castType, negated: false)
        case "A_Expr":
            return signed(node.fields)
        default:
            return .unknown
        }
    }

    /// Unary `-` or `+` applied to a numeric constant, possibly cast (the grammar folds `-5`
    /// into the constant itself, but not `-5::bigint`).
    private func signed(_ expression: JSONValue) -> KeyTerm {
        guard expression["kind"]?.string == "AEXPR_OP", expression["lexpr"] == nil,
              let name = expression["name"]?.nameList, name == ["-"] || name == ["+"],
              let operand = expression["rexpr"]
        else { return .unknown }
        guard case .literal(let literal, let castTo, let negated) = term(operand),
              literal.kind == .integer || literal.kind == .numeric
        else { return .unknown }
        return .literal(literal, castTo: castTo, negated: name == ["-"] ? !negated : negated)
    }

    private func parameter(_ reference: JSONValue, castTo castType: ShardKeyType?) -> KeyTerm {
        guard let number = reference["number"]?.integer, number >= 1 else { return .unknown }
        parameterUse.used = true
        return .parameter(index: Int(number) - 1, castTo: castType)
    }

    /// The literal of an `A_Const` node.
    func literal(_ constant: JSONValue) -> Literal? {
        let location = Int(constant["location"]?.integer ?? -1)
        if constant["isnull"]?.bool == true { return Literal(kind: .null, text: "", location: location) }
        if let integer = constant["ival"] {
            var value = integer["ival"]?.integer ?? 0
            if value == 0 {
                // libpg_query writes negative integers like 0; read the literal itself.
                guard let written = text.integerLiteral(at: location), written <= 0 else { return nil }
                value = written
            }
            return Literal(kind: .integer, text: String(value), location: location)
        }
        if let numeric = constant["fval"] {
            guard let digits = numeric["fval"]?.string, !digits.isEmpty else { return nil }
            return Literal(kind: .numeric, text: digits, location: location)
        }
        if let string = constant["sval"] {
            return Literal(kind: .string, text: string["sval"]?.string ?? "", location: location)
        }
        return nil
    }
}
