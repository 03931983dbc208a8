/// A coarse tokenizer for the few places routing reads SQL text itself (hint comments, the rows
/// of a multi-row INSERT): it follows PostgreSQL's scanner for what must never be misread —
/// string constants (`'…'`, `E'…'` with backslash escapes), quoted identifiers, dollar-quoted
/// strings, `--` and nested `/* */` comments — and reports the rest as words and single bytes.
enum SQLScanner {
    enum Token {
        /// A comment's body (without `--`, `/*`, `*/`).
        case comment(Range<Int>)
        /// A string constant, quoted identifier or dollar-quoted string, quotes included.
        case quoted(Range<Int>)
        /// Letters, digits, `_`, `$` and non-ASCII bytes.
        case word(Range<Int>)
        /// Any other byte (operators, punctuation), whitespace excluded.
        case symbol(UInt8, at: Int)
    }

    static func scan(_ bytes: [UInt8], _ visit: (Token) -> Void) {
        var index = 0
        let count = bytes.count
        func at(_ i: Int) -> UInt8 { i < count ? bytes[i] : 0 }
        while index < count {
            let byte = bytes[index]
            let start = index
            switch byte {
            case UInt8(ascii: "'"):
                let escapes = index > 0 && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                    && (index < 2 || !isWordByte(bytes[index - 2]))
                index += 1
                while index < count {
                    if escapes, bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
                    if bytes[index] == UInt8(ascii: "'") {
                        if at(index + 1) == UInt8(ascii: "'") { index += 2; continue }
                        break
                    }
                    index += 1
                }
                index = min(index + 1, count)
                visit(.quoted(start..<index))
            case UInt8(ascii: "\""):
                index += 1
                while index < count {
                    if bytes[index] == UInt8(ascii: "\"") {
                        if at(index + 1) == UInt8(ascii: "\"") { index += 2; continue }
                        break
                    }
                    index += 1
                }
                index = min(index + 1, count)
                visit(.quoted(start..<index))
            case UInt8(ascii: "$") where index == 0 || !isWordByte(bytes[index - 1]):
                // $tag$ … $tag$ (the tag does not start with a digit); `$1` is a parameter.
                var end = index + 1
                while end < count, isWordByte(bytes[end]), bytes[end] != UInt8(ascii: "$") { end += 1 }
                guard end < count, bytes[end] == UInt8(ascii: "$"),
                      end == index + 1 || !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1])
                else {
                    index = end
                    visit(.word(start..<end))
                    continue
                }
                let tag = bytes[index...end]
                var search = end + 1
                index = count
                while search + tag.count <= count {
                    if bytes[search] == UInt8(ascii: "$"), bytes[search..<search + tag.count].elementsEqual(tag) {
                        index = search + tag.count
                        break
                    }
                    search += 1
                }
                visit(.quoted(start..<index))
            case UInt8(ascii: "-") where at(index + 1) == UInt8(ascii: "-"):
                index += 2
                while index < count, bytes[index] != UInt8(ascii: "\n"), bytes[index] != UInt8(ascii: "\r") { index += 1 }
                visit(.comment(start + 2..<index))
            case UInt8(ascii: "/") where at(index + 1) == UInt8(ascii: "*"):
                var depth = 1
                index += 2
                while index < count, depth > 0 {
                    if bytes[index] == UInt8(ascii: "/"), at(index + 1) == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "*"), at(index + 1) == UInt8(ascii: "/") {
                        depth -= 1
                        index += 2
                    } else {
                        index += 1
                    }
                }
                visit(.comment(start + 2..<max(start + 2, depth == 0 ? index - 2 : count)))
            default:
                if MessageText.isWhitespace(byte) {
                    index += 1
                } else if isWordByte(byte) {
                    while index < count, isWordByte(bytes[index]) { index += 1 }
                    visit(.word(start..<index))
                } else {
                    index += 1
                    visit(.symbol(byte, at: start))
                }
            }
        }
    }

    /// The comment bodies of a text.
    static func comments(in bytes: [UInt8]) -> [Substring] {
        var result: [Substring] = []
        scan(bytes) { token in
            if case .comment(let range) = token {
                result.append(Substring(String(decoding: bytes[range], as: UTF8.self)))
            }
        }
        return result
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "$"), 0x80...0xFF:
            true
        default:
            false
        }
    }
}
