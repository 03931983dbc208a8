/// The named statements a shard connection holds prepared, with when each was last used: the
/// session layer prepares statements lazily per connection and closes the least recently used
/// beyond a limit.
///
/// The statement used last is kept apart: a pooled client binds the same statement again and
/// again, and comparing its name costs less than hashing it. It is always the one with the
/// newest use, so not stamping it again keeps the order of uses as it is.
public struct PreparedStatements: Sendable {
    private var lastUse: [String: UInt64] = [:]
    /// The name used last; empty when none (the unnamed statement is never kept).
    private var newest = ""
    private var clock: UInt64 = 0

    public init() {}

    /// How many statements the connection holds.
    public var count: Int { lastUse.count }

    /// Whether the connection holds `name`.
    public func contains(_ name: String) -> Bool {
        !name.isEmpty && (name == newest || lastUse[name] != nil)
    }

    /// Notes a use of `name`; false when the connection does not hold it.
    public mutating func use(_ name: String) -> Bool {
        if name == newest { return !name.isEmpty }
        guard let index = lastUse.index(forKey: name) else { return false }
        clock &+= 1
        lastUse.values[index] = clock
        newest = name
        return true
    }

    /// Notes that `name` was prepared on the connection (a use too).
    public mutating func insert(_ name: String) {
        guard !name.isEmpty else { return }
        clock &+= 1
        lastUse[name] = clock
        newest = name
    }

    /// Forgets `name` (closed, or its Parse failed).
    public mutating func remove(_ name: String) {
        lastUse[name] = nil
        if name == newest { newest = "" }
    }

    /// Forgets every statement (DISCARD ALL, DEALLOCATE ALL).
    public mutating func removeAll() {
        if !lastUse.isEmpty { lastUse = [:] }
        newest = ""
    }

    /// The statement used longest ago.
    public var leastRecentlyUsed: String? {
        lastUse.min { $0.value < $1.value }?.key
    }
}
