extension ShardKeyType {
    /// The value PostgreSQL's input function for this type makes of `literal` (the text of a
    /// SQL literal or of a text-format parameter), or `nil` where PostgreSQL would reject it.
    ///
    /// Integers follow PostgreSQL 15's `int2in`/`int4in`/`int8in`: optional ASCII whitespace
    /// around an optional sign and decimal digits, range-checked for the type. `text` and
    /// `varchar` keep the string as it is. `uuid` follows `uuid_in`
    /// (see ``UUIDBytes/init(uuidString:)``).
    public func parse(_ literal: String) -> ShardKeyValue? {
        switch self {
        case .smallint: Self.parseInteger(literal, in: Int64(Int16.min)...Int64(Int16.max)).map { .integer($0) }
        case .integer: Self.parseInteger(literal, in: Int64(Int32.min)...Int64(Int32.max)).map { .integer($0) }
        case .bigint: Self.parseInteger(literal, in: Int64.min...Int64.max).map { .integer($0) }
        case .text, .varchar: .text(literal)
        case .uuid: UUIDBytes(uuidString: literal).map { .uuid($0) }
        case .date: TimeText.date(literal).map { .date($0) }
        case .timestamp: TimeText.timestamp(literal, zone: false).map { .timestamp($0) }
        case .timestamptz: TimeText.timestamp(literal, zone: true).map { .timestamptz($0) }
        case .numeric: DecimalValue(literal).map { .numeric($0) }
        }
    }

    private static func parseInteger(_ literal: String, in range: ClosedRange<Int64>) -> Int64? {
        let utf8 = literal.utf8
        var index = utf8.startIndex
        func skipWhitespace() {
            while index < utf8.endIndex, isWhitespace(utf8[index]) { utf8.formIndex(after: &index) }
        }

        skipWhitespace()
        var negative = false
        if index < utf8.endIndex, utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
            negative = utf8[index] == UInt8(ascii: "-")
            utf8.formIndex(after: &index)
        }
        var magnitude: UInt64 = 0
        var digitCount = 0
        while index < utf8.endIndex, case let byte = utf8[index], (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            let (shifted, shiftOverflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, sumOverflow) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !shiftOverflow, !sumOverflow else { return nil }
            magnitude = sum
            digitCount += 1
            utf8.formIndex(after: &index)
        }
        skipWhitespace()
        guard digitCount > 0, index == utf8.endIndex else { return nil }

        let value: Int64
        if negative {
            guard magnitude <= Int64.min.magnitude else { return nil }
            value = 0 &- Int64(bitPattern: magnitude)
        } else {
            guard magnitude <= UInt64(Int64.max) else { return nil }
            value = Int64(magnitude)
        }
        return range.contains(value) ? value : nil
    }

    /// C's `isspace` in the C locale, which is what PostgreSQL's integer input skips.
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || (0x09...0x0D).contains(byte)
    }
}
