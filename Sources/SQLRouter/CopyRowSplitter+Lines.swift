// The text and CSV formats: rows are lines, found as PostgreSQL 15's CopyReadLineText finds
// them; fields are split at delimiters outside quotes (CSV) or not escaped (text).

private let lf = UInt8(ascii: "\n")
private let cr = UInt8(ascii: "\r")
private let backslash = UInt8(ascii: "\\")
private let dot = UInt8(ascii: ".")

extension CopyRowSplitter {
    /// Scans from `scanIndex`; stops at the end of the bytes or where a decision needs bytes
    /// that have not arrived (a line break after `\r`, the `\.` marker, a UTF-8 sequence).
    mutating func scanLines(_ bytes: UnsafeBufferPointer<UInt8>, atEnd: Bool) throws(CopyDataError) {
        let count = bytes.count
        let csv = layout.options.format == .csv
        let delimiter = layout.options.delimiter
        let quote = layout.options.quote
        // PostgreSQL ignores the escape character when it is the quote character.
        let escape: UInt8? = csv && layout.options.escape != quote ? layout.options.escape : nil
        var i = scanIndex
        defer { scanIndex = i }
        try special.withUnsafeBufferPointer { special throws(CopyDataError) in
            scanning: while i < count, !isAtEnd {
                while i < count, !special[Int(bytes[i])] { i += 1 }
                guard i < count else { break }
                let c = bytes[i]
                if c >= 0x80 || c == 0 {
                    guard validatesUTF8 else {
                        i += 1
                        continue
                    }
                    guard let length = try utf8Sequence(bytes, at: i, atEnd: atEnd) else { break scanning }
                    i += length
                    continue
                }
                if csv {
                    if inQuote {
                        if c == escape {
                            // An escape takes the next quote or escape as data.
                            guard i + 1 < count else {
                                if atEnd { i += 1; continue }
                                break scanning
                            }
                            i += bytes[i + 1] == quote || bytes[i + 1] == escape ? 2 : 1
                            continue
                        }
                        if c == quote {
                            inQuote = false
                        } else if c == (lineEnd == .lf ? lf : cr) {
                            // PostgreSQL counts quoted line breaks as lines (of the first line's kind).
                            lineNumber += 1
                        }
                        i += 1
                        continue
                    }
                    if c == quote {
                        inQuote = true
                        fieldQuoted = true
                        i += 1
                        continue
                    }
                }
                switch c {
                case lf:
                    if lineEnd == .cr || lineEnd == .crlf { throw located(.literalNewline(csv: csv)) }
                    lineEnd = .lf
                    endField(at: i)
                    try endRow(bytes, contentEnd: i, next: i + 1)
                    i += 1
                case cr:
                    var next = i + 1
                    if lineEnd == .unknown || lineEnd == .crlf {
                        guard i + 1 < count || atEnd else { break scanning }
                        if i + 1 < count, bytes[i + 1] == lf {
                            lineEnd = .crlf
                            next = i + 2
                        } else if lineEnd == .crlf {
                            throw located(.literalCarriageReturn(csv: csv))
                        } else {
                            lineEnd = .cr
                        }
                    } else if lineEnd == .lf {
                        throw located(.literalCarriageReturn(csv: csv))
                    }
                    endField(at: i)
                    try endRow(bytes, contentEnd: i, next: next)
                    i = next
                case delimiter:
                    endField(at: i)
                    fieldIndex += 1
                    fieldStart = i + 1
                    i += 1
                case backslash where !csv:
                    guard i + 1 < count else {
                        if atEnd { i += 1; continue }
                        break scanning
                    }
                    if bytes[i + 1] == dot {
                        guard let marker = try endMarker(bytes, at: i, atEnd: atEnd) else { break scanning }
                        if marker {
                            // The bytes before `\.` on its line are the last row.
                            if i > rowStart {
                                endField(at: i)
                                try endRow(bytes, contentEnd: i, next: i)
                            }
                            isAtEnd = true
                            break scanning
                        }
                    }
                    fieldQuoted = true
                    // The escaped byte is data; a non-ASCII one is checked as part of its sequence.
                    i += bytes[i + 1] >= 0x80 || bytes[i + 1] == 0 ? 1 : 2
                case backslash where i == rowStart:
                    // CSV: `\.` alone on a line ends the data.
                    guard i + 1 < count || atEnd else { break scanning }
                    if i + 1 < count, bytes[i + 1] == dot {
                        guard let marker = try endMarker(bytes, at: i, atEnd: atEnd) else { break scanning }
                        if marker {
                            isAtEnd = true
                            break scanning
                        }
                    }
                    i += 1
                default:
                    i += 1
                }
            }
        }
        if isAtEnd { rowStart = count }
    }

