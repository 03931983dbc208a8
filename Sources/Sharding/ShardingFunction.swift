/// A rule that maps the values of a table's shard key columns to shards.
///
/// Tables whose functions are equal (same kind, same parameters, same shard list) are
/// *co-located*: rows with equal keys live on the same shard, so a join on the key stays on
/// one shard.
public struct ShardingFunction: Sendable, Hashable {
    /// The kinds of sharding function.
    public enum Kind: Sendable, Hashable {
        /// PostgreSQL's `PARTITION BY HASH`, bit for bit (also for composite keys).
        case hash(HashShardingFunction)
        /// Key ranges per shard (numbers, dates, timestamps).
        case range(RangeShardingFunction)
        /// Key values per shard.
        case list(ListShardingFunction)
        /// A hash ring with virtual nodes.
        case consistent(ConsistentShardingFunction)
        /// md5 of the key's text modulo the shard count.
        case moduloMD5(ModuloMD5ShardingFunction)
        /// A lookup table of key → shard in a database.
        case directory(DirectoryShardingFunction)
        /// Tenant → group of shards, second key → shard inside the group.
        case group(GroupShardingFunction)
    }

    /// What this function is.
    public let kind: Kind
    /// How many shards the schema has (a function may use only some of them).
    public let shardCount: Int

    /// A function of this kind over `shardCount` shards.
    public init(_ kind: Kind, shardCount: Int? = nil) {
        self.kind = kind
        if case .hash(let hash) = kind {
            self.shardCount = shardCount ?? hash.shardCount
        } else {
            self.shardCount = shardCount ?? 1
        }
    }

    /// The `hash` function over `shardCount` shards.
    public static func hash(shardCount: Int) -> ShardingFunction {
        ShardingFunction(.hash(HashShardingFunction(shardCount: shardCount)))
    }

    /// The name of the function in the configuration (`hash`, `range`, …).
    public var name: String {
        switch kind {
        case .hash: "hash"
        case .range: "range"
        case .list: "list"
        case .consistent: "consistent"
        case .moduloMD5: "modulo-md5"
        case .directory: "directory"
        case .group: "group"
        }
    }

    /// Whether the function places keys by their order, so a range condition (`BETWEEN`,
    /// `<`, `>`) on the first key column narrows the shards.
    public var isOrdered: Bool {
        if case .range = kind { return true }
        return false
    }

    /// The shards that can hold a row whose key columns satisfy `constraints` (one per key
    /// column, in key order; missing trailing entries mean ``KeyConstraint/any``). A superset
    /// is allowed (more shards than needed is still correct), a shard missing from it is a bug.
    /// An empty set means no row can satisfy the constraints.
    ///
    /// Fails when a value that the constraints fix matches no rule of the function (a `list` or
    /// `range` without a default): such a key has no shard, and writing or reading it is an error.
    public func shards(for constraints: [KeyConstraint]) -> Result<Set<Int>, PlacementError> {
        if case .hash(let hash) = kind {
            return .success(hash.shards(for: constraints))
        }
        if case .group(let group) = kind {
            return group.shards(for: constraints)
        }
        // The other functions have one key column.
        if case .directory(let directory) = kind, case .values(let values) = constraints.first ?? .any {
            // A key the directory does not know has no row anywhere: it adds no shard.
            var shards = Set<Int>()
            for case let value? in values {
                do {
                    if let shard = try directory.existingShard(value) { shards.insert(shard) }
                } catch {
                    return .failure(.unavailable(error.message))
                }
            }
            return .success(shards)
        }
        switch constraints.first ?? .any {
        case .any:
            return .success(usedShards)
        case .range(let range):
            if case .range(let function) = kind { return .success(function.shards(in: range)) }
            return .success(usedShards)
        case .values(let values):
            var shards = Set<Int>()
            for value in values {
                guard let shard = singleShard(value) else { return .failure(.noRule(column: 0, value: value)) }
                shards.insert(shard)
            }
            return .success(shards)
        }
    }

    /// The shard of one row's key (one value per key column, `nil` for NULL).
    public func shard(for key: [ShardKeyValue?]) -> Result<Int, PlacementError> {
        if case .hash(let hash) = kind {
            return .success(hash.shardIndex(for: key))
        }
        if case .group(let group) = kind {
            guard let shard = group.shard(tenant: key.first ?? nil, key: key.count > 1 ? key[1] : nil) else {
                return .failure(.noRule(column: 0, value: key.first ?? nil))
            }
            return .success(shard)
        }
        let value = key.first ?? nil
        if case .directory(let directory) = kind {
            guard let value else { return .failure(.noRule(column: 0, value: nil)) }
            do {
                guard let shard = try directory.assignedShard(value) else { return .failure(.noRule(column: 0, value: value)) }
                return .success(shard)
            } catch {
                return .failure(.unavailable(error.message))
            }
        }
        guard let shard = singleShard(value) else { return .failure(.noRule(column: 0, value: value)) }
        return .success(shard)
    }

