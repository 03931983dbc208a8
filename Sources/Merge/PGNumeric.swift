/// A value of PostgreSQL's `numeric` as the text protocol writes it, with its display scale:
/// enough arithmetic to combine per-shard sums and averages exactly as one server would.
struct PGNumeric: Sendable, Equatable {
    enum Special: Sendable, Equatable { case nan, infinity, negativeInfinity }

    var negative = false
    /// The decimal digits of |value| × 10^scale, most significant first, no leading zeros
    /// (empty for zero).
    var digits: [UInt8] = []
    /// Digits after the decimal point (PostgreSQL's dscale).
    var scale = 0
    var special: Special?

    init(special: Special) { self.special = special }

    init(negative: Bool, digits: [UInt8], scale: Int) {
        var digits = digits[...]
        while let first = digits.first, first == 0 { digits = digits.dropFirst() }
        self.negative = negative && !digits.isEmpty
        self.digits = Array(digits)
        self.scale = scale
    }

    init(_ value: Int64) {
        self.init(negative: value < 0, digits: String(value.magnitude).utf8.map { $0 - 48 }, scale: 0)
    }

    init?(_ text: String) { self.init(text.utf8) }

    /// Parses numeric output (`-12.50`, `NaN`, `Infinity`, `-Infinity`); also plain integers.
    init?(_ text: some Collection<UInt8>) {
        switch String(decoding: text, as: UTF8.self) {
        case "NaN": self.init(special: .nan); return
        case "Infinity": self.init(special: .infinity); return
        case "-Infinity": self.init(special: .negativeInfinity); return
        default: break
        }
        var negative = false
        var digits: [UInt8] = []
        var scale = 0
        var seenPoint = false
        var first = true
        for byte in text {
            defer { first = false }
            switch byte {
            case UInt8(ascii: "-") where first: negative = true
            case UInt8(ascii: "+") where first: continue
            case UInt8(ascii: "."):
                guard !seenPoint else { return nil }
                seenPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits.append(byte - 48)
                if seenPoint { scale += 1 }
            default:
                return nil
            }
        }
        guard !digits.isEmpty else { return nil }
        self.init(negative: negative, digits: digits, scale: scale)
    }

    var isZero: Bool { special == nil && digits.isEmpty }

