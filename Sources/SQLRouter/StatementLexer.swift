import Foundation

/// One literal of a statement, as the lexer found it. Plain values only (a number is read
/// from the message's bytes when asked for, a string's value is kept by ``LiteralSlots``):
/// making a `String` per literal, and destroying a slot that holds one, cost a visible share
/// of a routed statement.
struct LiteralSlot: Equatable {
    enum Kind: UInt8 {
        /// Digits only.
        case integer = 0x6E  // "n"
        /// Any other number (`1.5`, `.5`, `1e3`).
        case number = 0x66  // "f"
        /// A string constant: `'…'`, `E'…'`, `$$…$$`, adjacent strings joined across newlines.
        case string = 0x73  // "s"
        /// A bit string: `B'…'`, `X'…'`.
        case bits = 0x62  // "b"
    }

    var kind: Kind
    /// Byte offset where the literal starts in the message (its `E`/`B`/`X` prefix included),
    /// which is where libpg_query locates its constant.
    var location: Int
    /// A number: where its bytes end in the message (`location..<extent`, the number as
    /// written). A string or bit string: the index of its value in ``LiteralSlots/strings``.
    var extent: Int

    var isNumber: Bool { kind == .integer || kind == .number }
}

/// The literals of a statement, in order. The first is kept apart: most statements have one
/// or two, and an array costs an allocation per statement.
struct LiteralSlots: RandomAccessCollection, Equatable {
    private var head: LiteralSlot?
    private var tail: [LiteralSlot] = []
    /// The values of the string and bit string literals, in order (the characters PostgreSQL
    /// reads: escapes resolved, continued strings joined).
    private(set) var strings: [String] = []

    var startIndex: Int { 0 }
    var endIndex: Int { head == nil ? 0 : 1 + tail.count }

    subscript(position: Int) -> LiteralSlot {
        guard position > 0 else {
            guard position == 0, let head else { preconditionFailure("literal slot \(position) out of range") }
            return head
        }
        return tail[position - 1]
    }

    mutating func append(_ slot: LiteralSlot) {
        if head == nil { head = slot } else { tail.append(slot) }
    }

    /// Appends a string or bit string literal with its value.
    mutating func append(_ kind: LiteralSlot.Kind, at location: Int, string: String) {
        append(LiteralSlot(kind: kind, location: location, extent: strings.count))
        strings.append(string)
    }

    /// The value PostgreSQL reads for the literal at `position`: the number as written, the
    /// string's characters. `text`: the message the literals were found in.
    func value(at position: Int, in text: UnsafeBufferPointer<UInt8>) -> String {
        let slot = self[position]
        guard slot.isNumber else { return strings[slot.extent] }
        return String(decoding: UnsafeBufferPointer(rebasing: text[slot.location..<slot.extent]), as: UTF8.self)
    }

    /// ``value(at:in:)`` of every literal (tests, the slow paths).
    func values(in text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in indices.map { value(at: $0, in: bytes) } }
    }
}

/// A single-statement message reduced to its shape: what the plan cache is keyed by.
struct NormalizedStatement {
    /// The tokens with whitespace runs and comments collapsed to one space, unquoted words in
    /// lower case, and every literal replaced by `\u{1}` and its kind letter. Two messages with
    /// the same key differ only in literal values, so PostgreSQL parses them the same way.
    var key: StatementShape
    var slots: LiteralSlots
    /// The statement's own text: the message without surrounding whitespace and a final `;`,
    /// as ``MessageRouting`` cuts it.
    var statement: Range<Int>
}

/// A fast Swift lexer in front of libpg_query: it follows PostgreSQL 15's scanner (scan.l) for
/// everything that decides token boundaries — string constants (standard-conforming, `E''`
/// escapes, dollar quotes, newline-separated concatenation), quoted identifiers, nested
/// comments, numbers, parameters — and answers nil (parse instead) for what it does not handle
/// with certainty: several statements, `U&''`, `N''`, octal/hex/unicode escapes in `E''`,
/// `pgshard:` hint comments, control characters, and texts over ``maxBytes``.
enum StatementLexer {
    static let maxBytes = 4096
    static let placeholder: UInt8 = 0x01

