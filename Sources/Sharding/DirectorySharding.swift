/// Where the `directory` function looks keys up: a table key → shard kept in a PostgreSQL
/// database (see `DirectoryStore` in the proxy). Implementations cache with a bound and are
/// safe to call from any thread.
public protocol DirectoryLookup: AnyObject, Sendable {
    /// The shard recorded for `key` in `directory`; nil when the key has none yet. With
    /// `assign`, a key without a shard is given the least-loaded shard (by weight) and recorded
    /// first. Throws when the directory database cannot answer.
    func shard(directory: String, key: String, assign: Bool) throws(DirectoryError) -> Int?
}

/// The directory database could not answer.
public struct DirectoryError: Error, Sendable, Hashable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}

/// The `directory` function: each key's shard is whatever the directory says; a new key
/// (written by an INSERT) goes to the least-loaded shard and is recorded. Tables naming the same
/// `directory` are co-located.
public struct DirectoryShardingFunction: Sendable, Hashable {
    public let directory: String
    public let lookup: any DirectoryLookup

    public init(directory: String, lookup: any DirectoryLookup) {
        self.directory = directory
        self.lookup = lookup
    }

    /// The shard of an existing key (nil: the key is not in the directory, so no row has it).
    func existingShard(_ value: ShardKeyValue) throws(DirectoryError) -> Int? {
        try lookup.shard(directory: directory, key: value.postgresText, assign: false)
    }

    /// The shard of a key being written, assigned when new.
    func assignedShard(_ value: ShardKeyValue) throws(DirectoryError) -> Int? {
        try lookup.shard(directory: directory, key: value.postgresText, assign: true)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.directory == b.directory && a.lookup === b.lookup
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(directory)
        hasher.combine(ObjectIdentifier(lookup))
    }
}
