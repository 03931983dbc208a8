import Sharding

/// How the merge reads the text-format values of one column's type: enough to order them and
/// to combine aggregates exactly as PostgreSQL would.
public enum ValueKind: Sendable, Equatable {
    /// int2, int4, int8, oid.
    case integer
    /// float4, float8: -Infinity < numbers < Infinity < NaN, -0 = 0.
    case float
    /// numeric: exact decimal, -Infinity < numbers < Infinity < NaN.
    case numeric
    case bool
    /// Values whose text sorts like the values: text under a byte-order collation ("C"),
    /// `name`, `"char"`, `uuid`, `time`, `bytea` in hex.
    case bytes
    /// text, varchar, bpchar under the database collation: ordered only when it is byte order.
    case collatable
    case date
    case timestamp
    case timestamptz
    /// interval, in IntervalStyle `postgres`: ordered by its span with months of 30 days and
    /// days of 24 hours, as PostgreSQL compares intervals.
    case interval
    /// Types the merge cannot order (json, arrays, …); equality of their text is
    /// still their equality for grouping when the type's output is canonical.
    case other

    /// The kind of the type with this OID.
    public init(typeOID: UInt32) {
        switch typeOID {
        case 20, 21, 23, 26: self = .integer
        case 700, 701: self = .float
        case 1700: self = .numeric
        case 16: self = .bool
        case 19, 18, 2950, 1083, 17: self = .bytes
        case 25, 1043, 1042: self = .collatable
        case 1082: self = .date
        case 1114: self = .timestamp
        case 1184: self = .timestamptz
        case 1186: self = .interval
        default: self = .other
        }
    }
}

/// PostgreSQL type OIDs the merge produces itself.
enum TypeOID {
    static let int8: UInt32 = 20
    static let numeric: UInt32 = 1700
    static let float4: UInt32 = 700
    static let float8: UInt32 = 701
}

/// Orders text-format values of one kind.
struct ValueOrder {
    let kind: ValueKind

    /// Whether values of `kind` can be ordered; `textIsBytes`: the shards' collation sorts text
    /// as bytes.
    static func canOrder(_ kind: ValueKind, textIsBytes: Bool) -> Bool {
        switch kind {
        case .other: false
        case .collatable: textIsBytes
        default: true
        }
    }

