/// Turns the bytes a client sends into `FrontendMessage`s, whatever way the socket splits them.
///
/// Bytes go in with `append`, messages come out of `next()`. Given an incomplete message,
/// `next()` returns `nil` and consumes nothing, so it can be called after every read. A
/// message's declared length is checked against the limit as soon as its header is buffered,
/// before the body is, so a client cannot make pgshard hold more than `maxMessageSize` bytes
/// of one message.
///
/// The bytes live in one array with a read index; the consumed prefix is dropped when it
/// passes half the array, so the cost of moving bytes stays linear in what is read.
public struct FrontendMessageDecoder: Sendable {
    /// The largest declared length (length field included) accepted for a typed message.
    public let maxMessageSize: Int

    /// Whether the next packet is an untyped startup-phase packet. True at first; it stays
    /// true after `sslRequest` and `gssEncRequest`, since the client then sends its startup
    /// packet; it becomes false after a `startup`. After a `cancelRequest` the connection ends.
    public private(set) var expectsStartupPacket: Bool

    @usableFromInline private(set) var storage: [UInt8] = []
    @usableFromInline private(set) var readIndex = 0

    /// The length and type byte of a typed message, which come before its length.
    private static let typedHeaderSize = 5
    /// PostgreSQL's `PQ_SMALL_MESSAGE_LIMIT`, for messages that carry at most a name.
    private static let smallMessageLimit = 10000

    /// Creates a decoder for a new connection.
    ///
    /// - Parameters:
    ///   - maxMessageSize: the largest declared length accepted for a typed message.
    ///   - expectsStartupPacket: whether the connection starts in the startup phase; false
    ///     only to decode a stream that is already past it.
    public init(maxMessageSize: Int = 64 << 20, expectsStartupPacket: Bool = true) {
        precondition(maxMessageSize >= 4, "maxMessageSize must hold at least the length field")
        self.maxMessageSize = maxMessageSize
        self.expectsStartupPacket = expectsStartupPacket
    }

    /// The bytes appended and not yet consumed as messages.
    public var bufferedByteCount: Int { self.storage.count - self.readIndex }

