/// Writes the messages a PostgreSQL server sends into one reused byte buffer.
///
/// Each message is a `mutating func` that appends to `buffer`. A message's length is
/// written as a placeholder and patched once its body is written, so nothing is built
/// twice. Messages whose size is not known in advance (RowDescription, DataRow) also have a
/// streaming form, `begin…` / `append…` / `end…`, so values go straight from a shard's
/// result into the buffer.
///
/// The I/O shell writes `buffer` to the socket and calls `consume` with what the socket
/// took. It must not write while a streamed message is open (`hasOpenMessage`): the length
/// of that message is still a placeholder.
public struct BackendMessageEncoder: Sendable {
    /// The bytes ready to write, oldest first.
    public private(set) var buffer: [UInt8]

    /// Where the length field of the message opened by a `begin…` call is, or nil.
    private var openMessageLengthIndex: Int?

    /// Creates an encoder with room for `capacity` bytes before the buffer grows.
    public init(capacity: Int = 16 << 10) {
        self.buffer = []
        self.buffer.reserveCapacity(capacity)
    }

    /// Whether no bytes wait to be written.
    @inlinable public var isEmpty: Bool { self.buffer.isEmpty }

    /// The number of bytes waiting to be written.
    @inlinable public var count: Int { self.buffer.count }

    /// Whether a message begun with a `begin…` call has not been ended yet.
    public var hasOpenMessage: Bool { self.openMessageLengthIndex != nil }

    /// Drops every byte, and any open message.
    public mutating func removeAll(keepingCapacity: Bool = true) {
        self.buffer.removeAll(keepingCapacity: keepingCapacity)
        self.openMessageLengthIndex = nil
    }

    /// Drops the first `count` bytes, after the socket took that many of them.
    public mutating func consume(_ count: Int) {
        precondition(count >= 0 && count <= self.buffer.count, "consumed more bytes than buffered")
        if let lengthIndex = self.openMessageLengthIndex {
            precondition(count < lengthIndex, "consumed bytes of a message still open")
            self.openMessageLengthIndex = lengthIndex - count
        }
        if count == self.buffer.count {
            self.buffer.removeAll(keepingCapacity: true)
        } else {
            self.buffer.removeSubrange(0..<count)
        }
    }

    /// Ends the message opened by `beginRowDescription` or `beginDataRow`: patches its length.
    public mutating func endMessage() {
        guard let lengthIndex = self.openMessageLengthIndex else {
            preconditionFailure("endMessage() without an open message")
        }
        self.openMessageLengthIndex = nil
        self.patchLength(at: lengthIndex)
    }
}

// MARK: - Framing and primitives

extension BackendMessageEncoder {
    /// The type byte of each message a server sends.
    enum MessageID: UInt8 {
        case parseComplete = 49  // 1
        case bindComplete = 50  // 2
        case closeComplete = 51  // 3
        case notificationResponse = 65  // A
        case commandComplete = 67  // C
        case dataRow = 68  // D
        case errorResponse = 69  // E
        case copyInResponse = 71  // G
        case copyOutResponse = 72  // H
        case emptyQueryResponse = 73  // I
        case backendKeyData = 75  // K
        case noticeResponse = 78  // N
        case authentication = 82  // R
        case parameterStatus = 83  // S
        case rowDescription = 84  // T
        case functionCallResponse = 86  // V
        case readyForQuery = 90  // Z
        case copyDone = 99  // c
        case copyData = 100  // d
        case noData = 110  // n
        case portalSuspended = 115  // s
        case parameterDescription = 116  // t
        case negotiateProtocolVersion = 118  // v
    }

    /// Writes the type byte and a length placeholder; returns where the length is.
    mutating func beginMessage(_ id: MessageID) -> Int {
        precondition(self.openMessageLengthIndex == nil, "a message is still open")
        self.buffer.append(id.rawValue)
        let lengthIndex = self.buffer.count
        self.writeUInt32(0)
        return lengthIndex
    }

    /// Like `beginMessage`, for the streaming forms that `endMessage()` closes.
    mutating func openMessage(_ id: MessageID) {
        self.openMessageLengthIndex = self.beginMessage(id)
    }

    /// Patches the length of the message whose length field is at `lengthIndex`: it counts
    /// itself and the body, not the type byte.
    mutating func patchLength(at lengthIndex: Int) {
        let length = self.buffer.count - lengthIndex
        precondition(length <= Int(Int32.max), "message longer than the protocol allows")
        self.buffer.withUnsafeMutableBytes {
            $0.storeBytes(of: UInt32(truncatingIfNeeded: length).bigEndian, toByteOffset: lengthIndex, as: UInt32.self)
        }
    }

    /// Writes a message whose body is empty.
    mutating func writeEmptyMessage(_ id: MessageID) {
        precondition(self.openMessageLengthIndex == nil, "a message is still open")
        self.buffer.append(id.rawValue)
        self.writeUInt32(4)
    }

    mutating func writeUInt8(_ value: UInt8) {
        self.buffer.append(value)
    }

    mutating func writeInt16(_ value: Int16) {
        self.writeUInt16(UInt16(bitPattern: value))
    }

    mutating func writeUInt16(_ value: UInt16) {
        self.buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        self.buffer.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func writeInt32(_ value: Int32) {
        self.writeUInt32(UInt32(bitPattern: value))
    }

    mutating func writeUInt32(_ value: UInt32) {
        self.buffer.append(UInt8(truncatingIfNeeded: value >> 24))
        self.buffer.append(UInt8(truncatingIfNeeded: value >> 16))
        self.buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        self.buffer.append(UInt8(truncatingIfNeeded: value))
    }

    /// Writes a count as the protocol's 16-bit integer.
    mutating func writeCount(_ count: Int) {
        precondition(count >= 0 && count <= Int(UInt16.max), "count does not fit the protocol's 16 bits")
        self.writeUInt16(UInt16(count))
    }

    /// Writes a string and its NUL. A NUL inside the string would end it early for the
    /// client and shift every later field, so the string is cut at its first NUL.
    mutating func writeCString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            if let nul = utf8.firstIndex(of: 0) {
                self.buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[..<nul]))
            } else {
                self.buffer.append(contentsOf: utf8)
            }
        }
        self.buffer.append(0)
    }

    mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) {
        // As typed bytes the copy is one memcpy; as raw bytes it would go byte by byte.
        self.buffer.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }

    mutating func writeBytes(_ bytes: some Collection<UInt8>) {
        self.buffer.append(contentsOf: bytes)
    }
}
