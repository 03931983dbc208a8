import Sharding

/// Splits the data of a `COPY … FROM STDIN` into a sharded table by shard: fed the client's
/// CopyData payloads as they come (a row may span payloads, a payload may hold many rows), it
/// finds each row's end and key fields, places the row with the table's sharding function and
/// appends the row's bytes, unchanged, to its shard's pending output. The session sends each
/// shard's pending bytes as CopyData.
///
/// Rows are found as PostgreSQL 15's `CopyReadLineText` finds them (text: backslash escapes,
/// `\.` ends the data; CSV: quotes, the escape character, quoted line breaks, `\.` alone on a
/// line; `\n`, `\r\n` or `\r` line ends, as the first line sets them), and binary tuples as
/// `CopyFromBinaryOneRow` reads them. A CSV or text header line and the binary file header go
/// to every shard. Line numbers count as PostgreSQL's do, so errors name the client's line.
///
/// Pure: no I/O. One instance per COPY.
public struct CopyRowSplitter {
    public let layout: CopyLayout
    /// The shards taking part (they all get the header).
    let shards: [Int]
    /// Validate the data as UTF-8, as PostgreSQL does for a UTF8 client encoding.
    let validatesUTF8: Bool
    /// Each shard's rows not yet taken by ``takePending(_:_:)``.
    var pending: [[UInt8]]
    /// Unconsumed input: `buffer[rowStart...]` is the row being read, scanned up to `scanIndex`.
    var buffer: [UInt8] = []
    var rowStart = 0
    var scanIndex = 0
    /// The field being read in the current row, and where it started.
    var fieldIndex = 0
    var fieldStart = 0
    /// CSV: the current field had a quote; text: it had a backslash.
    var fieldQuoted = false
    var inQuote = false
    /// Where each key field of the current row lies, relative to `rowStart`.
    var keySpans: [KeySpan]
    var lineEnd = LineEnd.unknown
    var headerPending: Bool
    var binaryHeaderRead = false
    /// One slot per key column, reused for every row.
    var keyValues: [ShardKeyValue?]
    /// Bytes that need a look in the text/CSV scan (line ends, delimiter, quote, escape,
    /// backslash, non-ASCII, NUL): everything else is skipped fast.
    let special: [Bool]

    /// The line PostgreSQL would report for the row being read (text/CSV: physical lines
    /// including the header and CSV's quoted line breaks; binary: the tuple's number).
    public internal(set) var lineNumber: Int
    /// Rows placed so far (header lines not counted).
    public internal(set) var rowCount = 0
    /// The end of the data was seen (`\.`, or binary's trailer): the rest is ignored.
    public internal(set) var isAtEnd = false

    /// Where one key field lies in its row.
    struct KeySpan {
        var start = 0
        var end = 0
        /// CSV: quoted (never the NULL string unless FORCE_NULL); text: has a backslash escape.
        var marked = false
    }

    /// The line ending the first line sets; the others must use the same.
    enum LineEnd { case unknown, lf, cr, crlf }

    /// A splitter for one COPY. `shardCount`: the schema's shards (indexes of `pending`);
    /// `shards`: those taking part.
    public init(layout: CopyLayout, shardCount: Int, shards: [Int], validatesUTF8: Bool) {
        self.layout = layout
        self.shards = shards
        self.validatesUTF8 = validatesUTF8
        self.pending = Array(repeating: [], count: shardCount)
        self.keySpans = Array(repeating: KeySpan(), count: layout.keyPositions.count)
        self.keyValues = Array(repeating: nil, count: layout.keyPositions.count)
        self.headerPending = layout.options.header
        self.lineNumber = layout.options.format == .binary ? 0 : 1
        var special = Array(repeating: false, count: 256)
        for byte in 128..<256 { special[byte] = true }
        special[0] = true
        special[Int(UInt8(ascii: "\n"))] = true
        special[Int(UInt8(ascii: "\r"))] = true
        special[Int(UInt8(ascii: "\\"))] = true
        special[Int(layout.options.delimiter)] = true
        if layout.options.format == .csv {
            special[Int(layout.options.quote)] = true
            special[Int(layout.options.escape)] = true
        }
        self.special = special
    }

    /// Reads one chunk of client data; complete rows go to their shards' pending bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(CopyDataError) {
        if isAtEnd {
            if layout.options.format == .binary, !bytes.isEmpty { throw located(.dataAfterEndMarker()) }
            return
        }
        buffer.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
        try scan(atEnd: false)
        compact()
    }

    /// The client sent CopyDone: the last row may end without a line break; the binary
    /// trailer goes to every shard.
    public mutating func finish() throws(CopyDataError) {
        if !isAtEnd { try scan(atEnd: true) }
        if layout.options.format == .binary {
            if !binaryHeaderRead { throw .binarySignature() }
            everyShard([0xFF, 0xFF])
        }
        isAtEnd = true
        buffer = []
    }

    /// The bytes waiting for `shard`.
    public func pendingCount(_ shard: Int) -> Int { pending[shard].count }

    /// Hands `shard`'s waiting bytes to `body` (which copies them out) and clears them.
    public mutating func takePending(_ shard: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard !pending[shard].isEmpty else { return }
        pending[shard].withUnsafeBytes(body)
        pending[shard].removeAll(keepingCapacity: true)
    }

    private mutating func scan(atEnd: Bool) throws(CopyDataError) {
        // The buffer is moved out while it is read, so the scan can update the rest of `self`.
        var input = buffer
        buffer = []
        defer { buffer = input }
        try input.withUnsafeBufferPointer { bytes throws(CopyDataError) in
            if layout.options.format == .binary {
                try scanBinary(bytes, atEnd: atEnd)
            } else {
                try scanLines(bytes, atEnd: atEnd)
                if atEnd, !isAtEnd, rowStart < bytes.count { try endOfDataRow(bytes) }
            }
        }
    }

    /// Drops the consumed rows, keeping the partial one.
    private mutating func compact() {
        guard rowStart > 0 else { return }
        if isAtEnd {
            buffer = []
        } else {
            buffer.removeSubrange(0..<rowStart)
        }
        scanIndex = max(0, scanIndex - rowStart)
        fieldStart = max(0, fieldStart - rowStart)
        rowStart = 0
    }

    /// The data ended inside a row (no line break after the last line).
    private mutating func endOfDataRow(_ bytes: UnsafeBufferPointer<UInt8>) throws(CopyDataError) {
        if inQuote { throw located(.unterminatedQuote()) }
        endField(at: bytes.count)
        try endRow(bytes, contentEnd: bytes.count, next: bytes.count)
    }

    /// Appends bytes to the pending output of every shard taking part.
    mutating func everyShard(_ bytes: UnsafeBufferPointer<UInt8>) {
        for shard in shards { pending[shard].append(contentsOf: bytes) }
    }

    mutating func everyShard(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { everyShard($0) }
    }
}
