/// One message a server sent, as a view of the bytes it arrived in: valid only while the
/// buffer it points into is (the callback it was handed to). Forwarding it to a client is a
/// copy of its bytes (`BackendMessageEncoder.forward`), with no decoding.
public struct BackendMessage {
    /// The type byte (`D` DataRow, `C` CommandComplete, `Z` ReadyForQuery, ...).
    public let type: UInt8
    /// The body, without the type byte and the length.
    public let body: UnsafeRawBufferPointer

    public init(type: UInt8, body: UnsafeRawBufferPointer) {
        self.type = type
        self.body = body
    }

    // Type bytes. Inlinable constants, not stored `let`s: other modules test them for every
    // message a shard sends, and a stored `let` of another module is a call per read.
    @inlinable public static var dataRow: UInt8 { UInt8(ascii: "D") }
    @inlinable public static var commandComplete: UInt8 { UInt8(ascii: "C") }
    @inlinable public static var readyForQuery: UInt8 { UInt8(ascii: "Z") }
    @inlinable public static var rowDescription: UInt8 { UInt8(ascii: "T") }
    @inlinable public static var errorResponse: UInt8 { UInt8(ascii: "E") }
    @inlinable public static var noticeResponse: UInt8 { UInt8(ascii: "N") }
    @inlinable public static var parameterStatus: UInt8 { UInt8(ascii: "S") }
    @inlinable public static var emptyQueryResponse: UInt8 { UInt8(ascii: "I") }
    @inlinable public static var parseComplete: UInt8 { UInt8(ascii: "1") }
    @inlinable public static var bindComplete: UInt8 { UInt8(ascii: "2") }
    @inlinable public static var closeComplete: UInt8 { UInt8(ascii: "3") }
    @inlinable public static var noData: UInt8 { UInt8(ascii: "n") }
    @inlinable public static var parameterDescription: UInt8 { UInt8(ascii: "t") }
    @inlinable public static var portalSuspended: UInt8 { UInt8(ascii: "s") }
    @inlinable public static var notificationResponse: UInt8 { UInt8(ascii: "A") }
    @inlinable public static var copyInResponse: UInt8 { UInt8(ascii: "G") }
    @inlinable public static var copyOutResponse: UInt8 { UInt8(ascii: "H") }
    @inlinable public static var copyBothResponse: UInt8 { UInt8(ascii: "W") }
    @inlinable public static var copyData: UInt8 { UInt8(ascii: "d") }
    @inlinable public static var copyDone: UInt8 { UInt8(ascii: "c") }
    @inlinable public static var backendKeyData: UInt8 { UInt8(ascii: "K") }

    /// The status byte of a ReadyForQuery.
    public var transactionStatus: TransactionStatus? {
        guard type == Self.readyForQuery, body.count == 1 else { return nil }
        return TransactionStatus(rawValue: body[0])
    }

    /// The tag of a CommandComplete.
    public var commandTag: String {
        cString(at: 0).value
    }

    /// Name and value of a ParameterStatus.
    public var parameterStatus: (name: String, value: String) {
        let name = cString(at: 0)
        return (name.value, cString(at: name.next).value)
    }

    /// The (code, value) fields of an ErrorResponse or NoticeResponse, in order.
    public var fields: [(UInt8, String)] {
        var result: [(UInt8, String)] = []
        var offset = 0
        while offset < body.count, body[offset] != 0 {
            let code = body[offset]
            let value = cString(at: offset + 1)
            result.append((code, value.value))
            offset = value.next
        }
        return result
    }

    /// The column count of a RowDescription or DataRow.
    public var columnCount: Int {
        guard body.count >= 2 else { return 0 }
        return Int(body[0]) << 8 | Int(body[1])
    }

    /// The columns of a RowDescription.
    public var rowDescription: [FieldDescription] {
        var fields: [FieldDescription] = []
        var offset = 2
        for _ in 0..<columnCount {
            let name = cString(at: offset)
            offset = name.next
            guard offset + 18 <= body.count else { break }
            fields.append(FieldDescription(
                name: name.value,
                tableOID: uint32(at: offset),
                columnAttributeNumber: Int16(bitPattern: uint16(at: offset + 4)),
                dataTypeOID: uint32(at: offset + 6),
                dataTypeSize: Int16(bitPattern: uint16(at: offset + 10)),
                typeModifier: Int32(bitPattern: uint32(at: offset + 12)),
                format: Int16(bitPattern: uint16(at: offset + 16))))
            offset += 18
        }
        return fields
    }

    /// The parameter type OIDs of a ParameterDescription.
    public var parameterTypes: [UInt32] {
        (0..<columnCount).compactMap { i in
            let offset = 2 + 4 * i
            return offset + 4 <= body.count ? uint32(at: offset) : nil
        }
    }

    private func uint16(at offset: Int) -> UInt16 {
        UInt16(body[offset]) << 8 | UInt16(body[offset + 1])
    }

    private func uint32(at offset: Int) -> UInt32 {
        UInt32(body[offset]) << 24 | UInt32(body[offset + 1]) << 16 | UInt32(body[offset + 2]) << 8 | UInt32(body[offset + 3])
    }

    /// The NUL-terminated string at `offset` and the offset after its NUL (the body's end when
    /// it has none).
    private func cString(at offset: Int) -> (value: String, next: Int) {
        guard offset < body.count else { return ("", body.count) }
        let rest = UnsafeRawBufferPointer(rebasing: body[offset...])
        let length = rest.firstIndex(of: 0) ?? rest.count
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: rest[..<length]), as: UTF8.self)
        return (value, offset + length + 1)
    }
}

/// Splits a byte stream from a server into messages.
public enum BackendMessageFraming {
    /// The type and body range of the message starting at `offset` in `bytes`, when all of it
    /// is there; nil when more bytes are needed. Throws on a length no server sends.
    public static func message(in bytes: UnsafeRawBufferPointer, at offset: Int) throws(BackendFramingError) -> (type: UInt8, body: Range<Int>)? {
        guard bytes.count - offset >= 5 else { return nil }
        let length = Int(bytes[offset + 1]) << 24 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
        guard length >= 4, length <= Int(Int32.max) else { throw BackendFramingError(length: length) }
        let end = offset + 1 + length
        guard end <= bytes.count else { return nil }
        return (bytes[offset], offset + 5..<end)
    }
}

/// A server sent a message length below 4 or beyond the protocol's range.
public struct BackendFramingError: Error, Sendable {
    public var length: Int
}

extension BackendMessageEncoder {
    /// Copies whole server messages, back to back, to the client as they are.
    public mutating func forward(messages bytes: UnsafeRawBufferPointer) {
        precondition(!hasOpenMessage, "a message is still open")
        writeBytes(bytes)
    }

    /// Copies a server's message to the client as it is.
    public mutating func forward(_ message: BackendMessage) {
        precondition(!hasOpenMessage, "a message is still open")
        writeUInt8(message.type)
        writeUInt32(UInt32(truncatingIfNeeded: message.body.count + 4))
        writeBytes(message.body)
    }
}
