import Sharding

/// The parameter values of an extended-protocol Bind, as routing needs them: each value's bytes,
/// its format (0 text, 1 binary) and the type the client declared in Parse (0 = unspecified).
public struct BoundParameters: Sendable {
    public var values: [[UInt8]?]
    public var formats: [Int16]
    public var types: [UInt32]

    /// `formats` and `types` have one entry per value (resolve Bind's none/one/each rule first);
    /// missing `types` entries count as unspecified.
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
            value = type.parse(String(decoding: bytes, as: UTF8.self))
        }
        guard let value else { return nil }
        // The comparison converts the parameter to the key's type: it must mean the same there.
        if case .integer(let n) = value, keyType.parse(String(n)) == nil { return nil }
        return .value(value)
    }
}

/// Set when routing met a `$n` parameter where a shard key constant could stand: the route
/// then depends on the bound values and must be computed again at each Bind.
final class ParameterUse: @unchecked Sendable {
    var used = false
}
