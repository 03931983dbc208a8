#if canImport(Glibc)
import Glibc
#endif

/// A cursor over the body of one message, valid only inside the `withUnsafeBufferPointer`
/// call of the decoder that made it.
///
/// Integers are big-endian (network order), strings are NUL-terminated UTF-8. Every read
/// checks the remaining length, so a body that is too short becomes a `PayloadError`
/// rather than a read past the message into the next one.
struct ByteReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var index: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var remaining: Int { self.bytes.endIndex - self.index }

    mutating func readUInt8(_ field: StaticString) throws(PayloadError) -> UInt8 {
        try self.require(1, field)
        defer { self.index += 1 }
        return self.bytes[self.index]
    }

    mutating func readUInt16(_ field: StaticString) throws(PayloadError) -> UInt16 {
        try self.require(2, field)
        defer { self.index += 2 }
        return UInt16(self.bytes[self.index]) << 8 | UInt16(self.bytes[self.index + 1])
    }

    mutating func readInt16(_ field: StaticString) throws(PayloadError) -> Int16 {
        Int16(bitPattern: try self.readUInt16(field))
    }

    mutating func readUInt32(_ field: StaticString) throws(PayloadError) -> UInt32 {
        try self.require(4, field)
        defer { self.index += 4 }
        return Self.uint32(self.bytes, at: self.index)
    }

    mutating func readInt32(_ field: StaticString) throws(PayloadError) -> Int32 {
        Int32(bitPattern: try self.readUInt32(field))
    }

    /// Reads `count` 16-bit integers (format codes) preceded by nothing; the caller read the count.
    mutating func readInt16Array(count: Int, _ field: StaticString) throws(PayloadError) -> [Int16] {
        try self.require(count * 2, field)
        // None (parameter formats: all text) and one (result formats) are the usual counts.
        switch count {
        case 0: return []
        case 1:
            defer { self.index += 2 }
            return [Int16(bitPattern: UInt16(self.bytes[self.index]) << 8 | UInt16(self.bytes[self.index + 1]))]
        default: break
        }
        var result = [Int16]()
        result.reserveCapacity(count)
        for _ in 0..<count {
            result.append(Int16(bitPattern: UInt16(self.bytes[self.index]) << 8 | UInt16(self.bytes[self.index + 1])))
            self.index += 2
        }
        return result
    }

    mutating func readBytes(_ count: Int, _ field: StaticString) throws(PayloadError) -> [UInt8] {
        try self.require(count, field)
        defer { self.index += count }
        return Array(UnsafeBufferPointer(rebasing: self.bytes[self.index..<self.index + count]))
    }

    /// Steps over `count` bytes.
    mutating func skip(_ count: Int, _ field: StaticString) throws(PayloadError) {
        try self.require(count, field)
        self.index += count
    }

    /// The bytes from `start` (an earlier `index`) up to the current position.
    func bytes(from start: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]))
    }

    mutating func readRemainingBytes() -> [UInt8] {
        defer { self.index = self.bytes.endIndex }
        return Array(UnsafeBufferPointer(rebasing: self.bytes[self.index...]))
    }

    /// Reads a NUL-terminated string and checks that it is valid UTF-8.
    mutating func readCString(_ field: StaticString) throws(PayloadError) -> String {
        let text = try self.readCStringBytes(field)
        return try Self.string(text, field)
    }

    /// Reads the bytes of a NUL-terminated string without the NUL, unchecked.
    mutating func readCStringBytes(_ field: StaticString) throws(PayloadError) -> UnsafeBufferPointer<UInt8> {
        // memchr: a Query's whole text is scanned here.
        guard let base = self.bytes.baseAddress, self.index < self.bytes.endIndex,
              let found = memchr(base + self.index, 0, self.bytes.endIndex - self.index)
        else {
            throw .missingTerminator(field: field)
        }
        let nul = UnsafeRawPointer(found) - UnsafeRawPointer(base)
        defer { self.index = nul + 1 }
        return UnsafeBufferPointer(rebasing: self.bytes[self.index..<nul])
    }

    /// Makes a string of bytes returned by `readCStringBytes`, checking that they are UTF-8.
    static func string(_ text: UnsafeBufferPointer<UInt8>, _ field: StaticString) throws(PayloadError) -> String {
        // The unnamed portal and statement, in most Binds and Executes.
        guard let base = text.baseAddress, !text.isEmpty else { return "" }
        assert(base[text.count] == 0, "not the bytes of a C string")
        // The bytes are followed by their NUL, so they can be read as a C string, whose
        // validating initializer is non-generic and fast; `String(validating:as:)` runs
        // unspecialized, several times slower.
        let string = base.withMemoryRebound(to: CChar.self, capacity: text.count + 1) {
            String(validatingCString: $0)
        }
        guard let string else {
            throw .invalidUTF8(field: field)
        }
        return string
    }

    /// Checks that the whole body was read: a message carries exactly what its type says.
    func expectEnd() throws(PayloadError) {
        if self.remaining != 0 {
            throw .trailingBytes(count: self.remaining)
        }
    }

    private func require(_ count: Int, _ field: StaticString) throws(PayloadError) {
        if count > self.remaining {
            throw .notEnoughBytes(field: field, needed: count, remaining: self.remaining)
        }
    }

    static func uint32(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt32 {
        UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
            | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
    }
}

/// What went wrong inside one message body; the decoder wraps it with the message type and
/// the raw bytes into a `FrontendDecodingError`.
enum PayloadError: Error {
    /// A field needs more bytes than the body has left.
    case notEnoughBytes(field: StaticString, needed: Int, remaining: Int)
    /// A string runs to the end of the body without its NUL.
    case missingTerminator(field: StaticString)
    /// A string is not valid UTF-8.
    case invalidUTF8(field: StaticString)
    /// The body is longer than its fields.
    case trailingBytes(count: Int)
    /// A field holds a value the protocol does not allow.
    case invalidValue(String)

    var description: String {
        switch self {
        case .notEnoughBytes(let field, let needed, let remaining):
            return "\(field): needs \(needed) bytes, \(remaining) left in message"
        case .missingTerminator(let field):
            return "\(field): string not terminated by NUL"
        case .invalidUTF8(let field):
            return "\(field): invalid UTF-8"
        case .trailingBytes(let count):
            return "\(count) unexpected bytes at end of message"
        case .invalidValue(let text):
            return text
        }
    }
}
