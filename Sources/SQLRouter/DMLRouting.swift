import Merge
import Sharding

/// Turns the facts of a SELECT/INSERT/UPDATE/DELETE into a route.
///
/// 1. Every sharded occurrence restricted to one shard S (or to none: contradictory key
///    conditions admit no row anywhere), every pinned table on S → `.shard(S)`. Only
///    reference/catalog tables or none → `.anyShard` for reads, `.allShards(.referenceWrite)`
///    for writes to reference tables.
/// 2. Otherwise a SELECT may scatter when its sharded tables are one component of the top-level
///    FROM list (joined on equal keys of co-located tables) plus subquery tables correlated with
///    it on the key, no other FROM item is preserved against a sharded table by an outer join,
///    and nothing at the top level combines rows (`readAcrossShards`); an UPDATE/DELETE may
///    scatter over the shards its key conditions admit, all shards without one
///    (`writeAcrossShards`). Everything else is refused with the most specific reason found.
struct DMLRouting {
    let facts: StatementFacts
    let shardCount: Int
    /// A routing hint (comment or session setting): the statement goes where it says.
    var hint: RoutingHint?
    /// Makes the merge plan of a SELECT whose top level combines rows across shards; nil when
    /// the statement's text and tree are not at hand (a plan-cache hit), which then answers
    /// ``RoutingError/mergeNeedsStatement``.
    var mergePlanner: (() -> Result<MergePlan, RoutingError>)?

    func route() -> Route {
        if let table = facts.unknownTable { return .refuse(.unknownTable(table.relname)) }
        if let refusal = facts.refusal { return .refuse(refusal) }
        let occurrences = facts.occurrences
        if let catalogTarget = occurrences.first(where: { $0.isWriteTarget && $0.placement == .catalog }) {
            return .refuse(.catalogWrite(catalogTarget.table.relname))
        }
        if let hint { return hinted(hint) }
        if let refusal = facts.keyRefusal { return .refuse(refusal) }
        let sharded = occurrences.filter { $0.shardKey != nil }
        let pinned = occurrences.filter { if case .pinned = $0.placement { true } else { false } }
        let referenceTarget = occurrences.first { $0.isWriteTarget && $0.placement == .reference }

        if facts.sessionFunction == "set_config" {
            return .refuse(.setConfig())
        }
        if sharded.isEmpty && pinned.isEmpty {
            // Advisory locks are server-wide: every session must take them on the same shard.
            if facts.sessionFunction != nil && referenceTarget == nil { return .shard(0) }
            guard let referenceTarget else { return .anyShard }
            if let function = facts.volatileFunction {
                return .refuse(.volatileReferenceWrite(referenceTarget, function: function))
            }
            return .allShards(.referenceWrite)
        }
        if let referenceTarget {
            return .refuse(.referenceWriteReadsShardedData(referenceTarget, sharded.first ?? pinned[0]))
        }
        if let shard = singleShard(sharded: sharded, pinned: pinned) {
            return .shard(shard)
        }
        let isWrite = facts.levels.first?.kind != .select && facts.levels.first?.kind != .setOperation
        if isWrite || facts.hasNestedWrite {
            return writeAcrossShards(sharded: sharded, pinned: pinned)
        }
        return readAcrossShards(sharded: sharded, pinned: pinned)
    }

    /// A hinted statement runs on the hinted shard, unless it writes a reference table (every
    /// copy must change) or names a table pinned elsewhere.
    private func hinted(_ hint: RoutingHint) -> Route {
        if facts.occurrences.contains(where: { $0.isWriteTarget && $0.placement == .reference }) {
            return .refuse(.hintOnAllShardsStatement("a write to a reference table"))
        }
        let shard: Int
        switch hint {
        case .shard(let hinted):
            shard = hinted
        case .key(let value):
            switch keyHintShard(value) {
            case .success(let placed): shard = placed
            case .failure(let error): return .refuse(error)
            }
        }
        for occurrence in facts.occurrences {
            if case .pinned(let pinned) = occurrence.placement, pinned != shard {
                return .refuse(.hintedPinnedElsewhere(occurrence, shard: pinned, hinted: shard))
            }
        }
        return .shard(shard)
    }