    /// Adds bytes read from the client.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        self.compactBeforeAppending()
        // As typed bytes the copy is one memcpy; as raw bytes it would go byte by byte.
        self.storage.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// Adds bytes read from the client.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.append($0) }
    }

    /// Adds bytes read from the client.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        self.compactBeforeAppending()
        self.storage.append(contentsOf: bytes)
    }

    /// Decodes the next complete message, or returns `nil` (consuming nothing) when the
    /// buffer does not hold one yet.
    ///
    /// A fatal error consumes nothing either: the session sends an ErrorResponse and closes.
    /// The one non-fatal error, invalid UTF-8 in a Query, consumes its message.
    public mutating func next() throws(FrontendDecodingError) -> FrontendMessage? {
        if self.expectsStartupPacket {
            return try self.nextStartupPacket()
        }
        return try self.nextTypedMessage()
    }

    /// The type byte of the next message, perhaps not all buffered yet; nil before the
    /// startup packet or when nothing is buffered. Inlined into the caller: every message of a
    /// client is looked at with it before it is decoded (``nextQuery()``, ``nextBind()``, ...).
    @inlinable public var nextType: UInt8? {
        guard !self.expectsStartupPacket, self.readIndex < self.storage.count else { return nil }
        return self.storage[self.readIndex]
    }

    // MARK: - The common messages without a FrontendMessage
    //
    // Each returns the next message when it is complete, of its type and well-formed
    // (consumed), and nil for anything else, consuming nothing, so that ``next()`` decodes it
    // and reports its errors. Making and destroying a ``FrontendMessage`` goes through the
    // enum's generic value witnesses, which cost more than decoding the message.

    /// The text of the next message when it is a Query whose text is UTF-8.
    public mutating func nextQuery() -> String? {
        self.nextBody(.query) { reader throws(PayloadError) in
            try ByteReader.string(try reader.readCStringBytes("query"), "query")
        }
    }

    /// The next message when it is a Bind.
    public mutating func nextBind() -> Bind? {
        self.nextBody(.bind) { reader throws(PayloadError) in try Bind.decode(from: &reader) }
    }

    /// The next message when it is a Describe.
    public mutating func nextDescribe() -> Describe? {
        self.nextBody(.describe) { reader throws(PayloadError) in try Describe.decode(from: &reader) }
    }

    /// The next message when it is an Execute.
    public mutating func nextExecute() -> Execute? {
        self.nextBody(.execute) { reader throws(PayloadError) in try Execute.decode(from: &reader) }
    }

    /// Whether the next message is a Sync (then consumed).
    public mutating func nextSync() -> Bool {
        self.nextBody(.sync) { _ throws(PayloadError) in () } != nil
    }

    /// Decodes the body of the next message with `decode` when it is a complete message of
    /// type `id` within the size limits and `decode` reads its body exactly; consumes it then.
    private mutating func nextBody<Body>(
        _ id: FrontendMessage.ID, _ decode: (inout ByteReader) throws(PayloadError) -> Body
    ) -> Body? {
        guard self.nextType == id.rawValue, self.bufferedByteCount >= Self.typedHeaderSize else { return nil }
        let length = Int(self.uint32(at: self.readIndex + 1))
        let limit = id.isSmall ? min(Self.smallMessageLimit, self.maxMessageSize) : self.maxMessageSize
        guard length >= 4, length <= limit, self.bufferedByteCount >= 1 + length else { return nil }
        let bodyStart = self.readIndex + Self.typedHeaderSize
        let bodyEnd = self.readIndex + 1 + length
        let body = self.storage.withUnsafeBufferPointer { storage -> Body? in
            var reader = ByteReader(UnsafeBufferPointer(rebasing: storage[bodyStart..<bodyEnd]))
            guard let body = try? decode(&reader), (try? reader.expectEnd()) != nil else { return nil }
            return body
        }
        guard let body else { return nil }
        self.readIndex = bodyEnd
        return body
    }

    // MARK: - Framing

    private mutating func nextStartupPacket() throws(FrontendDecodingError) -> FrontendMessage? {
        guard self.bufferedByteCount >= 4 else { return nil }
        let length = Int(self.uint32(at: self.readIndex))
        let limit = min(FrontendMessage.maxStartupPacketLength, self.maxMessageSize)
        // The length counts itself and the 4-byte version or request code.
        guard length >= 8 else {
            throw self.error(.malformed("invalid length of startup packet \(length)"), type: nil, length: 4)
        }
        guard length <= limit else {
            throw self.error(.messageTooLarge(declared: length, limit: limit), type: nil, length: 4)
        }
        guard self.bufferedByteCount >= length else { return nil }

        let start = self.readIndex
        let result = self.storage.withUnsafeBufferPointer { storage in
            var reader = ByteReader(UnsafeBufferPointer(rebasing: storage[start + 4..<start + length]))
            return Result { () throws(PayloadError) in try FrontendMessage.decodeStartupPacket(from: &reader) }
        }
        switch result {
        case .success(.message(let message)):
            self.readIndex += length
            if case .startup = message {
                self.expectsStartupPacket = false
            }
            return message
        case .success(.unsupportedProtocolVersion(let major, let minor)):
            throw self.error(.unsupportedProtocolVersion(major: major, minor: minor), type: nil, length: length)
        case .failure(let error):
            throw self.error(.malformed(error.description), type: nil, length: length)
        }
    }

    private mutating func nextTypedMessage() throws(FrontendDecodingError) -> FrontendMessage? {
        guard self.bufferedByteCount >= 1 else { return nil }
        let typeByte = self.storage[self.readIndex]
        guard let id = FrontendMessage.ID(rawValue: typeByte) else {
            throw self.error(.unknownMessageType(typeByte), type: typeByte, length: self.bufferedByteCount)
        }
        guard self.bufferedByteCount >= Self.typedHeaderSize else { return nil }

        // The length counts itself but not the type byte.
        let length = Int(self.uint32(at: self.readIndex + 1))
        guard length >= 4 else {
            throw self.error(.malformed("invalid message length \(length)"), type: typeByte, length: Self.typedHeaderSize)
        }
        let limit = id.isSmall ? min(Self.smallMessageLimit, self.maxMessageSize) : self.maxMessageSize
        guard length <= limit else {
            throw self.error(.messageTooLarge(declared: length, limit: limit), type: typeByte, length: Self.typedHeaderSize)
        }
        let total = 1 + length
        guard self.bufferedByteCount >= total else { return nil }

        let bodyStart = self.readIndex + Self.typedHeaderSize
        let bodyEnd = self.readIndex + total
        let result = self.storage.withUnsafeBufferPointer { storage in
            var reader = ByteReader(UnsafeBufferPointer(rebasing: storage[bodyStart..<bodyEnd]))
            return Result { () throws(PayloadError) in try FrontendMessage.decode(id, from: &reader) }
        }
        switch result {
        case .success(let message):
            self.readIndex += total
            return message
        case .failure(.invalidUTF8) where id == .query:
            let error = self.error(.invalidUTF8, type: typeByte, length: total)
            self.readIndex += total
            throw error
        case .failure(let error):
            throw self.error(.malformed(error.description), type: typeByte, length: total)
        }
    }

    // MARK: - Helpers

    /// Builds an error keeping at most the first 64 buffered bytes of the message.
    private func error(_ kind: FrontendDecodingError.Kind, type: UInt8?, length: Int) -> FrontendDecodingError {
        var kept = min(length, self.bufferedByteCount, FrontendDecodingError.maxKeptBytes)
        if type == FrontendMessage.ID.password.rawValue {
            // The body is a password or a SASL response: never into a log.
            kept = min(kept, Self.typedHeaderSize)
        }
        let bytes = Array(self.storage[self.readIndex..<self.readIndex + kept])
        return FrontendDecodingError(kind: kind, messageType: type, bytes: bytes)
    }

    private func uint32(at index: Int) -> UInt32 {
        UInt32(self.storage[index]) << 24 | UInt32(self.storage[index + 1]) << 16
            | UInt32(self.storage[index + 2]) << 8 | UInt32(self.storage[index + 3])
    }

    private mutating func compactBeforeAppending() {
        if self.readIndex == self.storage.count {
            self.storage.removeAll(keepingCapacity: true)
            self.readIndex = 0
        } else if self.readIndex > self.storage.count / 2 {
            self.storage.removeSubrange(0..<self.readIndex)
            self.readIndex = 0
        }
    }
}
