import Sharding

/// An extended-protocol INSERT whose generated keys pgshard passes as parameters it appends to
/// every Bind: the Parse text the shards prepare takes `$first` … `$(first + count - 1)` (int8)
/// after the client's own parameters.
public struct GeneratedKeyParameters: Sendable, Equatable {
    /// The Parse text with the key parameters written in: what the shards prepare.
    public var sql: String
    /// The number of the first appended parameter; the client's parameters come before it.
    public var first: Int
    /// How many keys each Bind appends (one per row that leaves its key to pgshard).
    public var count: Int
    let table: String
    let key: ShardedTable
    /// The statement's hint comment: the keys are made to land on its shard.
    let hint: RoutingHint?
}

/// One statement of a message that leaves a generated key to pgshard.
struct FoundGeneratedInsert {
    /// The statement's position among the message's statements.
    var index: Int
    /// Its text's byte range in the message.
    var range: Range<Int>
    var insert: Result<GeneratedKeyInsert, RoutingError>
}

extension Router {
    /// A new id for `SELECT pgshard.next_id(…)`.
    public func nextID() -> GlobalID { idGenerator.next() }

    /// The keys of one Bind of an extended-protocol INSERT with generated keys, all on one
    /// shard (see ``generatedKeys(_:key:table:hint:)``).
    public func generatedKeys(_ parameters: GeneratedKeyParameters, context: RoutingContext) -> [GlobalID] {
        generatedKeys(parameters.count, key: parameters.key, table: parameters.table, hint: parameters.hint ?? context.hint)
    }

    /// `count` new keys of `key`'s table that all land on one shard: the hinted shard, else the
    /// first key's. So a multi-row INSERT stays on one shard (one transaction, RETURNING in
    /// VALUES order, the extended protocol can run it). Keys that land elsewhere are skipped —
    /// about (shards − 1) per row under `hash` — up to 64 × shards draws per row; past that the
    /// rest are taken as they come (the statement is then routed as its keys say).
    func generatedKeys(_ count: Int, key: ShardedTable, table: String, hint: RoutingHint?) -> [GlobalID] {
        var target = hint.flatMap { hintedShard($0, key: key, table: table) }
        var keys: [GlobalID] = []
        keys.reserveCapacity(count)
        let limit = 64 * max(1, schema.shardCount) * count
        var draws = 0
        while keys.count < count {
            let id = idGenerator.next()
            draws += 1
            guard case .success(let shard) = key.function.shard(for: [.integer(id.value)]) else {
                keys.append(id)  // no shard: routing reports it
                continue
            }
            if target == nil { target = shard }
            if shard == target || draws > limit { keys.append(id) }
        }
        return keys
    }

    private func hintedShard(_ hint: RoutingHint, key: ShardedTable, table: String) -> Int? {
        switch hint {
        case .shard(let shard): return shard
        case .key(let text):
            if case .success(let shard?) = key.readShard(keyText: text, table: table) { return shard }
            return nil
        }
    }

    /// The statements of a Query or Parse message that leave a generated key to pgshard; nil
    /// when there are none (the message is routed as written). One-statement messages are
    /// remembered by shape in the plan cache (``CachedPlan/generatedKey(_:)``).
    func generatedInserts(_ sql: String) -> [FoundGeneratedInsert]? {
        guard Self.mentionsInsert(sql) else { return nil }
        let bytes = sql.utf8.count
        var cacheKey: StatementShape?
        if cache.capacity > 0, bytes <= StatementLexer.maxBytes, let normalized = StatementLexer.normalize(sql) {
            if let entry = cache.value(for: normalized.key) {
                guard case .generatedKey(let insert) = entry.plan else { return nil }
                return [FoundGeneratedInsert(index: 0, range: normalized.statement, insert: .success(insert))]
            }
            cacheKey = normalized.key
        }
        let maxDepth = limits.maxNestingDepth
        let parsed = bytes <= Self.inlineTextLimit
            ? PgQueryParser.parse(sql, maxDepth: min(maxDepth, 256))
            : pool.run { PgQueryParser.parse(sql, maxDepth: maxDepth) }
        // Errors are the normal path's to report.
        guard case .success(let tree) = parsed else { return nil }
        let text = MessageText(sql)
        var found: [FoundGeneratedInsert] = []
        var index = 0
        for entry in tree["stmts"]?.elements ?? [] {
            guard let statement = entry["stmt"] else { continue }
            defer { index += 1 }
            guard let insert = GeneratedKeyInsert.detect(statement, schema: schema) else { continue }
            let range = text.statementRange(location: Int(entry["stmt_location"]?.integer ?? 0), length: Int(entry["stmt_len"]?.integer ?? 0))
            found.append(FoundGeneratedInsert(index: index, range: range, insert: insert))
        }
        if let cacheKey, index == 1, found.count == 1, case .success(let insert) = found[0].insert {
            cache.insert(CachedEntry(.generatedKey(insert), shape: cacheKey), for: cacheKey)
        }
        return found.isEmpty ? nil : found
    }

