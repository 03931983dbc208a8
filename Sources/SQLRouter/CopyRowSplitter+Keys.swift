import Sharding

// Reading the key fields of a row and placing it: NULL as the format defines it, de-escaping
// (text) and unquoting (CSV) only when the field needs it, then the key type's parser and the
// table's sharding function — the same ones the router uses for INSERT.

extension CopyRowSplitter {
    /// The shard of the text or CSV line `row` (without its line break), whose key spans were
    /// recorded by the scan.
    mutating func shard(ofLine row: UnsafeBufferPointer<UInt8>) throws(CopyDataError) -> Int {
        let csv = layout.options.format == .csv
        for slot in keySpans.indices {
            let span = keySpans[slot]
            let raw = UnsafeBufferPointer(rebasing: row[span.start..<span.end])
            var isNull = false
            if csv {
                isNull = !span.marked && !layout.keyForceNotNull[slot] && Self.equal(raw, layout.options.null)
            } else {
                isNull = Self.equal(raw, layout.options.null)
            }
            if !isNull, span.marked {
                let decoded = csv ? Self.unquoteCSV(raw, quote: layout.options.quote, escape: layout.options.escape)
                                  : Self.unescapeText(raw)
                if csv, layout.keyForceNull[slot], decoded == layout.options.null {
                    isNull = true
                } else {
                    keyValues[slot] = try keyValue(slot, decoded)
                    continue
                }
            }
            if isNull {
                if layout.keyNotNull[slot] {
                    throw lineError(.nullKey(column: layout.key.keyColumns[slot], table: layout.table), row)
                }
                keyValues[slot] = nil
            } else {
                keyValues[slot] = try keyValue(slot, raw)
            }
        }
        return try place { lineError($0, row) }
    }

    /// The shard of a binary tuple whose key spans were recorded (a marked span is NULL).
    mutating func shard(ofTuple tuple: UnsafeBufferPointer<UInt8>) throws(CopyDataError) -> Int {
        for slot in keySpans.indices {
            let span = keySpans[slot]
            if span.marked {
                if layout.keyNotNull[slot] { throw located(.nullKey(column: layout.key.keyColumns[slot], table: layout.table)) }
                keyValues[slot] = nil
                continue
            }
            let raw = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: tuple[span.start..<span.end]))
            guard let value = layout.key.keyTypes[slot].decodeBinary(raw) else {
                throw columnError(.incorrectBinaryFormat(), slot: slot, value: nil)
            }
            keyValues[slot] = value
        }
        return try place { located($0) }
    }

    /// The key value of column `slot` from its (de-escaped) text.
    private func keyValue(_ slot: Int, _ text: UnsafeBufferPointer<UInt8>) throws(CopyDataError) -> ShardKeyValue {
        guard let string = String(validating: text, as: UTF8.self) else {
            throw columnError(.invalidEncoding(text.prefix(1)), slot: slot, value: nil)
        }
        let type = layout.key.keyTypes[slot]
        guard let value = type.parse(string) else {
            throw columnError(type.hasExactParser ? .invalidKey(string, type: type) : .unreadableKey(string, type: type),
                              slot: slot, value: string)
        }
        return value
    }

    private func keyValue(_ slot: Int, _ text: [UInt8]) throws(CopyDataError) -> ShardKeyValue {
        try text.withUnsafeBufferPointer { bytes throws(CopyDataError) in try keyValue(slot, bytes) }
    }

    /// The shard of the key in `keyValues`.
    private func place(_ locate: (CopyDataError) -> CopyDataError) throws(CopyDataError) -> Int {
        switch layout.key.function.shard(for: keyValues) {
        case .success(let shard):
            guard shards.contains(shard) else {
                throw locate(CopyDataError("XX000", "the sharding function placed a row on shard \(shard), which is not part of this COPY"))
            }
            return shard
        case .failure(let error):
            throw locate(.placement(.noShardForKey(table: layout.table, key: layout.key, error)))
        }
    }

    /// `error` about key column `slot`: `COPY t, line N, column c: "value"` (binary: no value).
    private func columnError(_ error: CopyDataError, slot: Int, value: String?) -> CopyDataError {
        var error = error
        let column = layout.key.keyColumns[slot]
        error.context = "COPY \(layout.table), line \(lineNumber), column \(column)"
        if let value {
            error.context += ": \"" + Array(value.utf8).withUnsafeBufferPointer { Self.printable($0) } + "\""
        }
        return error
    }

    /// `error` about the whole line `row`.
    private func lineError(_ error: CopyDataError, _ row: UnsafeBufferPointer<UInt8>) -> CopyDataError {
        var error = error
        error.context = "COPY \(layout.table), line \(lineNumber): \"\(Self.printable(row))\""
        return error
    }

    private static func equal(_ field: UnsafeBufferPointer<UInt8>, _ text: [UInt8]) -> Bool {
        field.count == text.count && field.elementsEqual(text)
    }

    /// A text-format field with its backslash escapes decoded (PostgreSQL's
    /// `CopyReadAttributesText`): `\b \f \n \r \t \v`, octal `\ooo`, hex `\xhh`, and any other
    /// character taken as itself.
    static func unescapeText(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func digit(_ byte: UInt8, radix: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9") where byte - UInt8(ascii: "0") < radix: byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while i < raw.count {
            let c = raw[i]
            i += 1
            guard c == UInt8(ascii: "\\"), i < raw.count else {
                out.append(c)
                continue
            }
            let escaped = raw[i]
            i += 1
            switch escaped {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = escaped - UInt8(ascii: "0")
                for _ in 0..<2 {
                    guard i < raw.count, let d = digit(raw[i], radix: 8) else { break }
                    value = value &* 8 &+ d
                    i += 1
                }
                out.append(value)
            case UInt8(ascii: "x"):
                guard i < raw.count, var value = digit(raw[i], radix: 16) else {
                    out.append(escaped)
                    continue
                }
                i += 1
                if i < raw.count, let d = digit(raw[i], radix: 16) {
                    value = value * 16 + d
                    i += 1
                }
                out.append(value)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "v"): out.append(11)
            default: out.append(escaped)
            }
        }
        return out
    }

    /// A quoted CSV field's value (PostgreSQL's `CopyReadAttributesCSV`): quotes removed, an
    /// escape before a quote or an escape inside quotes taken as data.
    static func unquoteCSV(_ raw: UnsafeBufferPointer<UInt8>, quote: UInt8, escape: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var inQuote = false
        var i = 0
        while i < raw.count {
            let c = raw[i]
            i += 1
            if !inQuote {
                if c == quote { inQuote = true } else { out.append(c) }
                continue
            }
            if c == escape, i < raw.count, raw[i] == escape || raw[i] == quote {
                out.append(raw[i])
                i += 1
            } else if c == quote {
                inQuote = false
            } else {
                out.append(c)
            }
        }
        return out
    }
}
