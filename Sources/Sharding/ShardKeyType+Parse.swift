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
        case .smallint, .integer, .bigint: Self.parseInteger(literal, in: integerRange ?? 0...0).map { .integer($0) }
        case .text, .varchar: .text(literal)
        case .uuid: UUIDBytes(uuidString: literal).map { .uuid($0) }
        case .date: TimeText.date(literal).map { .date($0) }
        case .timestamp: TimeText.timestamp(literal, zone: false).map { .timestamp($0) }
        case .timestamptz: TimeText.timestamp(literal, zone: true).map { .timestamptz($0) }
        case .numeric: DecimalValue(literal).map { .numeric($0) }
        }
    }

    /// ``parse(_:)`` of text given as UTF-8 bytes (a text-format parameter of a Bind): an
    /// integer key is read from the bytes, without making a string first.
    public func parse(utf8 bytes: [UInt8]) -> ShardKeyValue? {
        bytes.withUnsafeBufferPointer { parse(utf8: $0) }
    }

    /// ``parse(utf8:)-([UInt8])`` of borrowed bytes (a value inside a Bind message).
    public func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> ShardKeyValue? {
        guard let range = integerRange else { return parse(String(decoding: bytes, as: UTF8.self)) }
        return Self.parseInteger(bytes, in: range).map { .integer($0) }
    }

    /// The values of an integer type (nil for the others).
    public var integerRange: ClosedRange<Int64>? {
        switch self {
        case .smallint: Int64(Int16.min)...Int64(Int16.max)
        case .integer: Int64(Int32.min)...Int64(Int32.max)
        case .bigint: Int64.min...Int64.max
        default: nil
        }
    }

    private static func parseInteger(_ literal: String, in range: ClosedRange<Int64>) -> Int64? {
        // Over the contiguous UTF-8 bytes: a key is parsed for every routed statement.
        var text = literal
        return text.withUTF8 { bytes in parseInteger(bytes, in: range) }
    }

    private static func parseInteger(_ bytes: UnsafeBufferPointer<UInt8>, in range: ClosedRange<Int64>) -> Int64? {
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
        }

        skipWhitespace()
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var magnitude: UInt64 = 0
        var digitCount = 0
        while index < bytes.count, case let byte = bytes[index], (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            let (shifted, shiftOverflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, sumOverflow) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !shiftOverflow, !sumOverflow else { return nil }
            magnitude = sum
            digitCount += 1
            index += 1
        }
        skipWhitespace()
        guard digitCount > 0, index == bytes.count else { return nil }

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
