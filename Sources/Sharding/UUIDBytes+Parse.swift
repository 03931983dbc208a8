extension UUIDBytes {
    /// Parses a uuid the way PostgreSQL's `uuid_in` does: 32 hex digits in either case,
    /// optionally wrapped in `{}`, with an optional `-` after any group of four digits but the
    /// last. No whitespace is allowed. `nil` where PostgreSQL would reject the text.
    public init?(uuidString: String) {
        let utf8 = uuidString.utf8
        var index = utf8.startIndex
        func consume(_ ascii: Unicode.Scalar) -> Bool {
            guard index < utf8.endIndex, utf8[index] == UInt8(ascii: ascii) else { return false }
            utf8.formIndex(after: &index)
            return true
        }
        func hexDigit() -> UInt8? {
            guard index < utf8.endIndex, let value = Self.hexValue(utf8[index]) else { return nil }
            utf8.formIndex(after: &index)
            return value
        }

        let braced = consume("{")
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        for position in 0..<16 {
            guard let high = hexDigit(), let low = hexDigit() else { return nil }
            bytes.append(high << 4 | low)
            if position % 2 == 1, position < 15 {
                _ = consume("-")
            }
        }
        if braced, !consume("}") { return nil }
        guard index == utf8.endIndex else { return nil }
        self.init(bytes)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