    /// The text PostgreSQL writes for this value.
    var text: String {
        switch special {
        case .nan: return "NaN"
        case .infinity: return "Infinity"
        case .negativeInfinity: return "-Infinity"
        case nil: break
        }
        var padded = digits
        if padded.count <= scale { padded.insert(contentsOf: repeatElement(0, count: scale + 1 - padded.count), at: 0) }
        var bytes: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        let point = padded.count - scale
        for (index, digit) in padded.enumerated() {
            if index == point { bytes.append(UInt8(ascii: ".")) }
            bytes.append(digit + 48)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The digits of |value| at `scale` ≥ self.scale.
    private func digits(atScale target: Int) -> [UInt8] {
        digits.isEmpty ? [] : digits + repeatElement(0, count: target - scale)
    }

    /// Sum, with the larger display scale of the two, as PostgreSQL's numeric_add.
    static func + (a: PGNumeric, b: PGNumeric) -> PGNumeric {
        if a.special != nil || b.special != nil { return specialSum(a, b) }
        let scale = max(a.scale, b.scale)
        let x = a.digits(atScale: scale), y = b.digits(atScale: scale)
        if a.negative == b.negative || x.isEmpty || y.isEmpty {
            let negative = x.isEmpty ? b.negative : a.negative
            return PGNumeric(negative: negative, digits: addMagnitudes(x, y), scale: scale)
        }
        switch compareMagnitudes(x, y) {
        case 0: return PGNumeric(negative: false, digits: [], scale: scale)
        case 1: return PGNumeric(negative: a.negative, digits: subtractMagnitudes(x, y), scale: scale)
        default: return PGNumeric(negative: b.negative, digits: subtractMagnitudes(y, x), scale: scale)
        }
    }

    private static func specialSum(_ a: PGNumeric, _ b: PGNumeric) -> PGNumeric {
        if a.special == .nan || b.special == .nan { return PGNumeric(special: .nan) }
        let infinities = [a.special, b.special].compactMap { $0 }
        if infinities.contains(.infinity) && infinities.contains(.negativeInfinity) { return PGNumeric(special: .nan) }
        return PGNumeric(special: infinities[0])
    }

    static func compareMagnitudes(_ x: [UInt8], _ y: [UInt8]) -> Int {
        if x.count != y.count { return x.count < y.count ? -1 : 1 }
        for (p, q) in zip(x, y) where p != q { return p < q ? -1 : 1 }
        return 0
    }

    static func addMagnitudes(_ x: [UInt8], _ y: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(max(x.count, y.count) + 1)
        var i = x.count - 1, j = y.count - 1, carry: UInt8 = 0
        while i >= 0 || j >= 0 || carry > 0 {
            let sum = (i >= 0 ? x[i] : 0) + (j >= 0 ? y[j] : 0) + carry
            result.append(sum % 10)
            carry = sum / 10
            i -= 1
            j -= 1
        }
        return result.reversed()
    }

    /// x − y for x ≥ y.
    static func subtractMagnitudes(_ x: [UInt8], _ y: [UInt8]) -> [UInt8] {
        var result = x
        var borrow: Int8 = 0
        var j = y.count - 1
        for i in stride(from: x.count - 1, through: 0, by: -1) {
            var digit = Int8(x[i]) - borrow - (j >= 0 ? Int8(y[j]) : 0)
            borrow = digit < 0 ? 1 : 0
            if digit < 0 { digit += 10 }
            result[i] = UInt8(digit)
            j -= 1
        }
        return result
    }

    var negated: PGNumeric {
        switch special {
        case .infinity: return PGNumeric(special: .negativeInfinity)
        case .negativeInfinity: return PGNumeric(special: .infinity)
        case .nan: return self
        case nil:
            var value = self
            value.negative = !negative && !digits.isEmpty
            return value
        }
    }

    var magnitude: PGNumeric {
        if special == .negativeInfinity { return PGNumeric(special: .infinity) }
        var value = self
        value.negative = false
        return value
    }

    /// Product with the sum of the display scales, as numeric_mul (exact).
    static func * (a: PGNumeric, b: PGNumeric) -> PGNumeric {
        if a.special == .nan || b.special == .nan { return PGNumeric(special: .nan) }
        if a.special != nil || b.special != nil {
            if a.isZero || b.isZero { return PGNumeric(special: .nan) }
            let negative = (a.special == .negativeInfinity || (a.special == nil && a.negative)) != (b.special == .negativeInfinity || (b.special == nil && b.negative))
            return PGNumeric(special: negative ? .negativeInfinity : .infinity)
        }
        var product = [Int](repeating: 0, count: a.digits.count + b.digits.count)
        for (i, x) in a.digits.enumerated().reversed() {
            for (j, y) in b.digits.enumerated().reversed() {
                product[i + j + 1] += Int(x) * Int(y)
            }
        }
        for k in stride(from: product.count - 1, to: 0, by: -1) where product[k] >= 10 {
            product[k - 1] += product[k] / 10
            product[k] %= 10
        }
        return PGNumeric(negative: a.negative != b.negative, digits: product.map { UInt8($0) }, scale: a.scale + b.scale)
    }

    /// Quotient as numeric_div: select_div_scale digits, rounded half away from zero. `divisor`
    /// must not be zero.
    func divided(byNumeric divisor: PGNumeric) -> PGNumeric {
        if special == .nan || divisor.special == .nan { return PGNumeric(special: .nan) }
        if special != nil {
            if divisor.special != nil { return PGNumeric(special: .nan) }
            return divisor.negative ? negated : self
        }
        if divisor.special != nil { return PGNumeric(negative: false, digits: [], scale: 0) }
        let scale = Self.divisionScale(self, divisor)
        // |a|·10^(sb − sa + scale + 1) / |b|, the last digit for rounding.
        let shift = divisor.scale - self.scale + scale + 1
        var dividend = digits
        if shift >= 0 { dividend += repeatElement(0, count: shift) } else { dividend = Array(dividend.dropLast(min(-shift, dividend.count))) }
        let quotient = Self.divideMagnitudes(dividend, divisor.digits)
        let roundUp = (quotient.last ?? 0) >= 5
        var result = PGNumeric(negative: false, digits: Array(quotient.dropLast()), scale: scale)
        if roundUp { result = PGNumeric(negative: false, digits: Self.addMagnitudes(result.digits, [1]), scale: scale) }
        result.negative = (negative != divisor.negative) && !result.digits.isEmpty
        return result
    }

    /// ⌊x / y⌋ of two magnitudes (y not zero), schoolbook.
    private static func divideMagnitudes(_ x: [UInt8], _ y: [UInt8]) -> [UInt8] {
        var quotient: [UInt8] = []
        var remainder: [UInt8] = []
        for digit in x {
            remainder.append(digit)
            while let first = remainder.first, first == 0, remainder.count > 1 { remainder.removeFirst() }
            if remainder == [0] { remainder = [] }
            var count: UInt8 = 0
            while compareMagnitudes(remainder, y) >= 0 {
                remainder = subtractMagnitudes(remainder, y)
                while let first = remainder.first, first == 0 { remainder.removeFirst() }
                count += 1
            }
            quotient.append(count)
        }
        return quotient
    }

    /// Rounded half away from zero to `scale` fractional digits (round(numeric, int)).
    func rounded(scale target: Int) -> PGNumeric {
        guard special == nil else { return self }
        if target >= scale {
            return PGNumeric(negative: negative, digits: digits.isEmpty ? [] : digits + repeatElement(0, count: target - scale), scale: target)
        }
        let drop = scale - target
        var kept = Array(digits.dropLast(min(drop, digits.count)))
        let roundingDigit = drop <= digits.count ? digits[digits.count - drop] : 0
        if roundingDigit >= 5 { kept = Self.addMagnitudes(kept.isEmpty ? [0] : kept, [1]) }
        return PGNumeric(negative: negative, digits: kept, scale: target)
    }

    /// Order as PostgreSQL compares numerics: -Infinity < numbers < Infinity < NaN.
    static func compare(_ a: PGNumeric, _ b: PGNumeric) -> Int {
        func rank(_ value: PGNumeric) -> Int {
            switch value.special {
            case .negativeInfinity: 0
            case nil: 1
            case .infinity: 2
            case .nan: 3
            }
        }
        let ra = rank(a), rb = rank(b)
        if ra != rb || ra != 1 { return ra < rb ? -1 : ra == rb ? 0 : 1 }
        if a.negative != b.negative { return a.negative ? -1 : 1 }
        let scale = max(a.scale, b.scale)
        let magnitude = compareMagnitudes(a.digits(atScale: scale), b.digits(atScale: scale))
        return a.negative ? -magnitude : magnitude
    }

    /// The value with trailing fractional zeros removed: equal numerics get equal keys.
    var normalizedKey: String {
        guard special == nil else { return text }
        var value = self
        while value.scale > 0, let last = value.digits.last, last == 0 {
            value.digits.removeLast()
            value.scale -= 1
        }
        if value.digits.isEmpty { value.scale = 0 }
        return value.text
    }

    /// `self / count` as PostgreSQL's numeric_div computes it for `avg`: the result scale
    /// from select_div_scale, rounded half away from zero.
    func divided(by count: Int64) -> PGNumeric {
        precondition(count > 0)
        if let special { return PGNumeric(special: special) }
        let scale = Self.divisionScale(self, PGNumeric(count))
        // |self| × 10^(scale − self.scale + 1) / count, then round on the extra digit.
        var dividend = digits
        let shift = scale - self.scale + 1
        if shift >= 0 {
            dividend += repeatElement(0, count: shift)
        } else {
            dividend = Array(dividend.dropLast(min(-shift, dividend.count)))
        }
        var quotient: [UInt8] = []
        quotient.reserveCapacity(dividend.count)
        var remainder: UInt128 = 0
        let divisor = UInt128(count)
        for digit in dividend {
            remainder = remainder * 10 + UInt128(digit)
            quotient.append(UInt8(remainder / divisor))
            remainder %= divisor
        }
        // The last quotient digit is the rounding digit.
        let roundUp = (quotient.last ?? 0) >= 5
        if !quotient.isEmpty { quotient.removeLast() }
        var result = PGNumeric(negative: negative, digits: quotient, scale: scale)
        if roundUp {
            result = PGNumeric(negative: false, digits: Self.addMagnitudes(result.digits, [1]), scale: scale)
            result.negative = negative
        }
        return result
    }

    /// PostgreSQL's select_div_scale (src/backend/utils/adt/numeric.c): at least 16 significant
    /// digits, at least the inputs' display scales, between 0 and 1000.
    static func divisionScale(_ a: PGNumeric, _ b: PGNumeric) -> Int {
        let (weight1, first1) = a.baseWeight
        let (weight2, first2) = b.baseWeight
        var quotientWeight = weight1 - weight2
        if first1 <= first2 { quotientWeight -= 1 }
        var scale = 16 - quotientWeight * 4
        scale = max(scale, a.scale, b.scale, 0)
        return min(scale, 1000)
    }

    /// The weight and value of the first non-zero base-10000 digit (PostgreSQL stores numerics
    /// in base 10000, with groups of four decimal digits aligned on the decimal point); (0, 0)
    /// for zero.
    private var baseWeight: (weight: Int, first: Int) {
        guard let firstNonZero = digits.firstIndex(where: { $0 != 0 }) else { return (0, 0) }
        // Decimal exponent of the leading digit: value digit d_i has exponent (count-1-i) - scale.
        let exponent = digits.count - 1 - firstNonZero - scale
        let weight = exponent >= 0 ? exponent / 4 : -((-exponent + 3) / 4)
        // The base-10000 digit spans decimal exponents 4·weight … 4·weight+3.
        var group = 0
        for e in stride(from: 4 * weight + 3, through: 4 * weight, by: -1) {
            let index = digits.count - 1 - scale - e
            group = group * 10 + (index >= 0 && index < digits.count ? Int(digits[index]) : 0)
        }
        return (weight, group)
    }
}
