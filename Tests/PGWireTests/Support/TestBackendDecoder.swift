import PGWire

/// A message a server sends, as a client would decode it: the opposite direction of
/// `BackendMessageEncoder`, for round trips in tests only.
enum TestBackendMessage: Equatable {
    case authentication(code: Int32, data: [UInt8])
    case parameterStatus(name: String, value: String)
    case backendKeyData(processID: Int32, secretKey: Int32)
    case readyForQuery(UInt8)
    case rowDescription([FieldDescription])
    case dataRow([[UInt8]?])
    case commandComplete(String)
    case emptyQueryResponse
    case errorResponse(ErrorFields)
    case noticeResponse(ErrorFields)
    case parseComplete
    case bindComplete
    case closeComplete
    case noData
    case portalSuspended
    case parameterDescription([UInt32])
    case negotiateProtocolVersion(newestMinor: Int32, unrecognizedOptions: [String])
    case notificationResponse(processID: Int32, channel: String, payload: String)
    case copyInResponse(format: Int8, columnFormats: [Int16])
    case copyOutResponse(format: Int8, columnFormats: [Int16])
    case copyData([UInt8])
    case copyDone
    case functionCallResponse([UInt8]?)
}

struct TestDecodingError: Error, CustomStringConvertible {
    var description: String
}

/// Decodes a stream of backend messages; every message must be complete and consumed exactly.
enum TestBackendDecoder {
    static func decode(_ bytes: [UInt8]) throws -> [TestBackendMessage] {
        var messages: [TestBackendMessage] = []
        var index = 0
        while index < bytes.count {
            guard bytes.count - index >= 5 else { throw TestDecodingError(description: "truncated header at \(index)") }
            let type = bytes[index]
            var header = Cursor(bytes: Array(bytes[index + 1..<index + 5]))
            let length = Int(try header.int32())
            guard length >= 4, index + 1 + length <= bytes.count else {
                throw TestDecodingError(description: "bad length \(length) at \(index)")
            }
            var body = Cursor(bytes: Array(bytes[index + 5..<index + 1 + length]))
            messages.append(try self.decodeBody(type: type, &body))
            guard body.isAtEnd else {
                throw TestDecodingError(description: "message \(Character(Unicode.Scalar(type))) has \(body.remaining) extra bytes")
            }
            index += 1 + length
        }
        return messages
    }

    private static func decodeBody(type: UInt8, _ body: inout Cursor) throws -> TestBackendMessage {
        switch Character(Unicode.Scalar(type)) {
        case "R":
            let code = try body.int32()
            return .authentication(code: code, data: body.rest())
        case "S":
            return .parameterStatus(name: try body.cString(), value: try body.cString())
        case "K":
            return .backendKeyData(processID: try body.int32(), secretKey: try body.int32())
        case "Z":
            return .readyForQuery(try body.uint8())
        case "T":
            let count = try body.int16()
            var fields: [FieldDescription] = []
            for _ in 0..<count {
                fields.append(FieldDescription(
                    name: try body.cString(),
                    tableOID: UInt32(bitPattern: try body.int32()),
                    columnAttributeNumber: try body.int16(),
                    dataTypeOID: UInt32(bitPattern: try body.int32()),
                    dataTypeSize: try body.int16(),
                    typeModifier: try body.int32(),
                    format: try body.int16()
                ))
            }
            return .rowDescription(fields)
        case "D":
            let count = try body.int16()
            var values: [[UInt8]?] = []
            for _ in 0..<count {
                let length = try body.int32()
                values.append(length == -1 ? nil : try body.bytes(Int(length)))
            }
            return .dataRow(values)
        case "C":
            return .commandComplete(try body.cString())
        case "I":
            return .emptyQueryResponse
        case "E", "N":
            var fields: [(code: UInt8, value: String)] = []
            while true {
                let code = try body.uint8()
                if code == 0 { break }
                fields.append((code, try body.cString()))
            }
            return type == UInt8(ascii: "E") ? .errorResponse(ErrorFields(fields: fields)) : .noticeResponse(ErrorFields(fields: fields))
        case "1": return .parseComplete
        case "2": return .bindComplete
        case "3": return .closeComplete
        case "n": return .noData
        case "s": return .portalSuspended
        case "t":
            let count = try body.int16()
            var oids: [UInt32] = []
            for _ in 0..<count { oids.append(UInt32(bitPattern: try body.int32())) }
            return .parameterDescription(oids)
        case "v":
            let newest = try body.int32()
            let count = try body.int32()
            var options: [String] = []
            for _ in 0..<count { options.append(try body.cString()) }
            return .negotiateProtocolVersion(newestMinor: newest, unrecognizedOptions: options)
        case "A":
            return .notificationResponse(processID: try body.int32(), channel: try body.cString(), payload: try body.cString())
        case "G", "H":
            let format = Int8(bitPattern: try body.uint8())
            let count = try body.int16()
            var formats: [Int16] = []
            for _ in 0..<count { formats.append(try body.int16()) }
            return type == UInt8(ascii: "G")
                ? .copyInResponse(format: format, columnFormats: formats)
                : .copyOutResponse(format: format, columnFormats: formats)
        case "d":
            return .copyData(body.rest())
        case "c":
            return .copyDone
        case "V":
            let length = try body.int32()
            return .functionCallResponse(length == -1 ? nil : try body.bytes(Int(length)))
        default:
            throw TestDecodingError(description: "unknown backend message type \(type)")
        }
    }

    struct Cursor {
        var bytes: [UInt8]
        var index = 0

        var remaining: Int { self.bytes.count - self.index }
        var isAtEnd: Bool { self.remaining == 0 }

        mutating func uint8() throws -> UInt8 {
            try self.bytes(1)[0]
        }
        mutating func int16() throws -> Int16 {
            let b = try self.bytes(2)
            return Int16(bitPattern: UInt16(b[0]) << 8 | UInt16(b[1]))
        }
        mutating func int32() throws -> Int32 {
            let b = try self.bytes(4)
            return Int32(bitPattern: UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]))
        }
        mutating func bytes(_ count: Int) throws -> [UInt8] {
            guard count >= 0, count <= self.remaining else {
                throw TestDecodingError(description: "needs \(count) bytes, \(self.remaining) left")
            }
            defer { self.index += count }
            return Array(self.bytes[self.index..<self.index + count])
        }
        mutating func cString() throws -> String {
            guard let nul = self.bytes[self.index...].firstIndex(of: 0) else {
                throw TestDecodingError(description: "string without NUL")
            }
            defer { self.index = nul + 1 }
            return String(decoding: self.bytes[self.index..<nul], as: UTF8.self)
        }
        mutating func rest() -> [UInt8] {
            defer { self.index = self.bytes.count }
            return Array(self.bytes[self.index...])
        }
    }
}

extension BackendMessageEncoder {
    /// The messages in the buffer, decoded as a client would.
    func decodedMessages() throws -> [TestBackendMessage] {
        try TestBackendDecoder.decode(self.buffer)
    }
}