    /// Whether the `\.` at `at` ends the data: it must be followed by a line break or the end of
    /// the data. Nil: the next byte has not arrived. Text format: anything else is an error;
    /// CSV: it is data.
    private func endMarker(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, atEnd: Bool) throws(CopyDataError) -> Bool? {
        let after = index + 2
        guard after < bytes.count else { return atEnd ? true : nil }
        if bytes[after] == lf || bytes[after] == cr { return true }
        if layout.options.format == .csv { return false }
        throw located(.endMarkerCorrupt())
    }

    /// The field ending at `end`: remember it if it is a key column.
    mutating func endField(at end: Int) {
        if fieldIndex < layout.keySlots.count, case let slot = layout.keySlots[fieldIndex], slot >= 0 {
            keySpans[slot] = KeySpan(start: fieldStart - rowStart, end: end - rowStart, marked: fieldQuoted)
        }
        fieldQuoted = false
    }

    /// A whole line ends at `contentEnd` (its line break runs to `next`): the header goes to
    /// every shard, a row to its own.
    mutating func endRow(_ bytes: UnsafeBufferPointer<UInt8>, contentEnd: Int, next: Int) throws(CopyDataError) {
        if headerPending {
            headerPending = false
            everyShard(UnsafeBufferPointer(rebasing: bytes[rowStart..<next]))
        } else {
            let columnCount = layout.columns.count
            if columnCount == 0 ? contentEnd > rowStart : fieldIndex >= columnCount {
                throw lineError(.extraData(), bytes, contentEnd: contentEnd)
            }
            if fieldIndex + 1 < columnCount {
                throw lineError(.missingData(column: layout.columns[fieldIndex + 1]), bytes, contentEnd: contentEnd)
            }
            let row = UnsafeBufferPointer(rebasing: bytes[rowStart..<contentEnd])
            let shard = try shard(ofLine: row)
            pending[shard].append(contentsOf: UnsafeBufferPointer(rebasing: bytes[rowStart..<next]))
            rowCount += 1
        }
        lineNumber += 1
        rowStart = next
        fieldStart = next
        fieldIndex = 0
        fieldQuoted = false
    }

    /// The length of the valid UTF-8 sequence at `index`; nil when it is cut off by the end of
    /// the bytes so far. Throws for invalid bytes (PostgreSQL's `pg_utf8_islegal`, and NUL).
    private func utf8Sequence(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, atEnd: Bool) throws(CopyDataError) -> Int? {
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default:
            throw located(.invalidEncoding([lead]))
        }
        let available = min(length, bytes.count - index)
        // Each byte that arrived must fit before waiting for the rest.
        for offset in 1..<max(available, 1) {
            let byte = bytes[index + offset]
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            if offset == 1 {
                switch lead {
                case 0xE0: low = 0xA0
                case 0xED: high = 0x9F
                case 0xF0: low = 0x90
                case 0xF4: high = 0x8F
                default: break
                }
            }
            guard byte >= low, byte <= high else {
                throw located(.invalidEncoding(UnsafeBufferPointer(rebasing: bytes[index..<(index + available)])))
            }
        }
        guard available == length else {
            if atEnd { throw located(.invalidEncoding(UnsafeBufferPointer(rebasing: bytes[index..<(index + available)]))) }
            return nil
        }
        return length
    }

    /// `error` in the context of the line being read: `COPY t, line N`.
    func located(_ error: CopyDataError) -> CopyDataError {
        var error = error
        error.context = "COPY \(layout.table), line \(lineNumber)"
        return error
    }

    /// `error` in the context of a whole line, shown as PostgreSQL shows it: `COPY t, line N: "…"`.
    func lineError(_ error: CopyDataError, _ bytes: UnsafeBufferPointer<UInt8>, contentEnd: Int) -> CopyDataError {
        var error = error
        let line = Self.printable(UnsafeBufferPointer(rebasing: bytes[rowStart..<contentEnd]))
        error.context = "COPY \(layout.table), line \(lineNumber): \"\(line)\""
        return error
    }

    /// PostgreSQL's `limit_printout_length`: at most 100 bytes (whole characters), then `...`.
    static func printable(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let limit = 100
        guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
        var end = limit
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[..<end]), as: UTF8.self) + "..."
    }
}
