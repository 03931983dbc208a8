import Sharding

/// The parameter values of an extended-protocol Bind, as routing needs them: each value's bytes,
/// its format (0 text, 1 binary) and the type the client declared in Parse (0 = unspecified).
public struct BoundParameters: Sendable {
    public var values: [[UInt8]?]
    public var formats: [Int16]
    public var types: [UInt32]

    /// `formats` and `types` have an entry per value or none (resolve Bind's one-for-all rule
    /// first); a missing `formats` entry counts as text, a missing `types` entry as unspecified.
    public init(values: [[UInt8]?], formats: [Int16], types: [UInt32]) {
        self.values = values
        self.formats = formats
        self.types = types
    }

    /// The key value of parameter `index` (0-based) compared with a key of type `keyType`, or
    /// nil when it cannot be known exactly (routing then treats it like any non-constant).
    func keyConstant(_ index: Int, castTo castType: ShardKeyType?, as keyType: ShardKeyType) -> KeyConstant? {
        guard index < values.count else { return nil }
        guard let bytes = values[index] else { return .null }
        let format = index < formats.count ? formats[index] : 0
        let declared = index < types.count ? types[index] : 0
        let type = declared != 0 ? ShardKeyType(oid: declared) : (castType ?? keyType)
        guard let type, type.family == keyType.family else { return nil }
        let value: ShardKeyValue?
        if format == 1 {
            value = type.decodeBinary(bytes)
        } else {
            value = type.parse(utf8: bytes)
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
        guard index < values.count, let bytes = values[index] else { return nil }
        let format = index < formats.count ? formats[index] : 0
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