    /// The shard of a key hint under the sharding function of every sharded table named (they
    /// must agree), else of a pinned table.
    private func keyHintShard(_ value: String) -> Result<Int, RoutingError> {
        var chosen: (shard: Int, occurrence: TableOccurrence)?
        for occurrence in facts.occurrences {
            guard let key = occurrence.shardKey else { continue }
            guard key.keyColumns.count == 1 else { return .failure(.keyHintCompositeKey(occurrence)) }
            let shard: Int
            switch key.readShard(keyText: value, table: occurrence.table.relname) {
            case .success(let placed?): shard = placed
            case .success(nil):
                return .failure(.noShardForKey(table: occurrence.table.relname, key: key, .noRule(column: 0, value: key.keyTypes[0].parse(value))))
            case .failure(let error): return .failure(error)
            }
            if let chosen, chosen.shard != shard { return .failure(.keyHintAmbiguous(chosen.occurrence, occurrence)) }
            chosen = (shard, occurrence)
        }
        if let chosen { return .success(chosen.shard) }
        if let pinned = facts.occurrences.first(where: { if case .pinned = $0.placement { true } else { false } }),
           case .pinned(let shard) = pinned.placement {
            return .success(shard)
        }
        return .failure(.keyHintWithoutShardedTable())
    }

    /// The one shard every sharded and pinned occurrence lives on, if there is one.
    private func singleShard(sharded: [TableOccurrence], pinned: [TableOccurrence]) -> Int? {
        var shards = Set<Int>()
        for occurrence in sharded {
            guard case .shards(let admitted) = occurrence.restriction, admitted.count <= 1 else { return nil }
            shards.formUnion(admitted)
        }
        for occurrence in pinned {
            if case .pinned(let shard) = occurrence.placement { shards.insert(shard) }
        }
        guard shards.count <= 1 else { return nil }
        // No shard at all: every key condition admits no row, so any shard answers alike.
        return shards.first ?? 0
    }

    private func pinnedShard(_ occurrence: TableOccurrence) -> Int {
        if case .pinned(let shard) = occurrence.placement { return shard }
        return -1
    }

    private func onlyShard(_ occurrence: TableOccurrence) -> Int? {
        if case .shards(let shards) = occurrence.restriction, shards.count == 1 { return shards.first }
        return nil
    }

    /// Refusals that apply to reads and writes alike: pinned tables on different shards, a
    /// pinned table with a sharded one elsewhere, keys fixed to different shards.
    private func placementConflict(sharded: [TableOccurrence], pinned: [TableOccurrence], keys: Bool = true) -> RoutingError? {
        if let first = pinned.first, let other = pinned.first(where: { pinnedShard($0) != pinnedShard(first) }) {
            return .pinnedOnDifferentShards(first, pinnedShard(first), other, pinnedShard(other))
        }
        if let first = pinned.first, let other = sharded.first(where: { onlyShard($0) != pinnedShard(first) }) {
            return .pinnedWithSharded(first, shard: pinnedShard(first), other)
        }
        let fixed = sharded.compactMap { occurrence in onlyShard(occurrence).map { (occurrence, $0) } }
        if keys, fixed.count == sharded.count, let first = fixed.first, let other = fixed.first(where: { $0.1 != first.1 }) {
            return .keysOnDifferentShards(first.0, first.1, other.0, other.1)
        }
        return nil
    }

