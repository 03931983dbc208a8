internal import CLibPQ

/// The fields of an error or notice a shard sent, in protocol order, as (field code, value)
/// pairs: severity, SQLSTATE, message, detail, hint, position, ... — everything the server
/// reported, so the client sees exactly what PostgreSQL said.
public struct Diagnostics: Sendable, Equatable {
    public var fields: [Field]

    /// One diagnostic field: the protocol's one-byte code (`C` for SQLSTATE, `M` for message, ...).
    public struct Field: Sendable, Hashable {
        public var code: UInt8
        public var value: String
        public init(code: UInt8, value: String) {
            self.code = code
            self.value = value
        }
    }

    public init(fields: [Field]) { self.fields = fields }

    public subscript(code: Character) -> String? {
        let byte = code.asciiValue!
        return fields.first { $0.code == byte }?.value
    }

    /// Codes in the order PostgreSQL sends them.
    private static let codes: [Character] = [
        "S", "V", "C", "M", "D", "H", "P", "p", "q", "W", "s", "t", "c", "d", "n", "F", "L", "R",
    ]

    init(result: OpaquePointer) {
        var fields: [Field] = []
        for code in Self.codes {
            let byte = code.asciiValue!
            if let value = PQresultErrorField(result, Int32(byte)) {
                fields.append(Field(code: byte, value: String(cString: value)))
            }
        }
        self.fields = fields
    }
}

import PGWire

extension Diagnostics {
    /// The fields of an ErrorResponse or NoticeResponse a shard sent.
    public init(_ message: BackendMessage) {
        self.init(fields: message.fields.map { Field(code: $0.0, value: $0.1) })
    }
}
