import Sharding

/// The shard of a cached `key = <integer literal>` shape (``FastRoute/equalsTerm`` a plain
/// literal on a one-column integer key), read from the literal's bytes in the new message:
/// no `String` made for the value, none parsed again. Decides exactly what
/// ``FastRoute/route(_:context:)`` decides for such a statement when the key places it on a
/// shard; for anything else (a literal that is not all digits, a value out of the type's range,
/// a key no shard holds) it answers nil and the statement takes that route.
struct IntegerKeyLookup: Sendable {
    /// The literal's index among the statement's literals.
    let slot: Int
    let keyType: ShardKeyType
    let function: ShardingFunction

    init?(_ fast: FastRoute, bindings: [LiteralBinding]) {
        // The resolver reads a literal term's value by its location (the first binding there).
        guard fast.insertRow == nil,
              case .literal(let literal, castTo: nil, negated: false)? = fast.equalsTerm,
              literal.kind == .integer || literal.kind == .numeric,
              let binding = bindings.first(where: { $0.location == literal.location }), !binding.negated,
              fast.key.keyTypes[0].integerRange != nil
        else { return nil }
        slot = binding.slot
        keyType = fast.key.keyTypes[0]
        function = fast.key.function
    }

    /// The shard of the statement whose literals are `slots`, found in `sql`; nil when the
    /// literal is not plain digits or the key value places it on no shard.
    func shard(of slots: LiteralSlots, in sql: String) -> Int? {
        guard slot < slots.count else { return nil }
        let literal = slots[slot]
        // Digits only: a whole number, as an integer key requires.
        guard literal.kind == .integer else { return nil }
        var sql = sql
        let value = sql.withUTF8 { text in
            keyType.parse(utf8: UnsafeBufferPointer(rebasing: text[literal.location..<literal.extent]))
        }
        guard let value, case .success(let shard?) = function.readShard(for: value) else { return nil }
        return shard
    }
}