    private func writeAcrossShards(sharded: [TableOccurrence], pinned: [TableOccurrence]) -> Route {
        if facts.hasNestedWrite { return .refuse(.nestedWriteAcrossShards()) }
        if let conflict = placementConflict(sharded: sharded, pinned: pinned) { return .refuse(conflict) }
        let kind = facts.levels[0].kind
        let verb = kind == .update ? "UPDATE" : kind == .delete ? "DELETE" : "INSERT"
        guard let target = facts.occurrences.first(where: { $0.isWriteTarget && $0.level == 0 }),
              target.shardKey != nil
        else {
            // A pinned target reading a sharded table on other shards.
            if let first = pinned.first, let other = sharded.first(where: { onlyShard($0) == nil }) ?? sharded.first {
                return .refuse(.pinnedWithSharded(first, shard: pinnedShard(first), other))
            }
            return .refuse(.unroutableAcrossShards())
        }
        // Other sharded tables must meet the target's rows only on equal keys: joined to it on
        // the key (same level) or correlated with it (subqueries).
        if let other = sharded.first(where: {
            !$0.isWriteTarget && ($0.group != target.group || ($0.level == target.level && $0.component != target.component))
        }) {
            return .refuse(.writeReadsShardedTable(verb, target, other))
        }
        if kind == .insert, target.insertRows != nil {
            return .refuse(.insertSpansShards())
        }
        if kind == .insert {
            return .refuse(.insertSelect(table: target.table.relname))
        }
        guard kind == .update || kind == .delete else {
            return .refuse(.writeWithoutShardKey(verb, target))
        }
        switch target.restriction {
        case .shards(let shards): return .scatter(shards.sorted(), .write)
        case .unrestricted: return .scatter(Array(0..<shardCount), .write)
        }
    }

    private func readAcrossShards(sharded: [TableOccurrence], pinned: [TableOccurrence]) -> Route {
        // Arms of a UNION ALL may read different shards: each shard answers its part of every arm.
        let unionAll = facts.levels.first?.kind == .setOperation && facts.levels.first?.isUnionAll == true
        if let conflict = placementConflict(sharded: sharded, pinned: pinned, keys: !unionAll) { return .refuse(conflict) }
        guard let top = facts.levels.first, !sharded.isEmpty else { return .refuse(.unroutableAcrossShards()) }
        // `UNION ALL` of arms that each run on every shard separately is their concatenation.
        var arms = [0]
        if top.kind == .setOperation {
            guard let unionArms = unionAllArms(0), top.combining == [.setOperation] else {
                return .refuse(.combiningAcrossShards(.setOperation, sharded[0]))
            }
            arms = unionArms
        }
        // The top SELECT's own ORDER BY, LIMIT, aggregates, GROUP BY, DISTINCT: merged.
        let merging = top.kind == .select && !top.combining.isEmpty && !top.combining.contains(.window)
        var shards = Set<Int>()
        var covered = Set<Int>()
        for arm in arms {
            let levels = descendants(of: arm)
            covered.formUnion(levels)
            switch armAcrossShards(arm, sharded.filter { levels.contains($0.level) }, merged: merging && arm == 0) {
            case .failure(let error): return .refuse(error)
            case .success(let armShards): shards.formUnion(armShards)
            }
        }
        // A sharded table outside every arm (a CTE of the whole UNION) is read across shards.
        if let outside = sharded.first(where: { !covered.contains($0.level) }) {
            return .refuse(.subqueryOnShardedTable(outside))
        }
        if hasOuterAggregate() {
            return .refuse(.outerAggregateInSubquery(sharded[0]))
        }
        guard merging else { return .scatter(shards.sorted(), .read) }
        guard let mergePlanner else { return .refuse(.mergeNeedsStatement) }
        switch mergePlanner() {
        case .success(let plan): return .scatter(shards.sorted(), .merge(plan))
        case .failure(let error): return .refuse(error)
        }
    }

    /// The arms (SELECT levels) of the `UNION ALL` at `level`, through nested `UNION ALL`s; nil
    /// when any set operation in it is not a plain `UNION ALL`.
    private func unionAllArms(_ level: Int) -> [Int]? {
        guard facts.levels[level].isUnionAll else { return nil }
        var arms: [Int] = []
        for child in facts.levels.indices where facts.levels[child].parent == level && facts.levels[child].isArm {
            switch facts.levels[child].kind {
            case .setOperation:
                // A nested set operation must be a bare UNION ALL too.
                guard facts.levels[child].combining == [.setOperation], let nested = unionAllArms(child) else { return nil }
                arms += nested
            case .select:
                arms.append(child)
            default:
                return nil
            }
        }
        return arms
    }

