/// An expression over the merged columns of a group: what the client's select list, HAVING and
/// ORDER BY compute from aggregates (`sum(a) / count(*)`, `HAVING count(*) > 5`,
/// `round(avg(x), 2)`). Evaluated with PostgreSQL's rules for the types involved: integer
/// arithmetic of the operands' width with overflow errors, exact numeric arithmetic with
/// PostgreSQL's result scales, float8, three-valued logic.
public indirect enum MergeExpression: Sendable, Equatable {
    /// A final column (an aggregate's merged value or a group key).
    case column(Int)
    case constant(Constant)
    case arithmetic(ArithmeticOperator, MergeExpression, MergeExpression)
    case negate(MergeExpression)
    case compare(ComparisonOperator, MergeExpression, MergeExpression)
    case and([MergeExpression])
    case or([MergeExpression])
    case not(MergeExpression)
    case isNull(MergeExpression, negated: Bool)
    /// `round(x)`, `round(x, n)`.
    case round(MergeExpression, places: MergeExpression?)
    case abs(MergeExpression)
    case coalesce([MergeExpression])
    case cast(MergeExpression, to: CastTarget)
    /// `::numeric(precision, scale)`: rounded to `scale` digits, at most `precision` in all.
    case numericCast(MergeExpression, precision: Int, scale: Int)

    public enum Constant: Sendable, Equatable {
        case null
        case integer(Int64)
        /// A numeric literal as written (`2.50`).
        case numeric(String)
        case text(String)
        case bool(Bool)
    }

    public enum ArithmeticOperator: String, Sendable, Equatable { case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%" }
    public enum ComparisonOperator: String, Sendable, Equatable { case equal = "=", notEqual = "<>", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=" }
    public enum CastTarget: String, Sendable, Equatable { case int2, int4, int8, numeric, float8 }

    /// Every column the expression reads.
    public var columns: [Int] {
        switch self {
        case .column(let index): [index]
        case .constant: []
        case .arithmetic(_, let a, let b), .compare(_, let a, let b): a.columns + b.columns
        case .negate(let a), .not(let a), .isNull(let a, _), .abs(let a), .cast(let a, _), .numericCast(let a, _, _): a.columns
        case .round(let a, let places): a.columns + (places?.columns ?? [])
        case .and(let items), .or(let items), .coalesce(let items): items.flatMap(\.columns)
        }
    }

    /// The same expression with every column index passed through `map`.
    public func mapColumns(_ map: (Int) -> Int) -> MergeExpression {
        switch self {
        case .column(let index): .column(map(index))
        case .constant: self
        case .arithmetic(let op, let a, let b): .arithmetic(op, a.mapColumns(map), b.mapColumns(map))
        case .compare(let op, let a, let b): .compare(op, a.mapColumns(map), b.mapColumns(map))
        case .negate(let a): .negate(a.mapColumns(map))
        case .not(let a): .not(a.mapColumns(map))
        case .isNull(let a, let negated): .isNull(a.mapColumns(map), negated: negated)
        case .abs(let a): .abs(a.mapColumns(map))
        case .cast(let a, let target): .cast(a.mapColumns(map), to: target)
        case .numericCast(let a, let precision, let scale): .numericCast(a.mapColumns(map), precision: precision, scale: scale)
        case .round(let a, let places): .round(a.mapColumns(map), places: places?.mapColumns(map))
        case .and(let items): .and(items.map { $0.mapColumns(map) })
        case .or(let items): .or(items.map { $0.mapColumns(map) })
        case .coalesce(let items): .coalesce(items.map { $0.mapColumns(map) })
        }
    }
}

/// The type of an expression's value, as far as the merge computes it.
enum ExpressionType: Equatable {
    case int2, int4, int8, numeric, float8, bool, text, unknown
    /// A column of a type the merge does not compute with.
    case unsupported

    init?(typeOID: UInt32) {
        switch typeOID {
        case 21: self = .int2
        case 23: self = .int4
        case 20: self = .int8
        case 1700: self = .numeric
        case 701: self = .float8
        case 16: self = .bool
        case 25, 1043, 1042, 19: self = .text
        default: return nil
        }
    }

    var typeOID: UInt32? {
        switch self {
        case .int2: 21
        case .int4: 23
        case .int8: 20
        case .numeric: 1700
        case .float8: 701
        case .bool: 16
        case .text: 25
        case .unknown, .unsupported: nil
        }
    }

    var integerWidth: Int? {
        switch self {
        case .int2: 2
        case .int4: 4
        case .int8: 8
        default: nil
        }
    }

    var isNumber: Bool { integerWidth != nil || self == .numeric || self == .float8 }

    /// PostgreSQL's word in "… out of range".
    var rangeName: String {
        switch self {
        case .int2: "smallint"
        case .int4: "integer"
        default: "bigint"
        }
    }

    static func integer(width: Int) -> ExpressionType { width <= 2 ? .int2 : width <= 4 ? .int4 : .int8 }
}

/// A value during evaluation.
enum EvaluatedValue {
    case null
    case integer(Int64)
    case numeric(PGNumeric)
    case float(Double)
    case bool(Bool)
    case text([UInt8])
}

/// Type-checks and evaluates ``MergeExpression``s over one group's final column values.
struct ExpressionEvaluator {
    /// The types of the final columns.
    let columnTypes: [ExpressionType]
    let textIsBytes: Bool

    func type(of expression: MergeExpression) throws(MergeError) -> ExpressionType {
        switch expression {
        case .column(let index):
            guard index < columnTypes.count else { throw .shardsDisagree }
            guard columnTypes[index] != .unsupported else { throw Self.cannot("compute with") }
            return columnTypes[index]
        case .constant(let constant):
            switch constant {
            case .null: return .unknown
            case .integer(let n): return Int32(exactly: n) != nil ? .int4 : .int8
            case .numeric: return .numeric
            case .text: return .text
            case .bool: return .bool
            }
        case .arithmetic(let op, let a, let b):
            let x = try type(of: a), y = try type(of: b)
            return try arithmeticType(op, x, y)
        case .negate(let a):
            let x = try type(of: a)
            guard x.isNumber else { throw Self.cannot("negate") }
            return x
        case .compare(let op, let a, let b):
            let x = try type(of: a), y = try type(of: b)
            if x.isNumber && y.isNumber || x == .unknown || y == .unknown || x == y {
                if (x == .text || y == .text) && op != .equal && op != .notEqual && !textIsBytes {
                    throw MergeError.collationOrder(column: "HAVING")
                }
                return .bool
            }
            throw Self.cannot("compare")
        case .and(let items), .or(let items):
            for item in items {
                let itemType = try type(of: item)
                if itemType != .bool && itemType != .unknown { throw Self.cannot("combine") }
            }
            return .bool
        case .not(let a):
            let argument = try type(of: a)
            guard argument == .bool || argument == .unknown else { throw Self.cannot("negate") }
            return .bool
        case .isNull:
            return .bool
        case .round(let a, let places):
            let x = try type(of: a)
            if let places {
                let placesType = try type(of: places)
                guard x == .numeric || x.integerWidth != nil, placesType.integerWidth != nil else { throw Self.cannot("round") }
                return .numeric
            }
            guard x.isNumber else { throw Self.cannot("round") }
            return x == .float8 ? .float8 : .numeric
        case .abs(let a):
            let x = try type(of: a)
            guard x.isNumber else { throw Self.cannot("take abs of") }
            return x
        case .coalesce(let items):
            var types: [ExpressionType] = []
            for item in items {
                let itemType = try type(of: item)
                if itemType != .unknown { types.append(itemType) }
            }
            guard let first = types.first else { return .unknown }
            guard types.allSatisfy({ $0 == first }) else { throw Self.cannot("coalesce") }
            return first
        case .numericCast(let a, _, _):
            let argument = try type(of: a)
            guard argument.isNumber || argument == .unknown else { throw Self.cannot("cast") }
            return .numeric
        case .cast(let a, let target):
            let argument = try type(of: a)
            guard argument.isNumber || argument == .unknown else { throw Self.cannot("cast") }
            switch target {
            case .int2: return .int2
            case .int4: return .int4
            case .int8: return .int8
            case .numeric: return .numeric
            case .float8: return .float8
            }
        }
    }

    private static func cannot(_ what: String) -> MergeError {
        .unsupportedType(column: "expression", typeOID: 0, use: what)
    }

    private func arithmeticType(_ op: MergeExpression.ArithmeticOperator, _ x: ExpressionType, _ y: ExpressionType) throws(MergeError) -> ExpressionType {
        let x = x == .unknown ? y : x, y = y == .unknown ? x : y
        guard x.isNumber, y.isNumber else { throw Self.cannot("compute with") }
        if let a = x.integerWidth, let b = y.integerWidth { return .integer(width: max(a, b)) }
        if op == .modulo { throw Self.cannot("take % of") }
        if x == .float8 || y == .float8 { return .float8 }
        return .numeric
    }

    // MARK: Evaluation

    func evaluate(_ expression: MergeExpression, _ values: [[UInt8]?]) throws(MergeError) -> EvaluatedValue {
        switch expression {
        case .column(let index):
            guard let bytes = values[index] else { return .null }
            return try Self.read(bytes, as: columnTypes[index])
        case .constant(let constant):
            switch constant {
            case .null: return .null
            case .integer(let n): return .integer(n)
            case .numeric(let text):
                guard let value = PGNumeric(text) else { throw .unreadableValue(text) }
                return .numeric(value)
            case .text(let text): return .text(Array(text.utf8))
            case .bool(let b): return .bool(b)
            }
        case .arithmetic(let op, let a, let b):
            let resultType = try type(of: expression)
            let x = try evaluate(a, values), y = try evaluate(b, values)
            if case .null = x { return .null }
            if case .null = y { return .null }
            return try Self.arithmetic(op, x, y, resultType)
        case .negate(let a):
            switch try evaluate(a, values) {
            case .integer(let n):
                guard n != .min else { throw .outOfRange(try type(of: a).rangeName) }
                return try Self.checked(.integer(-n), try type(of: a))
            case .numeric(let n): return .numeric(PGNumeric(0) + n.negated)
            case .float(let d): return .float(-d)
            default: return .null
            }
        case .compare(let op, let a, let b):
            let x = try evaluate(a, values), y = try evaluate(b, values)
            guard let order = try Self.compare(x, y) else { return .null }
            switch op {
            case .equal: return .bool(order == 0)
            case .notEqual: return .bool(order != 0)
            case .less: return .bool(order < 0)
            case .lessOrEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            case .greaterOrEqual: return .bool(order >= 0)
            }
        case .and(let items):
            var sawNull = false
            for item in items {
                switch try evaluate(item, values) {
                case .bool(false): return .bool(false)
                case .bool(true): continue
                default: sawNull = true
                }
            }
            return sawNull ? .null : .bool(true)
        case .or(let items):
            var sawNull = false
            for item in items {
                switch try evaluate(item, values) {
                case .bool(true): return .bool(true)
                case .bool(false): continue
                default: sawNull = true
                }
            }
            return sawNull ? .null : .bool(false)
        case .not(let a):
            if case .bool(let b) = try evaluate(a, values) { return .bool(!b) }
            return .null
        case .isNull(let a, let negated):
            let isNull = if case .null = try evaluate(a, values) { true } else { false }
            return .bool(isNull != negated)
        case .round(let a, let places):
            let x = try evaluate(a, values)
            var scale = 0
            if let places {
                switch try evaluate(places, values) {
                case .integer(let n):
                    guard n >= 0, n <= 1000 else { throw Self.cannot("round to negative places") }
                    scale = Int(n)
                default: return .null
                }
            }
            switch x {
            case .integer(let n): return .numeric(PGNumeric(n).rounded(scale: scale))
            case .numeric(let n): return .numeric(n.rounded(scale: scale))
            // float8 round(): rint, half to even.
            case .float(let d): return .float(d.rounded(.toNearestOrEven))
            default: return .null
            }
        case .abs(let a):
            switch try evaluate(a, values) {
            case .integer(let n):
                guard n != .min else { throw .outOfRange(try type(of: a).rangeName) }
                return .integer(Swift.abs(n))
            case .numeric(let n): return .numeric(n.magnitude)
            case .float(let d): return .float(Swift.abs(d))
            default: return .null
            }
        case .coalesce(let items):
            for item in items {
                let value = try evaluate(item, values)
                if case .null = value { continue }
                return value
            }
            return .null
        case .cast(let a, let target):
            let x = try evaluate(a, values)
            return try Self.cast(x, to: target)
        case .numericCast(let a, let precision, let scale):
            guard case .numeric(let n) = try Self.cast(try evaluate(a, values), to: .numeric) else { return .null }
            guard n.special == nil else {
                // numeric(p,s) holds no NaN/Infinity limit in PG15 for NaN; infinities overflow.
                if n.special == .nan { return .numeric(n) }
                throw .numericFieldOverflow(precision: precision, scale: scale)
            }
            let rounded = n.rounded(scale: scale)
            // Digits before the point (leading zeros do not count).
            if rounded.digits.count - scale > precision - scale { throw .numericFieldOverflow(precision: precision, scale: scale) }
            return .numeric(rounded)
        }
    }

    static func read(_ bytes: [UInt8], as type: ExpressionType) throws(MergeError) -> EvaluatedValue {
        switch type {
        case .int2, .int4, .int8: return .integer(try ValueOrder.integer(bytes[...]))
        case .numeric:
            guard let value = PGNumeric(bytes) else { throw .unreadableValue(String(decoding: bytes, as: UTF8.self)) }
            return .numeric(value)
        case .float8: return .float(try ValueOrder.float(bytes[...]))
        case .bool: return .bool(bytes.first == UInt8(ascii: "t"))
        case .text, .unknown, .unsupported: return .text(bytes)
        }
    }

    static func text(_ value: EvaluatedValue) -> [UInt8]? {
        switch value {
        case .null: nil
        case .integer(let n): Array(String(n).utf8)
        case .numeric(let n): Array(n.text.utf8)
        case .float(let d): Array(FloatText.format(d).utf8)
        case .bool(let b): b ? [UInt8(ascii: "t")] : [UInt8(ascii: "f")]
        case .text(let bytes): bytes
        }
    }

    private static func checked(_ value: EvaluatedValue, _ type: ExpressionType) throws(MergeError) -> EvaluatedValue {
        if case .integer(let n) = value {
            switch type {
            case .int2: guard Int16(exactly: n) != nil else { throw .outOfRange(type.rangeName) }
            case .int4: guard Int32(exactly: n) != nil else { throw .outOfRange(type.rangeName) }
            default: break
            }
        }
        return value
    }

    private static func numeric(_ value: EvaluatedValue) -> PGNumeric? {
        switch value {
        case .integer(let n): PGNumeric(n)
        case .numeric(let n): n
        default: nil
        }
    }

    private static func double(_ value: EvaluatedValue) -> Double? {
        switch value {
        case .integer(let n): Double(n)
        case .numeric(let n): Double(n.text) ?? (n.special == .nan ? .nan : n.special == .infinity ? .infinity : -.infinity)
        case .float(let d): d
        default: nil
        }
    }

    private static func arithmetic(_ op: MergeExpression.ArithmeticOperator, _ x: EvaluatedValue, _ y: EvaluatedValue,
                                   _ type: ExpressionType) throws(MergeError) -> EvaluatedValue {
        switch type {
        case .int2, .int4, .int8:
            guard case .integer(let a) = x, case .integer(let b) = y else { throw .shardsDisagree }
            let result: (Int64, Bool)
            switch op {
            case .add: result = a.addingReportingOverflow(b)
            case .subtract: result = a.subtractingReportingOverflow(b)
            case .multiply: result = a.multipliedReportingOverflow(by: b)
            case .divide:
                guard b != 0 else { throw .divisionByZero }
                result = a.dividedReportingOverflow(by: b)
            case .modulo:
                guard b != 0 else { throw .divisionByZero }
                result = b == -1 ? (0, false) : a.remainderReportingOverflow(dividingBy: b)
            }
            guard !result.1 else { throw .outOfRange(type.rangeName) }
            return try checked(.integer(result.0), type)
        case .numeric:
            guard let a = numeric(x), let b = numeric(y) else { throw .shardsDisagree }
            switch op {
            case .add: return .numeric(a + b)
            case .subtract: return .numeric(a + b.negated)
            case .multiply: return .numeric(a * b)
            case .divide:
                guard !b.isZero else { throw .divisionByZero }
                return .numeric(a.divided(byNumeric: b))
            case .modulo: throw cannot("take % of")
            }
        case .float8:
            guard let a = double(x), let b = double(y) else { throw .shardsDisagree }
            let result: Double
            switch op {
            case .add: result = a + b
            case .subtract: result = a - b
            case .multiply: result = a * b
            case .divide:
                guard b != 0 else { throw .divisionByZero }
                result = a / b
            case .modulo: throw cannot("take % of")
            }
            if result.isInfinite && !a.isInfinite && !b.isInfinite { throw .floatOverflow }
            if result == 0, a != 0, (op == .multiply || op == .divide), !b.isInfinite { throw .floatUnderflow }
            return .float(result)
        default:
            throw cannot("compute with")
        }
    }

    /// -1, 0, 1; nil when either side is NULL.
    private static func compare(_ x: EvaluatedValue, _ y: EvaluatedValue) throws(MergeError) -> Int? {
        switch (x, y) {
        case (.null, _), (_, .null): return nil
        case (.integer(let a), .integer(let b)): return a < b ? -1 : a == b ? 0 : 1
        case (.bool(let a), .bool(let b)): return a == b ? 0 : (!a ? -1 : 1)
        case (.text(let a), .text(let b)): return ValueOrder.compareBytes(a[...], b[...])
        case (.float, _), (_, .float):
            guard let a = double(x), let b = double(y) else { throw cannot("compare") }
            return ValueOrder.compareFloats(a, b)
        default:
            guard let a = numeric(x), let b = numeric(y) else { throw cannot("compare") }
            return PGNumeric.compare(a, b)
        }
    }

    private static func cast(_ x: EvaluatedValue, to target: MergeExpression.CastTarget) throws(MergeError) -> EvaluatedValue {
        if case .null = x { return .null }
        switch target {
        case .numeric:
            if let n = numeric(x) { return .numeric(n) }
            guard case .float(let d) = x else { throw cannot("cast") }
            guard let n = PGNumeric(FloatText.format(d)) else { throw cannot("cast") }
            return .numeric(n)
        case .float8:
            guard let d = double(x) else { throw cannot("cast") }
            return .float(d)
        case .int2, .int4, .int8:
            let type: ExpressionType = target == .int2 ? .int2 : target == .int4 ? .int4 : .int8
            switch x {
            case .integer: return try checked(x, type)
            case .numeric(let n):
                // Rounded half away from zero, as numeric_int8 does.
                guard n.special == nil, let value = Int64(n.rounded(scale: 0).text) else { throw .outOfRange(type.rangeName) }
                return try checked(.integer(value), type)
            case .float(let d):
                // rint: half to even, as dtoi8 does.
                let r = d.rounded(.toNearestOrEven)
                guard r.isFinite, let value = Int64(exactly: r) else { throw .outOfRange(type.rangeName) }
                return try checked(.integer(value), type)
            default: throw cannot("cast")
            }
        }
    }
}