    static func normalize(_ text: String) -> NormalizedStatement? {
        var text = text
        return text.withUTF8 { buffer -> NormalizedStatement? in
            // NUL anywhere (even inside a literal) is refused by the slow path with its own error.
            guard buffer.count <= maxBytes, let base = buffer.baseAddress, memchr(base, 0, buffer.count) == nil else { return nil }
            // The key is written in place: a literal of one byte becomes two, nothing grows more.
            // Into scratch space (on the stack for most statements), then copied into an array
            // of its own size: `[UInt8](unsafeUninitializedCapacity:)` allocates through generic
            // code that looks up the array's storage type at run time.
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * buffer.count + 2) { keyBuffer -> NormalizedStatement? in
                var scan = Scan(bytes: buffer, key: keyBuffer.baseAddress!)
                guard let found = scan.run() else { return nil }
                let key = [UInt8](UnsafeBufferPointer(rebasing: keyBuffer[..<scan.keyCount]))
                return NormalizedStatement(key: StatementShape(key), slots: found.slots, statement: found.statement)
            }
        }
    }

    private struct Scan {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        /// The key so far: `keyCount` bytes at `key`, which has room for twice the text.
        let key: UnsafeMutablePointer<UInt8>
        var keyCount = 0
        var slots = LiteralSlots()
        var statementStart: Int?
        var statementEnd = 0
        var ended = false

        init(bytes: UnsafeBufferPointer<UInt8>, key: UnsafeMutablePointer<UInt8>) {
            self.bytes = bytes
            self.key = key
        }

        mutating func emit(_ byte: UInt8) {
            key[keyCount] = byte
            keyCount += 1
        }

        /// Appends the text's bytes `range` to the key as they are.
        mutating func emit(_ range: Range<Int>) {
            (key + keyCount).update(from: bytes.baseAddress! + range.lowerBound, count: range.count)
            keyCount += range.count
        }

        func at(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }

        static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
        // (`b | 0x20` maps A–Z onto a–z and nothing else onto a–z.)
        static func isIdentStart(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 || b == 0x5F || b >= 0x80 }
        @inline(__always)
        static func isIdentPart(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 || b &- 0x30 < 10 || b == 0x5F || b == 0x24 || b >= 0x80 }
        static func isDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) }
        /// For each ASCII byte: its lower case if it may continue a word (``isIdentPart(_:)``),
        /// else 0; 32 bytes a line. A static string: nothing to initialize or retain per word.
        static var identLowercase: StaticString {
            """
            \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
            \0\0\0\0$\0\0\0\0\0\0\0\0\0\0\00123456789\0\0\0\0\0\0\
            \0abcdefghijklmnopqrstuvwxyz\0\0\0\0_\
            \0abcdefghijklmnopqrstuvwxyz\0\0\0\0\0
            """
        }

        mutating func space() {
            if keyCount > 0, key[keyCount - 1] != 0x20 { emit(0x20) }
        }

        /// A token of the statement starts or ends here (for the statement's range).
        mutating func mark(_ start: Int, _ end: Int) {
            if statementStart == nil { statementStart = start }
            statementEnd = end
        }

        mutating func run() -> (slots: LiteralSlots, statement: Range<Int>)? {
            while index < bytes.count {
                let byte = bytes[index]
                if ended {
                    // Only whitespace and comments may follow the final `;`.
                    if Self.isSpace(byte) { index += 1; continue }
                    return nil
                }
                if Self.isSpace(byte) {
                    space()
                    index += 1
                    continue
                }
                if byte < 0x20 || byte == 0x7F { return nil }
                let start = index
                switch byte {
                case UInt8(ascii: "-") where at(index + 1) == UInt8(ascii: "-"):
                    while index < bytes.count, bytes[index] != 0x0A, bytes[index] != 0x0D { index += 1 }
                    guard !contains("pgshard:", in: start..<index) else { return nil }
                    mark(start, index)
                    space()
                case UInt8(ascii: "/") where at(index + 1) == UInt8(ascii: "*"):
                    var depth = 0
                    repeat {
                        if at(index) == UInt8(ascii: "/"), at(index + 1) == UInt8(ascii: "*") { depth += 1; index += 2 }
                        else if at(index) == UInt8(ascii: "*"), at(index + 1) == UInt8(ascii: "/") { depth -= 1; index += 2 }
                        else { index += 1 }
                    } while depth > 0 && index < bytes.count
                    guard depth == 0, !contains("pgshard:", in: start..<index) else { return nil }
                    mark(start, index)
                    space()
                case UInt8(ascii: "'"):
                    guard let value = quoted(escapes: false) else { return nil }
                    literal(.string, start, value)
                case UInt8(ascii: "\""):
                    index += 1
                    while true {
                        guard index < bytes.count else { return nil }
                        if bytes[index] == UInt8(ascii: "\"") {
                            if at(index + 1) == UInt8(ascii: "\"") { index += 2; continue }
                            index += 1
                            break
                        }
                        index += 1
                    }
                    emit(start..<index)
                    mark(start, index)
                case UInt8(ascii: "$"):
                    if Self.isDigit(at(index + 1)) {
                        index += 1
                        while Self.isDigit(at(index)) { index += 1 }
                        emit(start..<index)
                        mark(start, index)
                    } else {
                        guard let value = dollarQuoted() else { return nil }
                        literal(.string, start, value)
                    }
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    number()
                case UInt8(ascii: ".") where Self.isDigit(at(index + 1)):
                    number()
                case UInt8(ascii: ";"):
                    ended = true
                    index += 1
                default:
                    if Self.isIdentStart(byte) {
                        guard word() else { return nil }
                    } else {
                        emit(byte)
                        index += 1
                        mark(start, index)
                    }
                }
            }
            guard let statementStart else { return nil }
            while keyCount > 0, key[keyCount - 1] == 0x20 { keyCount -= 1 }
            return (slots, statementStart..<statementEnd)
        }

        func contains(_ needle: StaticString, in range: Range<Int>) -> Bool {
            let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
            guard range.count >= pattern.count else { return false }
            for start in range.lowerBound...(range.upperBound - pattern.count) {
                if (0..<pattern.count).allSatisfy({ bytes[start + $0] == pattern[$0] }) { return true }
            }
            return false
        }

        /// A string or bit string literal from `start` to the cursor.
        mutating func literal(_ kind: LiteralSlot.Kind, _ start: Int, _ value: String) {
            emit(StatementLexer.placeholder)
            emit(kind.rawValue)
            slots.append(kind, at: start, string: value)
            mark(start, index)
        }

        /// A word, or a prefixed string (`E'…'`, `B'…'`, `X'…'`). False for forms not handled.
        mutating func word() -> Bool {
            let start = index
            // Copied to the key in lower case as it is scanned (in locals: this loop sees most
            // bytes of most statements); kept only if the word is not a string's prefix.
            // A table gives each ASCII byte's lower case, 0 for those that end a word.
            let base = bytes.baseAddress!, count = bytes.count
            let table = Self.identLowercase.utf8Start
            var end = start
            var out = key + keyCount
            while end < count {
                let b = base[end]
                let lower = b < 0x80 ? table[Int(b)] : b
                guard lower != 0 else { break }
                out.pointee = lower
                out += 1
                end &+= 1
            }
            index = end
            if at(index) == UInt8(ascii: "'"), index - start == 1 {
                switch bytes[start] | 0x20 {
                case UInt8(ascii: "e"):
                    guard let value = quoted(escapes: true) else { return false }
                    literal(.string, start, value)
                    return true
                case UInt8(ascii: "b"), UInt8(ascii: "x"):
                    guard let value = quoted(escapes: false) else { return false }
                    literal(.bits, start, value)
                    return true
                default:
                    return false  // N'…' and others: not handled here
                }
            }
            if at(index) == UInt8(ascii: "&"), index - start == 1, bytes[start] | 0x20 == UInt8(ascii: "u") { return false }
            keyCount += end - start
            mark(start, index)
            return true
        }

        /// A number: digits, an optional fraction, an optional exponent (PostgreSQL 15 rules;
        /// `1e` is `1` followed by `e`).
        mutating func number() {
            let start = index
            var isInteger = true
            while Self.isDigit(at(index)) { index += 1 }
            if at(index) == UInt8(ascii: "."), at(index + 1) != UInt8(ascii: ".") {
                isInteger = false
                index += 1
                while Self.isDigit(at(index)) { index += 1 }
            }
            if at(index) | 0x20 == UInt8(ascii: "e") {
                var next = index + 1
                if at(next) == UInt8(ascii: "+") || at(next) == UInt8(ascii: "-") { next += 1 }
                if Self.isDigit(at(next)) {
                    isInteger = false
                    index = next
                    while Self.isDigit(at(index)) { index += 1 }
                }
            }
            let kind: LiteralSlot.Kind = isInteger ? .integer : .number
            emit(StatementLexer.placeholder)
            emit(kind.rawValue)
            // No value made here: it is the bytes as written (LiteralSlots.value(at:in:)).
            slots.append(LiteralSlot(kind: kind, location: start, extent: index))
            mark(start, index)
        }

        /// A `'…'` string (the cursor on the quote), and any strings that continue it after
        /// whitespace holding a newline. `escapes`: an `E''` string's backslash escapes.
        mutating func quoted(escapes: Bool) -> String? {
            var value: [UInt8] = []
            while true {
                index += 1
                while true {
                    guard index < bytes.count else { return nil }
                    let b = bytes[index]
                    if b == UInt8(ascii: "'") {
                        if at(index + 1) == UInt8(ascii: "'") { value.append(b); index += 2; continue }
                        index += 1
                        break
                    }
                    if escapes, b == UInt8(ascii: "\\") {
                        let next = at(index + 1)
                        switch next {
                        case UInt8(ascii: "b"): value.append(0x08)
                        case UInt8(ascii: "f"): value.append(0x0C)
                        case UInt8(ascii: "n"): value.append(0x0A)
                        case UInt8(ascii: "r"): value.append(0x0D)
                        case UInt8(ascii: "t"): value.append(0x09)
                        case UInt8(ascii: "0")...UInt8(ascii: "7"), UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"), 0:
                            return nil
                        default: value.append(next)
                        }
                        index += 2
                        continue
                    }
                    value.append(b)
                    index += 1
                }
                // SQL joins string constants separated by whitespace with a newline.
                var look = index, newline = false
                while look < bytes.count, Self.isSpace(bytes[look]) {
                    if bytes[look] == 0x0A || bytes[look] == 0x0D { newline = true }
                    look += 1
                }
                guard newline, at(look) == UInt8(ascii: "'") else { break }
                index = look
            }
            return String(validating: value, as: UTF8.self)
        }

        /// `$tag$…$tag$` (the cursor on the first `$`).
        mutating func dollarQuoted() -> String? {
            var end = index + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "$") {
                guard Self.isIdentPart(bytes[end]) else { return nil }
                end += 1
            }
            guard end < bytes.count else { return nil }
            let tag = Array(bytes[index...end])
            var search = end + 1
            while search + tag.count <= bytes.count {
                if bytes[search] == UInt8(ascii: "$"), (0..<tag.count).allSatisfy({ bytes[search + $0] == tag[$0] }) {
                    let value = String(validating: bytes[(end + 1)..<search], as: UTF8.self)
                    index = search + tag.count
                    return value
                }
                search += 1
            }
            return nil
        }
    }
}

