import Sharding

/// The parameter values of an extended-protocol Bind, as routing needs them: each value's bytes,
/// its format (0 text, 1 binary) and the type the client declared in Parse (0 = unspecified).
///
/// The formats and values stay in the Bind's own bytes (protocol layout); a value is found when
/// routing asks for it, so a Bind makes no array per value.
public struct BoundParameters: Sendable {
    /// The format count and codes, then the value count and values (each a 32-bit length, -1
    /// for NULL, and its bytes), as in a Bind message; anything after them is not read.
    private let encoded: [UInt8]
    /// Where the value count starts in `encoded`.
    private let valuesOffset: Int
    /// How many values there are.
    public let count: Int
    public var types: [UInt32]

    /// `formats` has an entry per value or none (resolve Bind's one-for-all rule first; a
    /// single entry applies to the first value only); a missing `formats` entry counts as text,
    /// a missing `types` entry as unspecified.
    public init(values: [[UInt8]?], formats: [Int16], types: [UInt32]) {
        var formats = formats
        if formats.count == 1, values.count > 1 { formats += Array(repeating: 0, count: values.count - 1) }
        var encoded: [UInt8] = []
        func uint16(_ value: Int) {
            encoded.append(UInt8(truncatingIfNeeded: value >> 8))
            encoded.append(UInt8(truncatingIfNeeded: value))
        }
        uint16(formats.count)
        for format in formats { uint16(Int(UInt16(bitPattern: format))) }
        let valuesOffset = encoded.count
        uint16(values.count)
        for value in values {
            let length = UInt32(bitPattern: Int32(value?.count ?? -1))
            for shift in stride(from: 24, through: 0, by: -8) { encoded.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
            if let value { encoded.append(contentsOf: value) }
        }
        self.init(bindPayload: encoded, valuesOffset: valuesOffset, types: types)
    }

    /// The parameters of a Bind's `payload` (its bytes after the portal and statement names,
    /// already checked by the decoder), whose value count starts at `valuesOffset`. The format
    /// count must be none, one (for all values) or one per value.
    public init(bindPayload: [UInt8], valuesOffset: Int, types: [UInt32]) {
        precondition(bindPayload.count >= 2 && valuesOffset + 2 <= bindPayload.count, "not a Bind payload")
        self.encoded = bindPayload
        self.valuesOffset = valuesOffset
        self.count = Int(bindPayload[valuesOffset]) << 8 | Int(bindPayload[valuesOffset + 1])
        self.types = types
    }

    /// The values' bytes, nil for NULL.
    public var values: [[UInt8]?] {
        (0..<count).map { index in valueRange(index).map { Array(encoded[$0]) } }
    }

    /// The format of each value: none (all text), or one per value.
    public var formats: [Int16] {
        let formatCount = uint16(at: 0)
        return formatCount == 0 ? [] : (0..<count).map(format)
    }

    /// The format of value `index` under Bind's none / one-for-all / one-each rule (text when
    /// the codes run out).
    private func format(_ index: Int) -> Int16 {
        let formatCount = uint16(at: 0)
        let code = formatCount == 1 ? 0 : index
        guard code < formatCount else { return 0 }
        return Int16(bitPattern: UInt16(truncatingIfNeeded: uint16(at: 2 + 2 * code)))
    }

    /// Where the bytes of value `index` are in `encoded`; nil for NULL.
    private func valueRange(_ index: Int) -> Range<Int>? {
        var offset = valuesOffset + 2
        var n = 0
        while true {
            let length = Int(Int32(bitPattern: UInt32(uint16(at: offset)) << 16 | UInt32(uint16(at: offset + 2))))
            offset += 4
            if n == index { return length < 0 ? nil : offset..<offset + length }
            offset += max(length, 0)
            n += 1
        }
    }

    private func uint16(at offset: Int) -> Int {
        Int(encoded[offset]) << 8 | Int(encoded[offset + 1])
    }

    /// The key value of parameter `index` (0-based) compared with a key of type `keyType`, or
    /// nil when it cannot be known exactly (routing then treats it like any non-constant).
    func keyConstant(_ index: Int, castTo castType: ShardKeyType?, as keyType: ShardKeyType) -> KeyConstant? {
        guard index < count else { return nil }
        guard let range = valueRange(index) else { return .null }
        let format = format(index)
        let declared = index < types.count ? types[index] : 0
        let type = declared != 0 ? ShardKeyType(oid: declared) : (castType ?? keyType)
        guard let type, type.family == keyType.family else { return nil }
        let value: ShardKeyValue? = encoded.withUnsafeBufferPointer { buffer in
            let bytes = UnsafeBufferPointer(rebasing: buffer[range])
            return format == 1 ? type.decodeBinary(UnsafeRawBufferPointer(bytes)) : type.parse(utf8: bytes)
        }
        guard let value else { return nil }
        // The comparison converts the parameter to the key's type: it must mean the same there.
        if case .integer(let n) = value, keyType.integerRange?.contains(n) != true { return nil }
        return .value(value)
    }
}

extension BoundParameters {
    /// The elements of array parameter `index` as key values (`key = ANY($1)`): text format
    /// (`{1,2,3}`) or binary (PostgreSQL's array send format with elements of a key type of
    /// the key's family); nil when not known exactly.
    func arrayKeyConstants(_ index: Int, as keyType: ShardKeyType) -> [KeyConstant]? {
        guard index < count, let range = valueRange(index) else { return nil }
        let bytes = Array(encoded[range])
        let format = format(index)
        if format == 0 {
            guard let text = String(validating: bytes, as: UTF8.self), let elements = ArrayText.elements(text) else { return nil }
            return KeyResolver.arrayValues(elements, as: keyType)
        }
        return Self.binaryArray(bytes, as: keyType)
    }

    /// PostgreSQL's binary array: ndim, has-null flag, element type, (size, lower bound) per
    /// dimension, then each element as a length (-1 for NULL) and its bytes.
    private static func binaryArray(_ bytes: [UInt8], as keyType: ShardKeyType) -> [KeyConstant]? {
        var offset = 0
        func int32() -> Int32? {
            guard offset + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[offset..<offset + 4] { value = value << 8 | UInt32(byte) }
            offset += 4
            return Int32(bitPattern: value)
        }
        guard let dimensions = int32(), (0...6).contains(dimensions), int32() != nil,
              let elementOID = int32(), let elementType = ShardKeyType(oid: UInt32(bitPattern: elementOID)),
              elementType.hashesAlike(keyType)
        else { return nil }
        var count = dimensions == 0 ? 0 : 1
        for _ in 0..<dimensions {
            guard let size = int32(), size >= 0, int32() != nil else { return nil }
            count *= Int(size)
            guard count <= 1_000_000 else { return nil }
        }
        var constants: [KeyConstant] = []
        for _ in 0..<count {
            guard let length = int32() else { return nil }
            if length < 0 {
                constants.append(.null)
                continue
            }
            guard offset + Int(length) <= bytes.count,
                  let value = elementType.decodeBinary(Array(bytes[offset..<offset + Int(length)]))
            else { return nil }
            offset += Int(length)
            // The comparison converts each element to the key's type: it must mean the same there.
            if case .integer(let n) = value, keyType.parse(String(n)) == nil { return nil }
            constants.append(.value(value))
        }
        return offset == bytes.count ? constants : nil
    }
}

/// Set when routing met a `$n` parameter where a shard key constant could stand: the route
/// then depends on the bound values and must be computed again at each Bind.
final class ParameterUse: @unchecked Sendable {
    var used = false
}