    /// Routes a Query message after writing new generated keys into its INSERTs. A rewritten
    /// statement's route names its text (``Route/insertSplit(_:)``, one part per shard), so
    /// the text sent is never the client's; error positions of later statements are the
    /// client's.
    func routeGenerated(_ sql: String, _ found: [FoundGeneratedInsert], context: RoutingContext) -> RoutingOutcome {
        let (message, refusals, growth) = writeKeys(sql, found, context: context)
        let outcome = route(message, parameters: nil, context: context, generatingKeys: false)
        guard case .statements(var statements) = outcome else { return outcome }
        var shift = 0
        for index in statements.indices {
            statements[index].characterOffset -= shift
            if let error = refusals[index] {
                statements[index].route = .refuse(error)
            } else if let added = growth[index] {
                if case .shard(let shard) = statements[index].route {
                    statements[index].route = .insertSplit([ShardStatement(shard: shard, sql: statements[index].sql)])
                }
                shift += added
            }
        }
        return .statements(statements)
    }

    /// The message with new keys written into its INSERTs; the refusals by statement index, and
    /// the characters each rewritten statement gained.
    func writeKeys(_ sql: String, _ found: [FoundGeneratedInsert], context: RoutingContext)
        -> (message: String, refusals: [Int: RoutingError], growth: [Int: Int]) {
        let text = MessageText(sql)
        var bytes = Array(sql.utf8)
        var refusals: [Int: RoutingError] = [:]
        var growth: [Int: Int] = [:]  // characters added, by statement
        for item in found.reversed() {
            switch item.insert {
            case .failure(let error):
                refusals[item.index] = error
            case .success(let insert):
                let statement = text.text(item.range)
                let hint = Self.commentHint(statement, shardNames: schema.shardNames) ?? context.hint
                let keys = generatedKeys(insert.generatedRows.count, key: insert.key, table: insert.table, hint: hint)
                guard let rewritten = insert.rewrite(statement, keys: keys.map(\.description)) else {
                    refusals[item.index] = .generatedKeyUnreadable(table: insert.table)
                    continue
                }
                bytes.replaceSubrange(item.range, with: Array(rewritten.utf8))
                growth[item.index] = rewritten.unicodeScalars.count - statement.unicodeScalars.count
            }
        }
        return (growth.isEmpty ? sql : String(decoding: bytes, as: UTF8.self), refusals, growth)
    }

    /// Prepares a Parse whose one statement leaves generated keys to pgshard: the text gets
    /// `$n` parameters (after the client's `parameterCount` and every `$n` it uses) where the
    /// keys go, and is routed at each Bind by the keys appended (``GeneratedKeyParameters``).
    func prepareGenerated(_ sql: String, _ found: FoundGeneratedInsert, parameterCount: Int, context: RoutingContext)
        -> (outcome: RoutingOutcome, parameterized: ParameterizedRoute?) {
        let text = MessageText(sql)
        let statement = text.text(found.range)
        let offset = text.characterCount(from: 0, to: found.range.lowerBound)
        let insert: GeneratedKeyInsert
        switch found.insert {
        case .failure(let error):
            return (.statements([RoutedStatement(sql: statement, characterOffset: offset, route: .refuse(error))]), nil)
        case .success(let success):
            insert = success
        }
        let first = max(parameterCount, Self.highestParameter(in: sql)) + 1
        let keys = insert.generatedRows.indices.map { "$\(first + $0)" }
        guard let rewritten = insert.rewrite(statement, keys: keys) else {
            return (.statements([RoutedStatement(sql: statement, characterOffset: offset, route: .refuse(.generatedKeyUnreadable(table: insert.table)))]), nil)
        }
        var bytes = Array(sql.utf8)
        bytes.replaceSubrange(found.range, with: Array(rewritten.utf8))
        let message = String(decoding: bytes, as: UTF8.self)
        let (outcome, parameterized) = prepare(message, context: context, generatingKeys: false)
        guard case .statements(var statements) = outcome, statements.count == 1 else { return (outcome, parameterized) }
        statements[0].generatedKeys = GeneratedKeyParameters(
            sql: message, first: first, count: keys.count, table: insert.table, key: insert.key,
            hint: Self.commentHint(statement, shardNames: schema.shardNames))
        return (.statements(statements), parameterized)
    }

    private static func commentHint(_ sql: String, shardNames: [String]) -> RoutingHint? {
        if case .success(let hint)? = RoutingHint.comment(in: sql, shardNames: shardNames) { return hint }
        return nil
    }

    /// The highest `$n` the text uses (outside strings and comments).
    static func highestParameter(in sql: String) -> Int {
        let bytes = Array(sql.utf8)
        var highest = 0
        SQLScanner.scan(bytes) { token in
            guard case .word(let range) = token, range.count > 1, bytes[range.lowerBound] == UInt8(ascii: "$"),
                  let number = Int(String(decoding: bytes[(range.lowerBound + 1)..<range.upperBound], as: UTF8.self))
            else { return }
            highest = max(highest, number)
        }
        return highest
    }

    /// Whether `insert` occurs in the text, ASCII case-insensitively (a byte scan: only such
    /// messages are looked at for generated keys).
    static func mentionsInsert(_ sql: String) -> Bool {
        var text = sql
        return text.withUTF8 { bytes in
            let word: [UInt8] = Array("insert".utf8)
            guard bytes.count >= word.count else { return false }
            outer: for start in 0...(bytes.count - word.count) where bytes[start] | 0x20 == word[0] {
                for offset in 1..<word.count where bytes[start + offset] | 0x20 != word[offset] { continue outer }
                return true
            }
            return false
        }
    }
}
