import XCTest

/// What the server answered to one batch of messages, read with a ``RawClient`` up to
/// ReadyForQuery: the message types in order (ParameterStatus and notices left out), the rows,
/// the columns of each RowDescription, the command tags and the first error.
struct ProtocolReply {
    var types: [Character] = []
    var rows: [[[UInt8]?]] = []
    /// Per RowDescription: (name, type OID, format) of each column.
    var descriptions: [[(name: String, type: Int32, format: Int16)]] = []
    var tags: [String] = []
    var error: [Character: String]?

    var sqlState: String? { error?["C"] }

    /// The rows with every value as text.
    var textRows: [[String?]] { rows.map { $0.map { $0.map { String(decoding: $0, as: UTF8.self) } } } }

    init(_ messages: [(type: Character, body: [UInt8])]) {
        for message in messages where message.type != "S" && message.type != "N" {
            types.append(message.type)
            var reader = BodyReader(bytes: message.body)
            switch message.type {
            case "D":
                let count = reader.int16()
                rows.append((0..<count).map { _ in
                    let length = reader.int32()
                    return length < 0 ? nil : reader.bytes(Int(length))
                })
            case "T":
                let count = reader.int16()
                descriptions.append((0..<count).map { _ in
                    let name = reader.cString()
                    _ = reader.int32(); _ = reader.int16()
                    let type = reader.int32()
                    _ = reader.int16(); _ = reader.int32()
                    return (name, type, Int16(reader.int16()))
                })
            case "C":
                tags.append(reader.cString())
            case "E":
                if error == nil { error = RawClient.fields(message.body) }
            default:
                break
            }
        }
    }

    private struct BodyReader {
        let bytes: [UInt8]
        var offset = 0

        mutating func int16() -> Int {
            defer { offset += 2 }
            return Int(Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])))
        }

        mutating func int32() -> Int32 {
            defer { offset += 4 }
            return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int32($1) }
        }

        mutating func bytes(_ count: Int) -> [UInt8] {
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }

        mutating func cString() -> String {
            let end = bytes[offset...].firstIndex(of: 0) ?? bytes.count
            defer { offset = end + 1 }
            return String(decoding: bytes[offset..<end], as: UTF8.self)
        }
    }
}

/// Frontend messages of the extended protocol, for tests that drive it message by message.
extension RawClient {
    /// Sends `bytes` and reads the answers up to ReadyForQuery.
    func exchange(_ bytes: [UInt8]) -> ProtocolReply {
        send(bytes)
        return ProtocolReply(readUntilReady())
    }

    /// A simple-protocol Query.
    func simpleQuery(_ sql: String) -> ProtocolReply {
        exchange(Self.message("Q", Self.cString(sql)))
    }

    /// Parse, Bind, Describe (portal), Execute and Sync of `sql` with text parameters, as libpq's
    /// PQexecParams sends them; `resultFormats` as in Bind.
    func extendedQuery(_ sql: String, _ parameters: [String?] = [], resultFormats: [Int16] = []) -> ProtocolReply {
        exchange(Self.parse("", sql) + Self.bind("", "", parameters, resultFormats: resultFormats) + Self.describe(portal: "")
                 + Self.execute("") + Self.sync)
    }

    static func closePortal(_ name: String) -> [UInt8] { message("C", [UInt8(ascii: "P")] + cString(name)) }
}
