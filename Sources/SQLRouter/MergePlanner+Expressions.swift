import Merge

/// An expression of the client's statement over aggregates and group keys, translated for the
/// merge: ``expression`` reads column `k` for `leaves[k]` (an aggregate call, or an expression
/// without aggregates that each shard returns as a column).
struct TranslatedExpression {
    var expression: MergeExpression
    /// A leaf without a span must be a select-list entry or a GROUP BY item (its text cannot
    /// be cut out of the statement).
    var leaves: [(node: JSONValue, span: Range<Int>?)] = []
}

extension MergePlanner {
    /// Translates an expression of the select list, HAVING or ORDER BY, or says why the merge
    /// cannot compute it.
    func translate(_ node: JSONValue) throws(RoutingError) -> TranslatedExpression {
        var leaves: [(node: JSONValue, span: Range<Int>?)] = []
        let expression = try translate(node, &leaves)
        return TranslatedExpression(expression: expression, leaves: leaves)
    }

    private func unsupported(_ what: String) -> RoutingError {
        .mergeNotSupported("\(what) in an expression over aggregates across shards",
                           hint: "pgshard computes + - * / %, comparisons, AND/OR/NOT, IS NULL, round, abs, coalesce and numeric casts over merged aggregates; select the aggregates themselves and compute the rest in the application, or add a condition on the shard key")
    }

    private func leaf(_ node: JSONValue, _ span: Range<Int>?, _ leaves: inout [(node: JSONValue, span: Range<Int>?)]) -> MergeExpression {
        leaves.append((node, span))
        return .column(leaves.count - 1)
    }

    private func translate(_ node: JSONValue, _ leaves: inout [(node: JSONValue, span: Range<Int>?)]) throws(RoutingError) -> MergeExpression {
        guard let (type, fields) = node.node else { throw unsupported("this expression") }
        let location = Int(fields["location"]?.integer ?? -1)
        if type != "A_Const", !Self.containsAggregate(node) {
            // Computed by the shards as a group column: a selected column or GROUP BY item as
            // it is, else a column or function call whose text is cut out; other expressions
            // are taken apart down to those.
            let known = (select["targetList"]?.elements ?? []).contains { Self.sameExpression($0.node("ResTarget")?["val"], node) }
                || (select["groupClause"]?.elements ?? []).contains { Self.sameExpression($0, node) }
            if known { return leaf(node, nil, &leaves) }
            switch type {
            case "ColumnRef": return leaf(node, columnSpan(at: location), &leaves)
            case "FuncCall": return leaf(node, callSpan(at: location), &leaves)
            default: break
            }
        }
        switch type {
        case "FuncCall":
            if Aggregates.isAggregate(fields) { return leaf(node, callSpan(at: location), &leaves) }
            let name = (fields["funcname"]?.nameList ?? []).last ?? ""
            let args = try (fields["args"]?.elements ?? []).map { arg throws(RoutingError) in try translate(arg, &leaves) }
            switch (name, args.count) {
            case ("round", 1): return .round(args[0], places: nil)
            case ("round", 2): return .round(args[0], places: args[1])
            case ("abs", 1): return .abs(args[0])
            default: throw unsupported("\(name)()")
            }
        case "CoalesceExpr":
            let args = try (fields["args"]?.elements ?? []).map { arg throws(RoutingError) in try translate(arg, &leaves) }
            return .coalesce(args)
        case "A_Const":
            if fields["isnull"]?.bool == true { return .constant(.null) }
            if fields["ival"] != nil {
                guard let location = fields["location"]?.integer, let value = text.integerLiteral(at: Int(location)) else {
                    throw unsupported("this constant")
                }
                return .constant(.integer(value))
            }
            if let value = fields["fval"]?["fval"]?.string { return .constant(.numeric(value)) }
            if let value = fields["sval"]?["sval"]?.string { return .constant(.text(value)) }
            if fields["sval"] != nil { return .constant(.text("")) }
            if let value = fields["boolval"] {
                return .constant(.bool(value["boolval"]?.bool ?? false))
            }
            throw unsupported("this constant")
        case "A_Expr":
            guard fields["kind"]?.string == "AEXPR_OP", let names = fields["name"]?.nameList, names.count == 1 else {
                throw unsupported("this operator")
            }
            let right = try fields["rexpr"].map { expression throws(RoutingError) in try translate(expression, &leaves) }
            guard let right else { throw unsupported("this operator") }
            guard let leftNode = fields["lexpr"] else {
                switch names[0] {
                case "-": return .negate(right)
                case "+": return right
                default: throw unsupported("prefix operator \(names[0])")
                }
            }
            let left = try translate(leftNode, &leaves)
            if let op = MergeExpression.ArithmeticOperator(rawValue: names[0]) { return .arithmetic(op, left, right) }
            if let op = MergeExpression.ComparisonOperator(rawValue: names[0] == "!=" ? "<>" : names[0]) { return .compare(op, left, right) }
            throw unsupported("operator \(names[0])")
        case "BoolExpr":
            let args = try (fields["args"]?.elements ?? []).map { arg throws(RoutingError) in try translate(arg, &leaves) }
            switch fields["boolop"]?.string {
            case "AND_EXPR": return .and(args)
            case "OR_EXPR": return .or(args)
            case "NOT_EXPR" where args.count == 1: return .not(args[0])
            default: throw unsupported("this boolean expression")
            }
        case "NullTest":
            guard let arg = fields["arg"] else { throw unsupported("IS NULL") }
            return .isNull(try translate(arg, &leaves), negated: fields["nulltesttype"]?.string == "IS_NOT_NULL")
        case "TypeCast":
            guard let arg = fields["arg"], let typeName = fields["typeName"]?.node("TypeName") ?? fields["typeName"],
                  let names = typeName["names"]?.nameList, let last = names.last, typeName["arrayBounds"] == nil
            else { throw unsupported("this cast") }
            if let typmods = typeName["typmods"]?.elements {
                // numeric(p) / numeric(p, s)
                let values = typmods.compactMap { $0.node("A_Const").flatMap { constant in
                    constant["location"]?.integer.flatMap { text.integerLiteral(at: Int($0)) }
                } }
                guard last == "numeric", values.count == typmods.count, (1...2).contains(values.count),
                      let precision = values.first, (1...1000).contains(precision)
                else { throw unsupported("a cast to \(last) with a type modifier") }
                let scale = values.count == 2 ? values[1] : 0
                guard (0...precision).contains(scale) else { throw unsupported("this numeric scale") }
                return .numericCast(try translate(arg, &leaves), precision: Int(precision), scale: Int(scale))
            }
            let target: MergeExpression.CastTarget
            switch last {
            case "int2": target = .int2
            case "int4", "integer": target = .int4
            case "int8", "bigint": target = .int8
            case "numeric", "decimal": target = .numeric
            case "float8": target = .float8
            default: throw unsupported("a cast to \(last)")
            }
            return .cast(try translate(arg, &leaves), to: target)
        default:
            throw unsupported(type)
        }
    }

