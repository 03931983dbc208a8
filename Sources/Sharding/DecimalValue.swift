/// An exact decimal number (PostgreSQL's `numeric` without NaN and infinities), normalized so
/// equal values are equal: `digits × 10^exponent`, no leading or trailing zero digits, zero as
/// no digits.
public struct DecimalValue: Hashable, Sendable, Comparable, CustomStringConvertible {
    public private(set) var negative: Bool
    /// Decimal digits (0...9), most significant first.
    public private(set) var digits: [UInt8]
    public private(set) var exponent: Int

    /// Parses what `numeric_in` reads in its plain forms: optional whitespace, sign, digits with
    /// an optional point, optional exponent (`1.5e3`). Nil for anything else (NaN, Infinity,
    /// PostgreSQL 16's underscores and non-decimal forms) and for exponents beyond ±100000.
    public init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        while let first = bytes.first, isSpace(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, isSpace(last) { bytes = bytes.dropLast() }
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var digits: [UInt8] = []
        var exponent = 0
        var seenPoint = false, seenDigit = false
        while let byte = bytes.first {
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits.append(byte - UInt8(ascii: "0"))
                if seenPoint { exponent -= 1 }
                seenDigit = true
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                break
            }
            bytes = bytes.dropFirst()
        }
        guard seenDigit else { return nil }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var exponentNegative = false
            if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                exponentNegative = sign == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty, bytes.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), bytes.count <= 6,
                  let value = Int(String(decoding: bytes, as: UTF8.self)), value <= 100_000
            else { return nil }
            exponent += exponentNegative ? -value : value
            bytes = []
        }
        guard bytes.isEmpty else { return nil }
        self.init(negative: negative, digits: digits, exponent: exponent)
    }

    /// An integer's exact value.
    public init(_ integer: Int64) {
        let digits = String(integer.magnitude).utf8.map { $0 - UInt8(ascii: "0") }
        self.init(negative: integer < 0, digits: digits, exponent: 0)
    }

    private init(negative: Bool, digits: [UInt8], exponent: Int) {
        var digits = digits[...]
        var exponent = exponent
        while let first = digits.first, first == 0 { digits = digits.dropFirst() }
        while let last = digits.last, last == 0 {
            digits = digits.dropLast()
            exponent += 1
        }
        self.digits = Array(digits)
        self.exponent = digits.isEmpty ? 0 : exponent
        self.negative = digits.isEmpty ? false : negative
    }

    public static func < (a: DecimalValue, b: DecimalValue) -> Bool {
        if a.negative != b.negative { return a.negative }
        let magnitude = compareMagnitude(a, b)
        return a.negative ? magnitude > 0 : magnitude < 0
    }

    /// -1, 0 or 1 as |a| is below, equal to or above |b|.
    private static func compareMagnitude(_ a: DecimalValue, _ b: DecimalValue) -> Int {
        if a.digits.isEmpty || b.digits.isEmpty { return a.digits.isEmpty ? (b.digits.isEmpty ? 0 : -1) : 1 }
        // The position of the most significant digit decides first.
        let topA = a.digits.count + a.exponent, topB = b.digits.count + b.exponent
        if topA != topB { return topA < topB ? -1 : 1 }
        for i in 0..<max(a.digits.count, b.digits.count) {
            let x = i < a.digits.count ? a.digits[i] : 0, y = i < b.digits.count ? b.digits[i] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }

    /// The value in plain notation (`-12.5`, `300`, `0.001`).
    public var description: String {
        if digits.isEmpty { return "0" }
        var text = digits.map { String($0) }.joined()
        if exponent >= 0 {
            text += String(repeating: "0", count: exponent)
        } else if -exponent >= text.count {
            text = "0." + String(repeating: "0", count: -exponent - text.count) + text
        } else {
            text.insert(".", at: text.index(text.endIndex, offsetBy: exponent))
        }
        return (negative ? "-" : "") + text
    }
}
