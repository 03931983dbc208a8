/// Reads the ISO 8601 forms of `date`, `timestamp` and `timestamptz` literals into PostgreSQL's
/// internal values (days and microseconds since 2000-01-01). Anything else — other DateStyles,
/// `now`, `infinity`, BC years, a timestamptz without an explicit offset (its value would depend
/// on the session's TimeZone) — is nil: routing then treats the value as unknown.
enum TimeText {
    /// Days from 1970-01-01 to 2000-01-01.
    static let postgresEpochDays = 10_957

    static func date(_ text: String) -> Int32? {
        var scanner = Scanner(text)
        scanner.skipSpaces()
        guard let days = scanner.date() else { return nil }
        scanner.skipSpaces()
        guard scanner.atEnd else { return nil }
        return Int32(exactly: days)
    }

    /// `zone`: a timestamptz, which must carry an offset (`Z`, `+02`, `+0530`, `-03:00`).
    static func timestamp(_ text: String, zone: Bool) -> Int64? {
        var scanner = Scanner(text)
        scanner.skipSpaces()
        guard let days = scanner.date() else { return nil }
        var micros: Int64 = 0
        if scanner.take(UInt8(ascii: "T")) || scanner.take(UInt8(ascii: " ")) {
            scanner.skipSpaces()
            guard let time = scanner.time() else { return nil }
            micros = time
        }
        scanner.skipSpaces()
        if zone {
            guard let offset = scanner.offset() else { return nil }
            micros -= offset
        }
        scanner.skipSpaces()
        guard scanner.atEnd else { return nil }
        let (total, overflow) = Int64(days).multipliedReportingOverflow(by: 86_400_000_000)
        guard !overflow else { return nil }
        return total + micros
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ text: String) { bytes = Array(text.utf8) }

        var atEnd: Bool { index == bytes.count }

        mutating func skipSpaces() {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// Exactly `count` digits.
        mutating func number(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }

        /// `YYYY-MM-DD` as days since 2000-01-01.
        mutating func date() -> Int? {
            guard let year = number(4), take(UInt8(ascii: "-")), let month = number(2), take(UInt8(ascii: "-")),
                  let day = number(2), year >= 1, (1...12).contains(month), day >= 1, day <= Self.daysIn(month, year)
            else { return nil }
            return Self.daysFromCivil(year, month, day) - TimeText.postgresEpochDays
        }

        /// `HH:MM[:SS[.ffffff]]` as microseconds.
        mutating func time() -> Int64? {
            guard let hour = number(2), take(UInt8(ascii: ":")), let minute = number(2), hour <= 24, minute <= 59 else { return nil }
            var seconds = 0, micros = 0
            if take(UInt8(ascii: ":")) {
                guard let s = number(2), s <= 60 else { return nil }
                seconds = s
                if take(UInt8(ascii: ".")) {
                    var digits = 0
                    while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                        // More than 6 digits would be rounded by PostgreSQL: not read exactly here.
                        guard digits < 6 else { return nil }
                        micros = micros * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                        digits += 1
                        index += 1
                    }
                    guard digits > 0 else { return nil }
                    for _ in digits..<6 { micros *= 10 }
                }
            }
            guard hour < 24 || (minute == 0 && seconds == 0 && micros == 0), seconds < 60 else { return nil }
            return (Int64(hour) * 3600 + Int64(minute) * 60 + Int64(seconds)) * 1_000_000 + Int64(micros)
        }

        /// `Z`, `+HH`, `+HHMM`, `+HH:MM` (or `-`) as microseconds east of UTC.
        mutating func offset() -> Int64? {
            if take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) { return 0 }
            let negative: Bool
            if take(UInt8(ascii: "+")) { negative = false } else if take(UInt8(ascii: "-")) { negative = true } else { return nil }
            guard let hours = number(2), hours <= 15 else { return nil }
            var minutes = 0
            if take(UInt8(ascii: ":")) {
                guard let m = number(2) else { return nil }
                minutes = m
            } else if let m = number(2) {
                minutes = m
            }
            guard minutes <= 59 else { return nil }
            let value = (Int64(hours) * 3600 + Int64(minutes) * 60) * 1_000_000
            return negative ? -value : value
        }

        static func daysIn(_ month: Int, _ year: Int) -> Int {
            switch month {
            case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
        }

        /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
        static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            return era * 146_097 + dayOfEra - 719_468
        }
    }
}

extension ShardKeyValue {
    /// The order of two values of one ordered type (integers, numeric, date, timestamp,
    /// timestamptz; an integer and a numeric compare as numbers); nil for text, uuid and values
    /// of different kinds.
    public func compare(_ other: ShardKeyValue) -> Int? {
        func order<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : a == b ? 0 : 1 }
        switch (self, other) {
        case (.integer(let a), .integer(let b)): return order(a, b)
        case (.numeric(let a), .numeric(let b)): return order(a, b)
        case (.integer(let a), .numeric(let b)): return order(DecimalValue(a), b)
        case (.numeric(let a), .integer(let b)): return order(a, DecimalValue(b))
        case (.date(let a), .date(let b)): return order(a, b)
        case (.timestamp(let a), .timestamp(let b)): return order(a, b)
        case (.timestamptz(let a), .timestamptz(let b)): return order(a, b)
        default: return nil
        }
    }
}

extension TimeText {
    /// `YYYY-MM-DD` of days since 2000-01-01.
    static func isoDate(_ days: Int) -> String {
        let (year, month, day) = civil(fromDays: days + postgresEpochDays)
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff]` of microseconds since 2000-01-01.
    static func isoTimestamp(_ micros: Int64) -> String {
        let perDay: Int64 = 86_400_000_000
        var days = micros / perDay, rest = micros % perDay
        if rest < 0 { days -= 1; rest += perDay }
        let seconds = rest / 1_000_000, fraction = rest % 1_000_000
        var text = isoDate(Int(days)) + " " + pad(Int(seconds / 3600), 2) + ":" + pad(Int(seconds / 60 % 60), 2) + ":" + pad(Int(seconds % 60), 2)
        if fraction > 0 {
            var digits = pad(Int(fraction), 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    /// The civil date of days since 1970-01-01 (Howard Hinnant's algorithm).
    private static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// PostgreSQL's ISO output of dates and timestamps as numbers, for code outside this module
/// that orders such values (the cross-shard merge).
public enum ISOTimeText {
    /// `YYYY-MM-DD` → days since 2000-01-01.
    public static func days(_ text: String) -> Int32? { TimeText.date(text) }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff]` (with an offset when `zone`) → microseconds since
    /// 2000-01-01 (UTC when `zone`).
    public static func micros(_ text: String, zone: Bool) -> Int64? { TimeText.timestamp(text, zone: zone) }
}
