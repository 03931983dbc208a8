/// PostgreSQL's text form of an array (`{1,2,"a b",NULL}`), as far as routing reads it.
enum ArrayText {
    /// The elements of a one- or multi-dimensional array literal, flattened in order; nil for
    /// anything this reader does not handle exactly (dimension decorations `[1:2]=`, unbalanced
    /// braces, text after the closing brace). Unquoted `NULL` (any case) is SQL NULL.
    static func elements(_ text: String) -> [String?]? {
        let bytes = Array(text.utf8)
        var index = 0
        func skipSpace() {
            while index < bytes.count, MessageText.isWhitespace(bytes[index]) { index += 1 }
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        var elements: [String?] = []
        var depth = 0
        var expectElement = true
        while index < bytes.count {
            skipSpace()
            guard index < bytes.count else { return nil }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                guard expectElement else { return nil }
                depth += 1
                index += 1
            case UInt8(ascii: "}"):
                guard depth > 0 else { return nil }
                depth -= 1
                index += 1
                expectElement = false
                if depth == 0 {
                    skipSpace()
                    return index == bytes.count ? elements : nil
                }
            case UInt8(ascii: ","):
                guard !expectElement else { return nil }
                expectElement = true
                index += 1
            case UInt8(ascii: "\""):
                guard expectElement else { return nil }
                index += 1
                var value: [UInt8] = []
                var closed = false
                while index < bytes.count {
                    let c = bytes[index]
                    if c == UInt8(ascii: "\\") {
                        index += 1
                        guard index < bytes.count else { return nil }
                        value.append(bytes[index])
                    } else if c == UInt8(ascii: "\"") {
                        closed = true
                        index += 1
                        break
                    } else {
                        value.append(c)
                    }
                    index += 1
                }
                guard closed else { return nil }
                elements.append(String(decoding: value, as: UTF8.self))
                expectElement = false
            default:
                guard expectElement else { return nil }
                var value: [UInt8] = []
                while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}") {
                    let c = bytes[index]
                    guard c != UInt8(ascii: "\\"), c != UInt8(ascii: "\""), c != UInt8(ascii: "{") else { return nil }
                    value.append(c)
                    index += 1
                }
                while let last = value.last, MessageText.isWhitespace(last) { value.removeLast() }
                let element = String(decoding: value, as: UTF8.self)
                elements.append(element.lowercased() == "null" ? nil : element)
                expectElement = false
            }
        }
        return nil
    }
}
