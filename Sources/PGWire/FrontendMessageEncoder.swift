#if canImport(Glibc)
import Glibc
#endif

/// Writes the messages a client sends (what pgshard sends to a shard once libpq has opened the
/// connection) into one reused byte buffer. The counterpart of `BackendMessageEncoder`.
///
/// The buffer is memory of the encoder's own, not an array: a message is written in place once
/// its length is known, where appending to an array cost more than the message's few bytes
/// (Bind, Describe, Execute and Sync go out for every extended-protocol statement).
///
/// `@unchecked Sendable`: the memory is the encoder's alone (it cannot be copied) and is only
/// touched through its mutating methods.
public struct FrontendMessageEncoder: ~Copyable, @unchecked Sendable {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// How many bytes are ready to write.
    public private(set) var count = 0
    /// How many messages that the server answers with exactly one ReadyForQuery (Query, Sync)
    /// were written since the encoder was made: counted as they are written, so a sender need
    /// not scan the bytes for them.
    public private(set) var readyForQueryCount = 0

    public init() {
        capacity = 4 << 10
        storage = .allocate(byteCount: capacity, alignment: 1)
    }

    deinit { storage.deallocate() }

    public var isEmpty: Bool { count == 0 }

    /// The bytes ready to write, oldest first; valid only inside `body`.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: storage, count: count))
    }

    /// A copy of the bytes ready to write (for tests).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Drops the first `count` bytes, after the socket took them.
    public mutating func consume(_ taken: Int) {
        precondition(taken >= 0 && taken <= count, "consumed more than was written")
        if taken < count { storage.copyMemory(from: storage + taken, byteCount: count - taken) }
        count -= taken
    }

    /// `Q` Query.
    public mutating func query(_ sql: String) {
        var sql = sql
        sql.withUTF8 { utf8 in
            let text = Self.untilNUL(utf8)
            var body = message(UInt8(ascii: "Q"), bodyLength: text.count + 1)
            Self.put(text, at: &body)
        }
        readyForQueryCount &+= 1
    }

    /// `P` Parse.
    public mutating func parse(statement: String, sql: String, parameterTypes: [UInt32]) {
        var statement = statement, sql = sql
        statement.withUTF8 { name in
            sql.withUTF8 { text in
                let name = Self.untilNUL(name), text = Self.untilNUL(text)
                var body = message(UInt8(ascii: "P"), bodyLength: name.count + 1 + text.count + 1 + 2 + 4 * parameterTypes.count)
                Self.put(name, at: &body)
                Self.put(text, at: &body)
                body.storeBytes(of: UInt16(truncatingIfNeeded: parameterTypes.count).bigEndian, as: UInt16.self)
                body += 2
                for type in parameterTypes {
                    body.storeBytes(of: type.bigEndian, as: UInt32.self)
                    body += 4
                }
            }
        }
    }

    /// `B` Bind, from a client's Bind with the statement (and portal) names replaced: the
    /// formats and values go on as the client sent them, in one copy.
    public mutating func bind(_ bind: Bind, portal: String, statement: String) {
        Self.withName(portal) { portal in
            Self.withName(statement) { statement in
                bind.payload.withUnsafeBufferPointer { payload in
                    var body = message(UInt8(ascii: "B"), bodyLength: portal.count + 1 + statement.count + 1 + payload.count)
                    Self.put(portal, at: &body)
                    Self.put(statement, at: &body)
                    if let start = payload.baseAddress { body.copyMemory(from: start, byteCount: payload.count) }
                }
            }
        }
    }

    /// `D` Describe.
    public mutating func describe(_ kind: StatementOrPortal, name: String) {
        kindAndName(UInt8(ascii: "D"), kind, name)
    }

    /// `E` Execute; `maxRows` 0 means all rows.
    public mutating func execute(portal: String, maxRows: Int32) {
        Self.withName(portal) { portal in
            var body = message(UInt8(ascii: "E"), bodyLength: portal.count + 1 + 4)
            Self.put(portal, at: &body)
            body.storeBytes(of: UInt32(bitPattern: maxRows).bigEndian, as: UInt32.self)
        }
    }

    /// `C` Close.
    public mutating func close(_ kind: StatementOrPortal, name: String) {
        kindAndName(UInt8(ascii: "C"), kind, name)
    }

    /// `S` Sync.
    public mutating func sync() {
        _ = message(UInt8(ascii: "S"), bodyLength: 0)
        readyForQueryCount &+= 1
    }

    /// `H` Flush.
    public mutating func flush() { _ = message(UInt8(ascii: "H"), bodyLength: 0) }
    /// `X` Terminate.
    public mutating func terminate() { _ = message(UInt8(ascii: "X"), bodyLength: 0) }

    /// `d` CopyData.
    public mutating func copyData(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { copyData($0) }
    }

    /// `d` CopyData from borrowed bytes (COPY FROM rows on their way to a shard).
    public mutating func copyData(_ bytes: UnsafeRawBufferPointer) {
        let body = message(UInt8(ascii: "d"), bodyLength: bytes.count)
        if let start = bytes.baseAddress { body.copyMemory(from: start, byteCount: bytes.count) }
    }

    /// `c` CopyDone.
    public mutating func copyDone() { _ = message(UInt8(ascii: "c"), bodyLength: 0) }

    /// `f` CopyFail.
    public mutating func copyFail(_ message: String) {
        Self.withName(message) { text in
            var body = self.message(UInt8(ascii: "f"), bodyLength: text.count + 1)
            Self.put(text, at: &body)
        }
    }

    /// Describe and Close: a kind byte and a name.
    private mutating func kindAndName(_ type: UInt8, _ kind: StatementOrPortal, _ name: String) {
        Self.withName(name) { name in
            var body = message(type, bodyLength: 1 + name.count + 1)
            body.storeBytes(of: kind.rawValue, as: UInt8.self)
            body += 1
            Self.put(name, at: &body)
        }
    }

    /// Makes room for one message of `type` with a body of `bodyLength` bytes, writes its type
    /// and length, and returns where the body goes (to be written before anything else).
    private mutating func message(_ type: UInt8, bodyLength: Int) -> UnsafeMutableRawPointer {
        let total = 1 + 4 + bodyLength
        if count + total > capacity { grow(to: count + total) }
        let start = storage + count
        count += total
        start.storeBytes(of: type, as: UInt8.self)
        start.storeBytes(of: UInt32(truncatingIfNeeded: 4 + bodyLength).bigEndian, toByteOffset: 1, as: UInt32.self)
        return start + 5
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(needed, 2 * capacity)
        let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 1)
        newStorage.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }

    /// Runs `body` with the bytes of `name` up to its first NUL. The unnamed portal and
    /// statement, in most Binds, Describes and Executes, take no copy of the string.
    private static func withName(_ name: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard !name.isEmpty else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        var name = name
        name.withUTF8 { body(untilNUL($0)) }
    }

    /// The bytes before the first NUL: a NUL would end the string early on the server and shift
    /// every later field.
    private static func untilNUL(_ utf8: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let base = utf8.baseAddress, let nul = memchr(base, 0, utf8.count) else { return utf8 }
        return UnsafeBufferPointer(start: base, count: UnsafeRawPointer(nul) - UnsafeRawPointer(base))
    }

    /// Copies `bytes` and a NUL to `pointer`, moving it past them.
    private static func put(_ bytes: UnsafeBufferPointer<UInt8>, at pointer: inout UnsafeMutableRawPointer) {
        if let start = bytes.baseAddress { pointer.copyMemory(from: start, byteCount: bytes.count) }
        pointer += bytes.count
        pointer.storeBytes(of: 0, as: UInt8.self)
        pointer += 1
    }
}
