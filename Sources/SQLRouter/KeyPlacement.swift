/// Reads the key values of a scanned statement: the shards each sharded occurrence's rows can
/// be on, which occurrences are joined on equal keys (components), and which meet only on equal
/// keys across levels (groups).
struct KeyPlacement {
    let resolver: KeyResolver

    func apply(to facts: inout StatementFacts) throws(RoutingError) {
        for index in facts.occurrences.indices {
            guard let key = facts.occurrences[index].shardKey else { continue }
            let occurrence = facts.occurrences[index]
            if let rows = occurrence.insertRows {
                var shards = Set<Int>()
                var rowShards: [Int] = []
                rowShards.reserveCapacity(rows.count)
                for row in rows {
                    guard let shard = try resolver.shard(ofRow: row, key: key, table: occurrence.table.relname) else {
                        // A parameter not bound yet, or a value routing cannot read exactly.
                        throw .insertKeyNotConstant(key: key.keyColumns.joined(separator: ", "))
                    }
                    shards.insert(shard)
                    rowShards.append(shard)
                }
                facts.occurrences[index].restriction = .shards(shards)
                facts.occurrences[index].insertRowShards = rowShards
            } else if occurrence.isInRange {
                let formula = facts.levels[occurrence.level].whereFormula
                if let shards = try resolver.shards(formula, occurrence: index, key: key, table: occurrence.table.relname) {
                    facts.occurrences[index].restriction = .shards(shards)
                } else if case .success(let used) = key.function.shards(for: []), used.count < key.function.shardCount {
                    // A list or range function that uses only some shards: the others hold no row.
                    facts.occurrences[index].restriction = .shards(used)
                }
            }
        }
        link(&facts)
    }

    /// Components from same-level key equalities (their restrictions intersect: every row the
    /// level produces satisfies the equality), then groups from all equalities; a correlated
    /// subquery's component is narrowed by its enclosing component's restriction.
    private func link(_ facts: inout StatementFacts) {
        var components = UnionFind(count: facts.occurrences.count)
        var groups = UnionFind(count: facts.occurrences.count)
        let levels = facts.occurrences.map(\.level)
        let levelOf = { (reference: KeyColumnReference) in levels[reference.occurrence] }
        for equality in facts.keyEqualities {
            groups.union(equality.left.occurrence, equality.right.occurrence)
            if levelOf(equality.left) == levelOf(equality.right) {
                components.union(equality.left.occurrence, equality.right.occurrence)
            }
        }
        var restrictions: [Int: ShardRestriction] = [:]
        for (index, occurrence) in facts.occurrences.enumerated() where occurrence.shardKey != nil {
            let root = components.find(index)
            restrictions[root] = restrictions[root, default: .unrestricted].intersection(occurrence.restriction)
        }
        // Enclosing levels come first in level order.
        let correlated = facts.keyEqualities
            .filter { levelOf($0.left) != levelOf($0.right) }
            .sorted { max(levelOf($0.left), levelOf($0.right)) < max(levelOf($1.left), levelOf($1.right)) }
        for equality in correlated {
            let (outer, inner) = levelOf(equality.left) < levelOf(equality.right) ? (equality.left, equality.right) : (equality.right, equality.left)
            let outerRoot = components.find(outer.occurrence), innerRoot = components.find(inner.occurrence)
            restrictions[innerRoot] = restrictions[innerRoot, default: .unrestricted].intersection(restrictions[outerRoot, default: .unrestricted])
        }
        for index in facts.occurrences.indices where facts.occurrences[index].shardKey != nil {
            let root = components.find(index)
            facts.occurrences[index].component = root
            facts.occurrences[index].group = groups.find(index)
            facts.occurrences[index].restriction = restrictions[root] ?? .unrestricted
        }
        // INSERT … SELECT: the inserted keys are the source table's, so are their shards.
        for equality in facts.keyEqualities where facts.occurrences[equality.left.occurrence].keyFromSelect {
            let source = components.find(equality.right.occurrence)
            facts.occurrences[equality.left.occurrence].restriction = restrictions[source] ?? .unrestricted
        }
    }
}

extension ShardRestriction {
    /// Both restrictions at once.
    func intersection(_ other: ShardRestriction) -> ShardRestriction {
        switch other {
        case .unrestricted: self
        case .shards(let shards): intersection(shards)
        }
    }
}

/// Disjoint sets over `0..<count`.
struct UnionFind {
    private var parent: [Int]

    init(count: Int) {
        parent = Array(0..<count)
    }

    mutating func find(_ element: Int) -> Int {
        var root = element
        while parent[root] != root { root = parent[root] }
        var current = element
        while parent[current] != root {
            let next = parent[current]
            parent[current] = root
            current = next
        }
        return root
    }

    mutating func union(_ a: Int, _ b: Int) {
        let rootA = find(a), rootB = find(b)
        if rootA != rootB { parent[max(rootA, rootB)] = min(rootA, rootB) }
    }
}