    /// A function call's bytes: name, arguments, and a FILTER clause.
    func callSpan(at location: Int) -> Range<Int>? {
        guard location >= range.lowerBound, location < range.upperBound else { return nil }
        var depth = 0
        var end: Int?
        var afterCall = false
        var expectFilter = false
        var result: Range<Int>?
        SQLScanner.scan(Array(bytes[location..<range.upperBound])) { token in
            guard result == nil else { return }
            switch token {
            case .symbol(let byte, let at):
                if byte == UInt8(ascii: "(") {
                    if afterCall && !expectFilter { result = location..<location + end!; return }
                    depth += 1
                    expectFilter = false
                } else if byte == UInt8(ascii: ")") {
                    depth -= 1
                    if depth == 0 {
                        end = at + 1
                        afterCall = true
                    }
                } else if depth == 0, afterCall {
                    result = location..<location + end!
                }
            case .word(let r):
                if depth == 0, afterCall {
                    let word = String(decoding: bytes[location + r.lowerBound..<location + r.upperBound], as: UTF8.self).lowercased()
                    if word == "filter" { expectFilter = true } else { result = location..<location + end! }
                }
            case .quoted:
                if depth == 0, afterCall { result = location..<location + end! }
            case .comment:
                break
            }
        }
        if result == nil, let end { result = location..<location + end }
        return result
    }

    /// A column reference's bytes: names and quoted names joined by dots.
    func columnSpan(at location: Int) -> Range<Int>? {
        guard location >= range.lowerBound, location < range.upperBound else { return nil }
        var end = location
        var expectName = true
        var done = false
        SQLScanner.scan(Array(bytes[location..<range.upperBound])) { token in
            guard !done else { return }
            switch token {
            case .word(let r), .quoted(let r):
                guard expectName, r.lowerBound == end - location else { done = true; return }
                end = location + r.upperBound
                expectName = false
            case .symbol(let byte, let at):
                guard !expectName, byte == UInt8(ascii: "."), at == end - location else { done = true; return }
                end = location + at + 1
                expectName = true
            case .comment:
                done = true
            }
        }
        return end > location && !expectName ? location..<end : nil
    }

    /// The name PostgreSQL gives an unnamed select-list entry (FigureColname), for the forms
    /// the merge computes.
    static func columnName(_ node: JSONValue) -> String {
        figure(node)?.name ?? "?column?"
    }

    private static func figure(_ node: JSONValue) -> (name: String, strength: Int)? {
        guard let (type, fields) = node.node else { return nil }
        switch type {
        case "ColumnRef":
            if let name = fields["fields"]?.elements.last?.node("String")?["sval"]?.string { return (name, 2) }
            return nil
        case "FuncCall":
            return (fields["funcname"]?.nameList?.last).map { ($0, 2) }
        case "CoalesceExpr":
            return ("coalesce", 2)
        case "TypeCast":
            let inner = fields["arg"].flatMap(figure)
            if let inner, inner.strength > 1 { return inner }
            let typeName = fields["typeName"]?.node("TypeName") ?? fields["typeName"]
            return (typeName?["names"]?.nameList?.last).map { ($0, 1) } ?? inner
        default:
            return nil
        }
    }
}
