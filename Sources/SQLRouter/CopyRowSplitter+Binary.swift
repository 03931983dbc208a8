// The binary format: the file header (signature, flags, header extension) goes to every shard;
// each tuple is an int16 field count and per field an int32 length (-1 for NULL) and the bytes;
// an int16 -1 ends the data (PostgreSQL 15's CopyFromBinaryOneRow).

/// `PGCOPY\n\377\r\n\0`.
private let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]

extension CopyRowSplitter {
    /// Reads the header, then every complete tuple from `rowStart`; a cut-off tuple is read
    /// again from its start when more bytes arrive (only its length words are walked).
    mutating func scanBinary(_ bytes: UnsafeBufferPointer<UInt8>, atEnd: Bool) throws(CopyDataError) {
        let count = bytes.count
        if !binaryHeaderRead {
            let fixed = signature.count + 8
            guard count >= fixed else {
                if atEnd { throw count >= signature.count ? .binaryHeader("missing flags") : .binarySignature() }
                return
            }
            guard bytes.prefix(signature.count).elementsEqual(signature) else { throw .binarySignature() }
            let extensionLength = Self.int32(bytes, at: signature.count + 4)
            guard extensionLength >= 0 else { throw .binaryHeader("wrong length") }
            guard count >= fixed + extensionLength else {
                if atEnd { throw .binaryHeader("wrong length") }
                return
            }
            everyShard(UnsafeBufferPointer(rebasing: bytes[..<(fixed + extensionLength)]))
            rowStart = fixed + extensionLength
            binaryHeaderRead = true
        }
        let columnCount = layout.columns.count
        while true {
            let start = rowStart
            guard count - start >= 2 else {
                if atEnd, count > start {
                    lineNumber = rowCount + 1
                    throw located(.unexpectedEnd())
                }
                return
            }
            lineNumber = rowCount + 1
            let fieldCount = Self.int16(bytes, at: start)
            if fieldCount == -1 {
                if count > start + 2 { throw located(.dataAfterEndMarker()) }
                isAtEnd = true
                rowStart = count
                return
            }
            guard fieldCount == columnCount else { throw located(.binaryFieldCount(fieldCount, expected: columnCount)) }
            var position = start + 2
            for field in 0..<fieldCount {
                guard count - position >= 4 else {
                    if atEnd { throw located(.unexpectedEnd()) }
                    return
                }
                let length = Self.int32(bytes, at: position)
                position += 4
                guard length >= -1 else { throw located(.binaryFieldSize()) }
                guard count - position >= max(length, 0) else {
                    if atEnd { throw located(.unexpectedEnd()) }
                    return
                }
                let slot = layout.keySlots[field]
                if slot >= 0 {
                    keySpans[slot] = KeySpan(start: position - start, end: position + max(length, 0) - start, marked: length == -1)
                }
                position += max(length, 0)
            }
            let tuple = UnsafeBufferPointer(rebasing: bytes[start..<position])
            let shard = try shard(ofTuple: tuple)
            pending[shard].append(contentsOf: tuple)
            rowCount += 1
            rowStart = position
        }
    }

    private static func int16(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        Int(Int16(bitPattern: UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])))
    }

    private static func int32(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let value = UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
        return Int(Int32(bitPattern: value))
    }
}
