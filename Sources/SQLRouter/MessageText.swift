/// The UTF-8 bytes of one Query message, for the byte offsets libpg_query reports.
///
/// libpg_query locates statements and nodes by byte offset into the message; clients see
/// positions in characters (PostgreSQL counts Unicode scalars under UTF-8).
struct MessageText: Sendable {
    /// The message as UTF-8.
    let utf8: [UInt8]

    init(_ text: String) {
        utf8 = Array(text.utf8)
    }

    /// The number of characters in `utf8[from..<to]`.
    func characterCount(from: Int, to: Int) -> Int {
        var count = 0
        var index = from
        while index < to {
            if utf8[index] & 0xC0 != 0x80 { count += 1 }
            index += 1
        }
        return count
    }

    /// The bytes of the statement at `location` running `length` bytes (0: to the end of the
    /// message), without the whitespace around it.
    func statementRange(location: Int, length: Int) -> Range<Int> {
        var start = max(0, min(location, utf8.count))
        var end = length > 0 ? min(utf8.count, start + length) : utf8.count
        while start < end, Self.isWhitespace(utf8[start]) { start += 1 }
        while end > start, Self.isWhitespace(utf8[end - 1]) { end -= 1 }
        return start..<end
    }

    /// The text of `range`.
    func text(_ range: Range<Int>) -> String {
        String(decoding: utf8[range], as: UTF8.self)
    }

    /// The integer literal written at byte `location`: digits, or `-` and digits with whitespace
    /// between. `nil` for anything else.
    ///
    /// Why: libpg_query 15-4.0.0 writes a negative integer constant (`-5`, folded into the
    /// constant by the grammar) to JSON exactly like `0`, as `{"ival":{}}`; the text at the
    /// constant's location tells the two apart.
    func integerLiteral(at location: Int) -> Int64? {
        guard location >= 0, location < utf8.count else { return nil }
        var index = location
        var negative = false
        if utf8[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
            while index < utf8.count, Self.isWhitespace(utf8[index]) { index += 1 }
        }
        var magnitude: UInt64 = 0
        let digitsStart = index
        while index < utf8.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[index]) {
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(UInt64(utf8[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        guard index > digitsStart else { return nil }
        if index < utf8.count, Self.continuesNumber(utf8[index]) { return nil }
        if negative {
            guard magnitude <= Int64.min.magnitude else { return nil }
            return 0 &- Int64(bitPattern: magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// PostgreSQL's scanner whitespace.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r") || byte == 0x0C || byte == 0x0B
    }

    /// Bytes that, right after digits, make the token something other than an integer.
    private static func continuesNumber(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "_"),
             UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x80...0xFF:
            true
        default:
            false
        }
    }
}
