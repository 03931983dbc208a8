/// A JSON value as libpg_query writes it: the generic tree that parse-tree analysis walks.
///
/// Objects keep their members in document order as an array; libpg_query's objects are small,
/// so a linear lookup is faster than hashing every key.
enum JSONValue: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number.
    case double(Double)
    /// A string, escapes decoded.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, members in document order.
    case object([JSONMember])
}

/// One `"key": value` pair of a JSON object.
struct JSONMember: Sendable {
    var key: String
    var value: JSONValue
}

extension JSONValue {
    /// The value of the first member named `key` of an object; `nil` for a missing member or a
    /// value that is not an object.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key {
            return member.value
        }
        return nil
    }

    /// The members of an object, or none.
    var members: [JSONMember] {
        if case .object(let members) = self { return members }
        return []
    }

    /// The elements of an array, or none (libpg_query omits empty lists).
    var elements: [JSONValue] {
        if case .array(let elements) = self { return elements }
        return []
    }

    /// The string of a string value.
    var string: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The integer of an integer value.
    var integer: Int64? {
        if case .integer(let integer) = self { return integer }
        return nil
    }

    /// The boolean of a boolean value.
    var bool: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    /// A libpg_query node is an object with exactly one member, named after the node type
    /// (`{"SelectStmt": {...}}`): its type and its fields.
    var node: (type: String, fields: JSONValue)? {
        guard case .object(let members) = self, members.count == 1,
              case .object = members[0].value
        else { return nil }
        return (members[0].key, members[0].value)
    }

    /// The fields of this value when it is a node of type `type`.
    func node(_ type: String) -> JSONValue? {
        guard let node, node.type == type else { return nil }
        return node.fields
    }
}

extension JSONValue: Equatable {}
extension JSONMember: Equatable {}
