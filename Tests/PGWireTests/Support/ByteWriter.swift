/// Builds message bytes by hand in tests, including bytes no real client would send.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func uint8(_ value: UInt8) { self.bytes.append(value) }
    mutating func int16(_ value: Int16) { self.uint16(UInt16(bitPattern: value)) }
    mutating func uint16(_ value: UInt16) {
        self.bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
    }
    mutating func int32(_ value: Int32) { self.uint32(UInt32(bitPattern: value)) }
    mutating func uint32(_ value: UInt32) {
        self.bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
    mutating func cString(_ string: String) {
        self.bytes += Array(string.utf8)
        self.bytes.append(0)
    }
    mutating func raw(_ raw: [UInt8]) { self.bytes += raw }

    /// A typed message: type byte, length (itself + body), body.
    static func typed(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.uint8(type.asciiValue!)
        writer.int32(Int32(4 + body.count))
        writer.raw(body)
        return writer.bytes
    }

    /// An untyped startup-phase packet: length (itself + body), body.
    static func untyped(_ body: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.int32(Int32(4 + body.count))
        writer.raw(body)
        return writer.bytes
    }

    static func body(_ build: (inout ByteWriter) -> Void) -> [UInt8] {
        var writer = ByteWriter()
        build(&writer)
        return writer.bytes
    }
}
