import Sharding

/// A constant that a shard key is compared with or set to.
enum KeyConstant: Equatable {
    /// A value, converted as PostgreSQL's input function for the key's type would.
    case value(ShardKeyValue)
    /// SQL NULL.
    case null
}

/// `column = constant` or `column IN (constant, …)`: a WHERE conjunct that may fix a shard key.
struct KeyCondition {
    /// The column reference as written: `["id"]`, `["u", "id"]`, `["public", "users", "id"]`.
    var column: [String]
    /// The expressions compared with it (one for `=`).
    var values: [JSONValue]
}

/// Reads shard key conditions and key constants out of parse trees.
struct KeyPredicates {
    /// The message, for constants libpg_query's JSON does not carry faithfully.
    let text: MessageText
    /// The values bound to `$n` parameters (extended protocol), or nil when the statement is
    /// routed before its parameters are known.
    let parameters: BoundParameters?
    /// Records whether a parameter stood where a key constant was looked for.
    let parameterUse: ParameterUse

    /// The AND-conjuncts of a WHERE clause: nested `AND`s are flattened; an `OR` or `NOT` is one
    /// conjunct (which ``keyCondition(_:)`` will not use).
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

    /// The key condition a conjunct expresses, if it has one of the usable shapes: `col = expr`,
    /// `expr = col` (the `=` operator unqualified or `OPERATOR(pg_catalog.=)`), `col IN (…)`.
    static func keyCondition(_ conjunct: JSONValue) -> KeyCondition? {
        guard let expression = conjunct.node("A_Expr"), let name = expression["name"]?.nameList,
              name == ["="] || name == ["pg_catalog", "="]
        else { return nil }
        let left = expression["lexpr"], right = expression["rexpr"]
        switch expression["kind"]?.string {
        case "AEXPR_OP":
            if let column = left.flatMap(columnReference), let right {
                return KeyCondition(column: column, values: [right])
            }
            if let column = right.flatMap(columnReference), let left {
                return KeyCondition(column: column, values: [left])
            }
            return nil
        case "AEXPR_IN":
            guard let column = left.flatMap(columnReference), let list = right?.node("List") else { return nil }
            let items = list["items"]?.elements ?? []
            return items.isEmpty ? nil : KeyCondition(column: column, values: items)
        default:
            return nil
        }
    }

    /// The names of a plain column reference (no `*`).
    static func columnReference(_ expression: JSONValue) -> [String]? {
        guard let fields = expression.node("ColumnRef")?["fields"]?.nameList,
              !fields.isEmpty, !fields.contains("*")
        else { return nil }
        return fields
    }

    /// The value `expression` has as a key of type `keyType`, when it is a constant whose value
    /// routing can know exactly: an integer, numeric or string literal, optionally cast to a
    /// type of the key's family without modifiers, or a negated integer constant. `nil` for
    /// anything else, including literals the key type's input function would reject and
    /// numeric literals with a fraction or exponent (`4.0` equals `4` in a numeric comparison).
    func constant(_ expression: JSONValue, as keyType: ShardKeyType) -> KeyConstant? {
        guard let node = expression.node else { return nil }
        switch node.type {
        case "A_Const":
            return literal(node.fields, castTo: nil, as: keyType)
        case "ParamRef":
            return parameter(node.fields, castTo: nil, as: keyType)
        case "TypeCast":
            guard let typeName = node.fields["typeName"].flatMap(TypeNameInfo.init),
                  let castType = typeName.castKeyType, castType.family == keyType.family,
                  let argument = node.fields["arg"]
            else { return nil }
            if let parameter = argument.node("ParamRef") {
                return self.parameter(parameter, castTo: castType, as: keyType)
            }
            guard let constant = argument.node("A_Const") else { return nil }
            return literal(constant, castTo: castType, as: keyType)
        case "A_Expr":
            return signed(node.fields, as: keyType)
        default:
            return nil
        }
    }

    /// Unary `-` or `+` applied to an integer constant (the grammar folds `-5` into the
    /// constant itself, but not `-5::bigint`).
    private func signed(_ expression: JSONValue, as keyType: ShardKeyType) -> KeyConstant? {
        guard keyType.family == .integer, expression["kind"]?.string == "AEXPR_OP",
              expression["lexpr"] == nil, let name = expression["name"]?.nameList,
              name == ["-"] || name == ["+"], let operand = expression["rexpr"]
        else { return nil }
        if let constant = operand.node("A_Const"), constant["sval"] != nil { return nil }
        guard case .value(.integer(let value)) = constant(operand, as: keyType) else { return nil }
        if name == ["+"] { return .value(.integer(value)) }
        guard value != .min, let negated = keyType.parse(String(-value)) else { return nil }
        return .value(negated)
    }

    /// `$n` as a key: its bound value, decoded by the parameter's type (declared in Parse, else
    /// the cast's, else the key's — the type PostgreSQL infers from the comparison).
    private func parameter(_ reference: JSONValue, castTo castType: ShardKeyType?, as keyType: ShardKeyType) -> KeyConstant? {
        guard let number = reference["number"]?.integer, number >= 1 else { return nil }
        parameterUse.used = true
        guard let parameters else { return nil }
        return parameters.keyConstant(Int(number) - 1, castTo: castType, as: keyType)
    }

    private func literal(_ constant: JSONValue, castTo castType: ShardKeyType?, as keyType: ShardKeyType) -> KeyConstant? {
        if constant["isnull"]?.bool == true { return .null }
        if let integer = constant["ival"] {
            guard keyType.family == .integer else { return nil }
            var value = integer["ival"]?.integer ?? 0
            if value == 0 {
                // libpg_query writes negative integers like 0; read the literal itself.
                guard let location = constant["location"]?.integer,
                      let written = text.integerLiteral(at: Int(location)), written <= 0
                else { return nil }
                value = written
            }
            return parsed(String(value), castTo: castType, as: keyType)
        }
        if let numeric = constant["fval"] {
            let digits = numeric["fval"]?.string ?? ""
            guard keyType.family == .integer, !digits.isEmpty,
                  !digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
            else { return nil }
            return parsed(digits, castTo: castType, as: keyType)
        }
        if let string = constant["sval"] {
            return parsed(string["sval"]?.string ?? "", castTo: castType, as: keyType)
        }
        return nil
    }

    /// The key value of `literal`, which must also be a valid value of the cast's type and mean
    /// the same value there.
    private func parsed(_ literal: String, castTo castType: ShardKeyType?, as keyType: ShardKeyType) -> KeyConstant? {
        guard let value = keyType.parse(literal) else { return nil }
        if let castType {
            guard let castValue = castType.parse(literal), castValue == value else { return nil }
        }
        return .value(value)
    }
}