    /// `level` and every level inside it.
    private func descendants(of level: Int) -> Set<Int> {
        var result: Set<Int> = [level]
        for index in facts.levels.indices where index > level {
            if let parent = facts.levels[index].parent, result.contains(parent) { result.insert(index) }
        }
        return result
    }

    /// The shards a SELECT level (the statement, or one arm of a UNION ALL) reads when each
    /// shard computes its own part: one component of the level's FROM list (tables joined on
    /// equal keys) and, in subqueries, only tables correlated with it on the key.
    /// `merged`: the level's combining clauses are carried out by the merge.
    private func armAcrossShards(_ level: Int, _ sharded: [TableOccurrence], merged: Bool = false) -> Result<Set<Int>, RoutingError> {
        let arm = facts.levels[level]
        guard let occurrence = sharded.first(where: { $0.level == level && $0.isInRange }) else {
            // An arm without a sharded table would be answered once per shard.
            if let any = sharded.first ?? facts.occurrences.first(where: { $0.shardKey != nil }) {
                return .failure(sharded.isEmpty ? .combiningAcrossShards(.setOperation, any) : .subqueryOnShardedTable(any))
            }
            return .failure(.unroutableAcrossShards())
        }
        if let partner = sharded.first(where: { $0.level == level && $0.component != occurrence.component }) {
            return .failure(.joinOfShardedTables(occurrence, partner))
        }
        if let nested = sharded.first(where: { $0.group != occurrence.group || !$0.isInRange }) {
            return .failure(.subqueryOnShardedTable(nested))
        }
        // Each result row must hold a row of a sharded table, which lives on one shard: when
        // every sharded table is on the nullable side of an outer join, rows of the other FROM
        // items without a partner would come from every shard.
        let own = sharded.filter { $0.level == level }
        if arm.hasOtherRangeItems, own.allSatisfy({ $0.nullableBy != nil }), let nullable = own.first {
            return .failure(.outerJoinAcrossShards(nullable, joinType: nullable.nullableBy ?? "OUTER"))
        }
        let order: [CombiningClause] = [.aggregate, .window, .groupBy, .having, .distinct, .orderBy, .limit]
        if !merged, let clause = order.first(where: { arm.combining.contains($0) }) {
            return .failure(.combiningAcrossShards(clause, occurrence))
        }
        switch occurrence.restriction {
        case .unrestricted: return .success(Set(0..<shardCount))
        case .shards(let admitted): return .success(admitted)
        }
    }

    /// Whether an aggregate in a subquery might belong to the top level. PostgreSQL evaluates
    /// an aggregate at the level of the columns it reads, so `(SELECT max(u.x) FROM t)` in a
    /// query over `users u` aggregates `users`. An aggregate is known to be local when it reads
    /// no column or only columns qualified with a range name of its own level.
    private func hasOuterAggregate() -> Bool {
        for level in facts.levels.dropFirst() {
            for call in level.aggregates where !Self.readsOnlyLocalColumns(call, rangeNames: level.rangeNames) {
                return true
            }
        }
        return false
    }

    private static func readsOnlyLocalColumns(_ call: JSONValue, rangeNames: Set<String>) -> Bool {
        var work = [call]
        while let value = work.popLast() {
            switch value {
            case .array(let elements):
                work.append(contentsOf: elements)
            case .object(let members):
                if let node = value.node {
                    if node.type == "SelectStmt" { return false }
                    if node.type == "ColumnRef" {
                        guard let fields = node.fields["fields"]?.nameList, fields.count >= 2,
                              rangeNames.contains(fields[fields.count - 2])
                        else { return false }
                        continue
                    }
                }
                work.append(contentsOf: members.map(\.value))
            default:
                continue
            }
        }
        return true
    }
}
