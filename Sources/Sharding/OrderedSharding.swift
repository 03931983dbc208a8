/// The `range` function: each rule holds the keys from `lower` (inclusive) to `upper`
/// (exclusive), as PostgreSQL's `PARTITION BY RANGE` bounds do; a missing bound is open.
/// A key no rule holds goes to `defaultShard`, or has no shard.
public struct RangeShardingFunction: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public var lower: ShardKeyValue?
        public var upper: ShardKeyValue?
        public var shard: Int

        public init(lower: ShardKeyValue?, upper: ShardKeyValue?, shard: Int) {
            self.lower = lower
            self.upper = upper
            self.shard = shard
        }

        func contains(_ value: ShardKeyValue) -> Bool {
            if let lower, let order = value.compare(lower), order < 0 { return false }
            if let upper, let order = value.compare(upper), order >= 0 { return false }
            return true
        }

        /// Whether some key in the rule can also lie in `range` (a superset answer is fine).
        func intersects(_ range: KeyRange) -> Bool {
            if let upperQuery = range.upper, let lower {
                // Needs a key >= lower that is < (or <=) the query's upper bound.
                if let order = lower.compare(upperQuery.value), order > 0 || (order == 0 && !upperQuery.inclusive) { return false }
            }
            if let lowerQuery = range.lower, let upper {
                // Needs a key < upper that is >= (or >) the query's lower bound.
                if let order = lowerQuery.value.compare(upper), order >= 0 { return false }
            }
            return true
        }
    }

    public var rules: [Rule]
    public var defaultShard: Int?

    public init(rules: [Rule], defaultShard: Int?) {
        self.rules = rules
        self.defaultShard = defaultShard
    }

    /// The shard of one key; nil when no rule holds it and there is no default. NULL fits only
    /// the default, as in PostgreSQL.
    public func shard(for value: ShardKeyValue?) -> Int? {
        guard let value else { return defaultShard }
        return rules.first { $0.contains(value) }?.shard ?? defaultShard
    }

    /// The shards whose rules can hold keys in `range`, and the default (a range may reach keys
    /// no rule holds).
    public func shards(in range: KeyRange) -> Set<Int> {
        var shards = Set(rules.filter { $0.intersects(range) }.map(\.shard))
        if let defaultShard { shards.insert(defaultShard) }
        return shards
    }

    var allShards: Set<Int> {
        Set(rules.map(\.shard) + [defaultShard].compactMap { $0 })
    }
}

/// The `list` function: each listed value (NULL included) belongs to one shard; other keys go
/// to `defaultShard`, or have no shard.
public struct ListShardingFunction: Sendable, Hashable {
    public var shardOf: [ShardKeyValue?: Int]
    public var defaultShard: Int?

    public init(shardOf: [ShardKeyValue?: Int], defaultShard: Int?) {
        self.shardOf = shardOf
        self.defaultShard = defaultShard
    }

    public func shard(for value: ShardKeyValue?) -> Int? {
        shardOf[value] ?? defaultShard
    }

    var allShards: Set<Int> {
        Set(shardOf.values).union([defaultShard].compactMap { $0 })
    }
}

/// The `consistent` function: a hash ring. Every shard owns `vnodes × weight` points at
/// `hashtextextended('<name>#<i>', 0)`; a key belongs to the first point at or after its own
/// position, PostgreSQL's extended hash of the key with seed 0 (wrapping around). Adding a
/// shard moves only the keys the new points take, about 1/N of them.
public struct ConsistentShardingFunction: Sendable, Hashable {
    public let names: [String]
    public let weights: [Int]
    public let vnodes: Int
    /// Ring points, sorted by position.
    let ring: [Point]

    struct Point: Sendable, Hashable {
        var position: UInt64
        var shard: Int
    }

    /// `names` and `weights` by shard index.
    public init(names: [String], weights: [Int], vnodes: Int) {
        self.names = names
        self.weights = weights
        self.vnodes = vnodes
        var ring: [Point] = []
        for (shard, name) in names.enumerated() {
            let count = vnodes * max(1, shard < weights.count ? weights[shard] : 1)
            for i in 0..<count {
                ring.append(Point(position: PostgresHash.hashTextExtended("\(name)#\(i)", seed: 0), shard: shard))
            }
        }
        self.ring = ring.sorted { ($0.position, $0.shard) < ($1.position, $1.shard) }
    }

    /// The shard of a key at ring position `position`.
    public func shard(atPosition position: UInt64) -> Int {
        var low = 0, high = ring.count
        while low < high {
            let middle = (low + high) / 2
            if ring[middle].position < position { low = middle + 1 } else { high = middle }
        }
        return ring[low == ring.count ? 0 : low].shard
    }

    /// NULL has no position: no shard.
    public func shard(for value: ShardKeyValue?) -> Int? {
        guard let value else { return nil }
        return shard(atPosition: value.hashExtended(seed: 0))
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.names == b.names && a.weights == b.weights && a.vnodes == b.vnodes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(names)
        hasher.combine(weights)
        hasher.combine(vnodes)
    }
}

/// The `modulo-md5` function: the first 8 hex digits of `md5(key::text)` as an unsigned 32-bit
/// number, modulo the number of shards — how many application-side routers place keys.
public struct ModuloMD5ShardingFunction: Sendable, Hashable {
    public let shardCount: Int

    public init(shardCount: Int) {
        self.shardCount = shardCount
    }

    public func shard(for value: ShardKeyValue?) -> Int? {
        guard let value else { return nil }
        let digest = MD5.digest(Array(value.postgresText.utf8))
        let prefix = UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
        return Int(prefix % UInt32(shardCount))
    }
}

extension ShardKeyValue {
    /// The value as PostgreSQL's output function writes it (`key::text`) for integers, text,
    /// uuid and numeric; dates and timestamps in ISO form.
    public var postgresText: String {
        switch self {
        case .integer(let value): return String(value)
        case .text(let text): return text
        case .uuid(let uuid): return uuid.canonicalString
        case .numeric(let value): return value.description
        case .date(let days): return TimeText.isoDate(Int(days))
        case .timestamp(let micros): return TimeText.isoTimestamp(micros)
        case .timestamptz(let micros): return TimeText.isoTimestamp(micros) + "+00"
        }
    }
}

extension UUIDBytes {
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower case, as `uuid_out` writes it.
    public var canonicalString: String {
        let hex = Array("0123456789abcdef")
        var text = ""
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { text.append("-") }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0xF)])
        }
        return text
    }
}
