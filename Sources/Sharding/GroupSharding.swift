/// Shard groups: the first key column (a tenant) picks a group of shards — by an explicit list,
/// or by PostgreSQL's hash over the groups — and the second key column picks the shard inside
/// the group with PostgreSQL's hash modulo the group's size. A tenant's rows stay within its
/// group; a tenant's statement without the second key runs on its group only.
public struct GroupShardingFunction: Sendable, Hashable {
    /// Each group's shards, in order.
    public let groups: [[Int]]
    /// Tenant → group index; tenants not listed go to `defaultGroup`, or (without a list) are
    /// hashed over the groups.
    public let groupOf: [ShardKeyValue: Int]?
    public let defaultGroup: Int?

    public init(groups: [[Int]], groupOf: [ShardKeyValue: Int]?, defaultGroup: Int?) {
        self.groups = groups
        self.groupOf = groupOf
        self.defaultGroup = defaultGroup
    }

    /// The group of a tenant; nil when it has none.
    func group(of tenant: ShardKeyValue?) -> Int? {
        guard let tenant else { return nil }
        if let groupOf { return groupOf[tenant] ?? defaultGroup }
        return HashShardingFunction(shardCount: groups.count).shardIndex(for: [tenant])
    }

    func shard(tenant: ShardKeyValue?, key: ShardKeyValue?) -> Int? {
        guard let group = group(of: tenant) else { return nil }
        let members = groups[group]
        return members[HashShardingFunction(shardCount: members.count).shardIndex(for: [key])]
    }

    func shards(for constraints: [KeyConstraint]) -> Result<Set<Int>, PlacementError> {
        guard case .values(let tenants)? = constraints.first else {
            return .success(Set(groups.flatMap { $0 }))
        }
        var shards = Set<Int>()
        for tenant in tenants {
            guard let group = group(of: tenant) else { return .failure(.noRule(column: 0, value: tenant)) }
            if constraints.count > 1, case .values(let keys) = constraints[1] {
                let members = groups[group]
                for key in keys { shards.insert(members[HashShardingFunction(shardCount: members.count).shardIndex(for: [key])]) }
            } else {
                shards.formUnion(groups[group])
            }
        }
        return .success(shards)
    }
}
