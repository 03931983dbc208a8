import Sharding

/// Converts merged values from PostgreSQL's text output to its binary format (the `send`
/// functions), for clients that ask for binary result columns. The shards always answer the
/// merge in text.
enum BinaryFormat {
    /// Whether values of the type with this OID can be sent in binary.
    static func supports(_ typeOID: UInt32) -> Bool {
        switch typeOID {
        case 16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 1042, 1043, 1082, 1114, 1184, 1186, 1700, 2950, 3802: true
        default: false
        }
    }

    static func encode(_ text: ArraySlice<UInt8>, typeOID: UInt32) throws(MergeError) -> [UInt8] {
        func unreadable() -> MergeError { .unreadableValue(String(decoding: text, as: UTF8.self)) }
        switch typeOID {
        case 16:
            return [text.first == UInt8(ascii: "t") ? 1 : 0]
        case 21:
            guard let value = Int16(exactly: try ValueOrder.integer(text)) else { throw unreadable() }
            return bigEndian(UInt64(UInt16(bitPattern: value)), bytes: 2)
        case 23:
            guard let value = Int32(exactly: try ValueOrder.integer(text)) else { throw unreadable() }
            return bigEndian(UInt64(UInt32(bitPattern: value)), bytes: 4)
        case 26:
            guard let value = UInt32(exactly: try ValueOrder.integer(text)) else { throw unreadable() }
            return bigEndian(UInt64(value), bytes: 4)
        case 20:
            return bigEndian(UInt64(bitPattern: try ValueOrder.integer(text)), bytes: 8)
        case 700:
            return bigEndian(UInt64(Float(try ValueOrder.float(text)).bitPattern), bytes: 4)
        case 701:
            return bigEndian(try ValueOrder.float(text).bitPattern, bytes: 8)
        case 18, 19, 25, 114, 1042, 1043:
            return Array(text)
        case 3802:
            return [1] + Array(text)
        case 17:
            // bytea_output = hex: \x0a1b…
            guard text.starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "x")]) else { throw unreadable() }
            return try hexBytes(text.dropFirst(2), unreadable)
        case 2950:
            return try hexBytes(text.filter { $0 != UInt8(ascii: "-") }[...], unreadable)
        case 1082:
            let string = String(decoding: text, as: UTF8.self)
            let days: Int32? = string == "infinity" ? .max : string == "-infinity" ? .min : ISOTimeText.days(string)
            guard let days else { throw unreadable() }
            return bigEndian(UInt64(UInt32(bitPattern: days)), bytes: 4)
        case 1114, 1184:
            let string = String(decoding: text, as: UTF8.self)
            let micros: Int64? = string == "infinity" ? .max : string == "-infinity" ? .min : ISOTimeText.micros(string, zone: typeOID == 1184)
            guard let micros else { throw unreadable() }
            return bigEndian(UInt64(bitPattern: micros), bytes: 8)
        case 1186:
            guard let (months, days, micros) = ValueOrder.intervalParts(text) else { throw unreadable() }
            return bigEndian(UInt64(bitPattern: micros), bytes: 8) + bigEndian(UInt64(UInt32(bitPattern: days)), bytes: 4)
                + bigEndian(UInt64(UInt32(bitPattern: months)), bytes: 4)
        case 1700:
            guard let value = PGNumeric(text) else { throw unreadable() }
            return numeric(value)
        default:
            throw .unsupportedType(column: "?", typeOID: typeOID, use: "send in binary")
        }
    }

    private static func bigEndian(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64(bytes - 1 - $0))) }
    }

    private static func hexBytes(_ text: ArraySlice<UInt8>, _ unreadable: () -> MergeError) throws(MergeError) -> [UInt8] {
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - 55
            default: nil
            }
        }
        guard text.count % 2 == 0 else { throw unreadable() }
        var result: [UInt8] = []
        result.reserveCapacity(text.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { throw unreadable() }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    /// numeric_send: ndigits, weight, sign, dscale, then base-10000 digits.
    static func numeric(_ value: PGNumeric) -> [UInt8] {
        func int16(_ n: Int) -> [UInt8] { bigEndian(UInt64(UInt16(truncatingIfNeeded: n)), bytes: 2) }
        switch value.special {
        case .nan: return int16(0) + int16(0) + int16(0xC000) + int16(0)
        case .infinity: return int16(0) + int16(0) + int16(0xD000) + int16(0)
        case .negativeInfinity: return int16(0) + int16(0) + int16(0xF000) + int16(0)
        case nil: break
        }
        // Pad the decimal digits so that groups of four align on the decimal point.
        let integerCount = max(0, value.digits.count - value.scale)
        let leading = (4 - integerCount % 4) % 4
        let fractionCount = value.digits.count - integerCount
        let padded = repeatElement(UInt8(0), count: leading + max(0, value.scale - value.digits.count))
            + value.digits + repeatElement(UInt8(0), count: (4 - max(fractionCount, value.scale) % 4) % 4)
        var groups: [Int] = stride(from: 0, to: padded.count, by: 4).map { start in
            padded[start..<start + 4].reduce(0) { $0 * 10 + Int($1) }
        }
        var weight = (integerCount + leading) / 4 - 1
        while let first = groups.first, first == 0 {
            groups.removeFirst()
            weight -= 1
        }
        while let last = groups.last, last == 0 { groups.removeLast() }
        if groups.isEmpty { weight = 0 }
        return int16(groups.count) + int16(weight) + int16(value.negative ? 0x4000 : 0) + int16(value.scale)
            + groups.flatMap { int16($0) }
    }
}