    /// -1, 0, 1 for two non-NULL values; throws when a value cannot be read as its type.
    func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) throws(MergeError) -> Int {
        switch kind {
        case .integer:
            let x = try Self.integer(a), y = try Self.integer(b)
            return x < y ? -1 : x == y ? 0 : 1
        case .float:
            return Self.compareFloats(try Self.float(a), try Self.float(b))
        case .numeric:
            guard let x = PGNumeric(a), let y = PGNumeric(b) else { throw .unreadableValue(String(decoding: a, as: UTF8.self)) }
            return PGNumeric.compare(x, y)
        case .date:
            return try Self.compareTimes(a, b) { ISOTimeText.days($0).map(Int64.init) }
        case .timestamp:
            return try Self.compareTimes(a, b) { ISOTimeText.micros($0, zone: false) }
        case .timestamptz:
            return try Self.compareTimes(a, b) { ISOTimeText.micros($0, zone: true) }
        case .interval:
            guard let x = Self.interval(a), let y = Self.interval(b) else {
                throw .unreadableValue(String(decoding: Self.interval(a) == nil ? a : b, as: UTF8.self))
            }
            return x < y ? -1 : x == y ? 0 : 1
        case .bool, .bytes, .collatable, .other:
            return Self.compareBytes(a, b)
        }
    }

    static func compareBytes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        var i = a.startIndex, j = b.startIndex
        while i < a.endIndex, j < b.endIndex {
            if a[i] != b[j] { return a[i] < b[j] ? -1 : 1 }
            i += 1
            j += 1
        }
        let restA = a.endIndex - i, restB = b.endIndex - j
        return restA == restB ? 0 : restA < restB ? -1 : 1
    }

    static func integer(_ text: ArraySlice<UInt8>) throws(MergeError) -> Int64 {
        var value: Int64 = 0
        var negative = false
        var index = text.startIndex
        if index < text.endIndex, text[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < text.endIndex else { throw .unreadableValue(String(decoding: text, as: UTF8.self)) }
        while index < text.endIndex {
            let digit = text[index]
            guard digit >= 48, digit <= 57 else { throw .unreadableValue(String(decoding: text, as: UTF8.self)) }
            // Accumulate negatively so that Int64.min is readable.
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times.subtractingReportingOverflow(Int64(digit - 48))
            guard !o1, !o2 else { throw .unreadableValue(String(decoding: text, as: UTF8.self)) }
            value = next
            index += 1
        }
        if negative { return value }
        guard value != Int64.min else { throw .unreadableValue(String(decoding: text, as: UTF8.self)) }
        return -value
    }

    static func float(_ text: ArraySlice<UInt8>) throws(MergeError) -> Double {
        let string = String(decoding: text, as: UTF8.self)
        switch string {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(string) else { throw .unreadableValue(string) }
            return value
        }
    }

    /// An interval's output in IntervalStyle `postgres` (`1 year 2 mons -3 days +04:05:06.5`,
    /// `-00:00:01`, `infinity` is not a thing for PG15 intervals) as microseconds, with months of
    /// 30 days and days of 24 hours (interval_cmp_value).
    static func interval(_ text: ArraySlice<UInt8>) -> Int128? {
        guard let (months, days, micros) = intervalParts(text) else { return nil }
        let day: Int128 = 86_400_000_000
        return Int128(months) * 30 * day + Int128(days) * day + Int128(micros)
    }

    /// An interval's months, days and microseconds (interval_send's fields) from its output in
    /// IntervalStyle `postgres`.
    static func intervalParts(_ text: ArraySlice<UInt8>) -> (months: Int32, days: Int32, micros: Int64)? {
        let words = String(decoding: text, as: UTF8.self).split(separator: " ")
        var months: Int64 = 0, days: Int64 = 0, micros: Int64 = 0
        var index = 0
        while index < words.count {
            let word = words[index]
            if word.contains(":") {
                var negative = false
                var clock = Substring(word)
                if let sign = clock.first, sign == "-" || sign == "+" {
                    negative = sign == "-"
                    clock = clock.dropFirst()
                }
                let parts = clock.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 3, let hours = Int64(parts[0]), let minutes = Int64(parts[1]) else { return nil }
                let secondParts = parts[2].split(separator: ".", omittingEmptySubsequences: false)
                guard let seconds = Int64(secondParts[0]), secondParts.count <= 2 else { return nil }
                var fraction: Int64 = 0
                if secondParts.count == 2 {
                    let digits = secondParts[1]
                    guard !digits.isEmpty, digits.count <= 6, let value = Int64(digits) else { return nil }
                    fraction = value * Int64([1, 100_000, 10_000, 1_000, 100, 10, 1][digits.count])
                }
                let (h, o1) = hours.multipliedReportingOverflow(by: 3_600_000_000)
                guard !o1 else { return nil }
                let value = h + minutes * 60_000_000 + seconds * 1_000_000 + fraction
                micros += negative ? -value : value
                index += 1
                continue
            }
            guard index + 1 < words.count, let amount = Int64(word.hasPrefix("+") ? word.dropFirst() : word) else { return nil }
            switch words[index + 1] {
            case "year", "years": months += amount * 12
            case "mon", "mons": months += amount
            case "day", "days": days += amount
            default: return nil
            }
            index += 2
        }
        guard !words.isEmpty, let m = Int32(exactly: months), let d = Int32(exactly: days) else { return nil }
        return (m, d, micros)
    }

    static func compareFloats(_ x: Double, _ y: Double) -> Int {
        if x.isNaN || y.isNaN { return x.isNaN == y.isNaN ? 0 : x.isNaN ? 1 : -1 }
        return x < y ? -1 : x == y ? 0 : 1
    }

    private static func compareTimes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>, _ read: (String) -> Int64?) throws(MergeError) -> Int {
        func value(_ text: ArraySlice<UInt8>) throws(MergeError) -> Int64 {
            let string = String(decoding: text, as: UTF8.self)
            switch string {
            case "infinity": return .max
            case "-infinity": return .min
            default:
                guard let value = read(string) else { throw .unreadableValue(string) }
                return value
            }
        }
        let x = try value(a), y = try value(b)
        return x < y ? -1 : x == y ? 0 : 1
    }
}

/// Writes doubles as PostgreSQL's float8out does with `extra_float_digits` ≥ 1 (the default):
/// the shortest text that reads back as the same value, in exponent form below 1e-4 and from
/// 1e15 on (float4: from 1e6 on... see ``format(_:float4:)``).
enum FloatText {
    static func format(_ value: Double, float4: Bool = false) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        // Swift's description is the shortest round-trip text too; take its digits and exponent.
        let text = float4 ? Float(value).description : value.description
        var digits: [UInt8] = []
        var exponent = 0  // value = 0.d1d2… × 10^exponent
        var negative = false
        var seenPoint = false
        var mantissa = Substring(text)
        var explicitExponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            explicitExponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var integerDigits = 0
        for character in mantissa {
            switch character {
            case "-": negative = true
            case ".": seenPoint = true
            default:
                guard let digit = character.wholeNumberValue else { continue }
                if digits.isEmpty && digit == 0 {
                    if seenPoint { integerDigits -= 1 }
                    continue
                }
                digits.append(UInt8(digit))
                if !seenPoint { integerDigits += 1 }
            }
        }
        while let last = digits.last, last == 0 { digits.removeLast() }
        exponent = integerDigits + explicitExponent
        let scientific = exponent - 1  // d.ddd × 10^scientific
        let limit = float4 ? 6 : 15
        var out = negative ? "-" : ""
        if scientific < -4 || scientific >= limit {
            out += String(digits[0])
            if digits.count > 1 { out += "." + digits.dropFirst().map(String.init).joined() }
            out += "e" + (scientific < 0 ? "-" : "+") + (abs(scientific) < 10 ? "0" : "") + String(abs(scientific))
        } else if exponent <= 0 {
            out += "0." + String(repeating: "0", count: -exponent) + digits.map(String.init).joined()
        } else {
            let whole = digits.prefix(exponent).map(String.init).joined() + String(repeating: "0", count: max(0, exponent - digits.count))
            out += whole
            if digits.count > exponent { out += "." + digits.dropFirst(exponent).map(String.init).joined() }
        }
        return out
    }
}