/// A statement's shape (``NormalizedStatement/key``) as the plan cache's key: the bytes, and a
/// hash of them computed once (hashing the text as a `String` cost more than lexing it).
struct StatementShape: Hashable, Sendable {
    let bytes: [UInt8]
    private let hash: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        hash = Self.hash(bytes)
    }

    /// The shape as text (tests, logs).
    var text: String { String(decoding: bytes, as: UTF8.self) }

    static func == (a: StatementShape, b: StatementShape) -> Bool {
        guard a.hash == b.hash, a.bytes.count == b.bytes.count else { return false }
        return a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// What `Dictionary` asks for (the plan cache looks up every statement): the stored hash
    /// mixed with the table's seed by a 64-bit finalizer (MurmurHash3's), instead of a
    /// `Hasher` run over it — a Hasher costs more than the rest of the lookup.
    func _rawHashValue(seed: Int) -> Int {
        var x = UInt64(truncatingIfNeeded: hash ^ seed)
        x = (x ^ (x >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        x = (x ^ (x >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return Int(truncatingIfNeeded: x ^ (x >> 33))
    }

    /// Eight bytes at a time, multiplied and folded (the dictionary's own hashing mixes it
    /// further).
    private static func hash(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { raw in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(raw.count)
            var offset = 0
            while offset + 8 <= raw.count {
                h = (h ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
                h ^= h >> 29
                offset += 8
            }
            while offset < raw.count {
                h = (h ^ UInt64(raw[offset])) &* 0x100_0000_01B3
                offset += 1
            }
            return Int(truncatingIfNeeded: h)
        }
    }
}