    /// The shard holding rows whose one key column equals `value`, for reading (a directory key
    /// is looked up, never assigned): nil when no row can have that key.
    public func readShard(for value: ShardKeyValue) -> Result<Int?, PlacementError> {
        switch kind {
        case .hash(let hash):
            return .success(hash.shardIndex(of: value))
        case .directory(let directory):
            do {
                return .success(try directory.existingShard(value))
            } catch {
                return .failure(.unavailable(error.message))
            }
        default:
            guard let shard = singleShard(value) else { return .failure(.noRule(column: 0, value: value)) }
            return .success(shard)
        }
    }

    private func singleShard(_ value: ShardKeyValue?) -> Int? {
        switch kind {
        case .hash(let hash): hash.shardIndex(for: [value])
        case .range(let function): function.shard(for: value)
        case .list(let function): function.shard(for: value)
        case .consistent(let function): function.shard(for: value)
        case .moduloMD5(let function): function.shard(for: value)
        case .directory, .group: nil  // handled by the callers
        }
    }

    /// Every shard the function can place a key on.
    private var usedShards: Set<Int> {
        switch kind {
        case .range(let function): function.allShards
        case .list(let function): function.allShards
        case .group(let function): Set(function.groups.flatMap { $0 })
        default: Set(0..<shardCount)
        }
    }
}

/// What a statement says about one key column of a table.
public enum KeyConstraint: Sendable, Hashable {
    /// Nothing usable: any value.
    case any
    /// The column equals one of these values (`nil` is SQL NULL, which only an INSERT can place).
    case values([ShardKeyValue?])
    /// The column lies in this range (only ordered functions narrow on it).
    case range(KeyRange)
}

/// An interval of key values; a missing bound is open.
public struct KeyRange: Sendable, Hashable {
    public var lower: KeyBound?
    public var upper: KeyBound?

    public init(lower: KeyBound? = nil, upper: KeyBound? = nil) {
        self.lower = lower
        self.upper = upper
    }
}

/// One end of a ``KeyRange``.
public struct KeyBound: Sendable, Hashable {
    public var value: ShardKeyValue
    /// `<=`/`>=`/`BETWEEN` rather than `<`/`>`.
    public var inclusive: Bool

    public init(_ value: ShardKeyValue, inclusive: Bool) {
        self.value = value
        self.inclusive = inclusive
    }
}

/// Why a key has no shard.
public enum PlacementError: Error, Sendable, Hashable {
    /// The value (of the key column at `column`) matches no rule of a `list` or `range`
    /// function that has no default.
    case noRule(column: Int, value: ShardKeyValue?)
    /// The `directory` function's database could not answer.
    case unavailable(String)
}

extension HashShardingFunction {
    /// The most key combinations a composite-key constraint is expanded into before the answer
    /// becomes "every shard".
    static let maxCombinations = 4096

    /// Hash placement needs every key column fixed to values; otherwise any shard.
    func shards(for constraints: [KeyConstraint]) -> Set<Int> {
        var columns: [[ShardKeyValue?]] = []
        var combinations = 1
        for constraint in constraints {
            guard case .values(let values) = constraint else { return Set(0..<shardCount) }
            combinations *= max(values.count, 1)
            guard combinations <= Self.maxCombinations else { return Set(0..<shardCount) }
            columns.append(values)
        }
        guard !columns.isEmpty else { return Set(0..<shardCount) }
        var shards = Set<Int>()
        var key: [ShardKeyValue?] = []
        func expand(_ column: Int) {
            if column == columns.count {
                shards.insert(shardIndex(for: key))
                return
            }
            for value in columns[column] {
                key.append(value)
                expand(column + 1)
                key.removeLast()
            }
        }
        expand(0)
        return shards
    }
}

extension ShardKeyType {
    /// Whether equal values of the two types always land on the same shard: `int2`/`int4`/`int8`
    /// hash alike in PostgreSQL's integer opfamily, `varchar` uses `text`'s functions.
    public func hashesAlike(_ other: ShardKeyType) -> Bool {
        switch (self, other) {
        case (.smallint, .smallint), (.smallint, .integer), (.smallint, .bigint),
             (.integer, .smallint), (.integer, .integer), (.integer, .bigint),
             (.bigint, .smallint), (.bigint, .integer), (.bigint, .bigint),
             (.text, .text), (.text, .varchar), (.varchar, .text), (.varchar, .varchar),
             (.uuid, .uuid), (.date, .date), (.timestamp, .timestamp), (.timestamptz, .timestamptz), (.numeric, .numeric):
            true
        default:
            false
        }
    }
}
