#if canImport(Glibc)
import Glibc
#endif

/// Writes the messages a client sends (what pgshard sends to a shard once libpq has opened the
/// connection) into one reused byte buffer. The counterpart of `BackendMessageEncoder`.
public struct FrontendMessageEncoder: Sendable {
    /// The bytes ready to write, oldest first.
    public private(set) var buffer: [UInt8] = []

    public init() {
        buffer.reserveCapacity(4 << 10)
    }

    // Inlinable: read several times for every message queued for a shard.
    @inlinable public var isEmpty: Bool { buffer.isEmpty }
    @inlinable public var count: Int { buffer.count }

    /// Drops the first `count` bytes, after the socket took them.
    public mutating func consume(_ count: Int) {
        if count == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else {
            buffer.removeSubrange(0..<count)
        }
    }

    /// `Q` Query: assembled in scratch space (on the stack for most statements) and appended
    /// at once — each append costs more than copying a short text, and this is sent for every
    /// simple-protocol statement.
    public mutating func query(_ sql: String) {
        var sql = sql
        sql.withUTF8 { utf8 in
            let text = Self.untilNUL(utf8)
            let total = 1 + 4 + text.count + 1
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { message in
                let base = message.baseAddress!
                base[0] = UInt8(ascii: "Q")
                UnsafeMutableRawPointer(base + 1).storeBytes(of: UInt32(truncatingIfNeeded: total - 1).bigEndian, as: UInt32.self)
                if let start = text.baseAddress { (base + 5).update(from: start, count: text.count) }
                base[total - 1] = 0
                buffer.append(contentsOf: UnsafeBufferPointer(message))
            }
        }
    }

    /// The bytes before the first NUL: a NUL would end the string early on the server and shift
    /// every later field.
    private static func untilNUL(_ utf8: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let base = utf8.baseAddress, let nul = memchr(base, 0, utf8.count) else { return utf8 }
        return UnsafeBufferPointer(start: base, count: UnsafeRawPointer(nul) - UnsafeRawPointer(base))
    }

    /// `P` Parse.
    public mutating func parse(statement: String, sql: String, parameterTypes: [UInt32]) {
        let start = begin(UInt8(ascii: "P"))
        writeCString(statement)
        writeCString(sql)
        writeUInt16(UInt16(truncatingIfNeeded: parameterTypes.count))
        for type in parameterTypes { writeUInt32(type) }
        end(start)
    }

    /// `B` Bind, from a client's Bind with the statement (and portal) names replaced: the
    /// formats and values go on as the client sent them, in one copy.
    public mutating func bind(_ bind: Bind, portal: String, statement: String) {
        let start = begin(UInt8(ascii: "B"))
        writeCString(portal)
        writeCString(statement)
        buffer.append(contentsOf: bind.payload)
        end(start)
    }

    /// `D` Describe.
    public mutating func describe(_ kind: StatementOrPortal, name: String) {
        let start = begin(UInt8(ascii: "D"))
        buffer.append(kind.rawValue)
        writeCString(name)
        end(start)
    }

    /// `E` Execute; `maxRows` 0 means all rows.
    public mutating func execute(portal: String, maxRows: Int32) {
        let start = begin(UInt8(ascii: "E"))
        writeCString(portal)
        writeUInt32(UInt32(bitPattern: maxRows))
        end(start)
    }

    /// `C` Close.
    public mutating func close(_ kind: StatementOrPortal, name: String) {
        let start = begin(UInt8(ascii: "C"))
        buffer.append(kind.rawValue)
        writeCString(name)
        end(start)
    }

    /// `S` Sync.
    public mutating func sync() { empty(UInt8(ascii: "S")) }
    /// `H` Flush.
    public mutating func flush() { empty(UInt8(ascii: "H")) }
    /// `X` Terminate.
    public mutating func terminate() { empty(UInt8(ascii: "X")) }

    /// `d` CopyData.
    public mutating func copyData(_ bytes: [UInt8]) {
        let start = begin(UInt8(ascii: "d"))
        buffer.append(contentsOf: bytes)
        end(start)
    }

    /// `d` CopyData from borrowed bytes (COPY FROM rows on their way to a shard).
    public mutating func copyData(_ bytes: UnsafeRawBufferPointer) {
        let start = begin(UInt8(ascii: "d"))
        buffer.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
        end(start)
    }

    /// `c` CopyDone.
    public mutating func copyDone() { empty(UInt8(ascii: "c")) }

    /// `f` CopyFail.
    public mutating func copyFail(_ message: String) {
        let start = begin(UInt8(ascii: "f"))
        writeCString(message)
        end(start)
    }

    private mutating func empty(_ type: UInt8) {
        buffer.append(type)
        writeUInt32(4)
    }

    private mutating func begin(_ type: UInt8) -> Int {
        buffer.append(type)
        let index = buffer.count
        writeUInt32(0)
        return index
    }

    private mutating func end(_ lengthIndex: Int) {
        let length = UInt32(truncatingIfNeeded: buffer.count - lengthIndex)
        buffer.withUnsafeMutableBytes { $0.storeBytes(of: length.bigEndian, toByteOffset: lengthIndex, as: UInt32.self) }
    }

    private mutating func writeUInt16(_ value: UInt16) {
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value))
    }

    private mutating func writeUInt32(_ value: UInt32) {
        // Four appends: cheaper than appending the bytes of `value.bigEndian` as a buffer.
        buffer.append(UInt8(truncatingIfNeeded: value >> 24))
        buffer.append(UInt8(truncatingIfNeeded: value >> 16))
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value))
    }

    private mutating func writeCString(_ string: String) {
        // The unnamed portal and statement, in most Binds, Describes and Executes.
        guard !string.isEmpty else { return buffer.append(0) }
        var string = string
        string.withUTF8 { buffer.append(contentsOf: Self.untilNUL($0)) }
        buffer.append(0)
    }
}
