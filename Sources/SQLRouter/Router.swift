import Sharding

/// Decides where each statement of a simple-protocol Query message runs.
///
/// The router is pure: it parses the text with PostgreSQL's own parser (libpg_query), decodes
/// the parse tree into a narrow model and analyses it against the ``ShardingSchema``. It never
/// guesses: a statement it cannot route exactly is refused with a ``RoutingError`` whose message
/// says what is unsupported and whose hint says how to fix it.
///
/// Parsing and analysis run on a small pool of threads with very large stacks
/// (``RouterLimits``); ``route(_:)`` blocks its caller until the answer is ready.
///
/// Documented simplifications:
/// - Tables are looked up by name whatever their schema; `pg_catalog`/`information_schema`
///   tables, and unqualified `pg_*` names not configured, are catalogs.
/// - Only the AND-conjuncts of a level's WHERE clause restrict a sharded table: `key = const`,
///   `const = key`, `key IN (const, …)`. Join conditions do not carry a restriction from one
///   table to another.
/// - Contradictory key conditions (`id = 1 AND id = 2` on different shards) admit no row; such a
///   table counts as being on any shard, and a statement with nothing else fixing a shard runs
///   on shard 0.
/// - User-defined aggregates written with plain call syntax are not recognised, nor are
///   functions that read tables themselves.
/// - A write to a reference table that calls a clock, random or sequence function is refused,
///   but column defaults (`serial`, `DEFAULT now()`) are invisible in the statement and are
///   evaluated by every shard separately.
/// - The configured key column is trusted to exist with a type of the configured family (CREATE
///   and ALTER TABLE through pgshard are checked; `pgshard check` should verify existing tables)
///   and to use a deterministic collation.
public final class Router: Sendable {
    /// The tables the router knows.
    public let schema: ShardingSchema
    /// The bounds on statement size and nesting, as applied (``RouterLimits/clamped``).
    public let limits: RouterLimits
    let pool: ParserPool
    /// Plans by statement shape: a hit routes without parsing.
    let cache: LRUCache<StatementShape, CachedEntry>
    /// Makes the keys of tables with `key_generator: global_id` and `pgshard.next_id`.
    let idGenerator: GlobalIDGenerator
    /// Some table has a generated key: INSERTs are checked for keys left to pgshard.
    private let generatesKeys: Bool

    /// A router for `schema`. The limits are clamped (``RouterLimits/clamped``). Parser threads
    /// are shared by all routers whose limits need the same stack size, and started by the
    /// first of them.
    public init(schema: ShardingSchema, limits: RouterLimits = .init(), planCacheSize: Int = 10_000,
                idGenerator: GlobalIDGenerator = GlobalIDGenerator(nodeID: 0)) {
        self.schema = schema
        self.idGenerator = idGenerator
        self.generatesKeys = schema.tables.values.contains { if case .sharded(let key) = $0 { key.keyGenerator != nil } else { false } }
        self.limits = limits.clamped
        self.cache = LRUCache(capacity: planCacheSize)
        self.pool = ParserPool.shared(stackSize: ParserPool.stackSize(for: self.limits))
    }

    /// Routes every statement of one Query message, or the statement of an extended-protocol
    /// Parse (`parameters` nil: `$n` values unknown) or Bind (`parameters` bound).
    public func route(_ sql: String, parameters: BoundParameters? = nil, context: RoutingContext = .init()) -> RoutingOutcome {
        route(sql, parameters: parameters, context: context, generatingKeys: true)
    }

    /// `generatingKeys`: INSERTs that leave a generated key to pgshard get new keys written in.
    func route(_ sql: String, parameters: BoundParameters?, context: RoutingContext, generatingKeys: Bool) -> RoutingOutcome {
        let bytes = sql.utf8.count
        guard bytes <= limits.maxStatementBytes else {
            return .failure(.statementTooLarge(bytes: bytes, limit: limits.maxStatementBytes))
        }
        if generatingKeys, generatesKeys, parameters == nil, !sql.utf8.contains(0), let found = generatedInserts(sql) {
            return routeGenerated(sql, found, context: context)
        }
        // The lexer refuses control characters, NUL included: the check below is for other texts.
        if cache.capacity > 0, parameters == nil, bytes <= StatementLexer.maxBytes, let normalized = StatementLexer.normalize(sql) {
            if let entry = cache.value(for: normalized.key) {
                if let outcome = cachedRoute(entry.plan, sql: sql, normalized: normalized, context: context) { return outcome }
            } else {
                let (outcome, plan, _) = MessageRouting(schema: schema, limits: inlineLimits, context: context).routeForCache(sql, normalized: normalized)
                if outcome != .failure(.tooDeeplyNested) {
                    if let plan { cache.insert(CachedEntry(plan, shape: normalized.key), for: normalized.key) }
                    return outcome
                }
            }
        }
        guard !sql.utf8.contains(0) else { return .failure(.nulCharacter) }
        if bytes <= Self.inlineTextLimit {
            let outcome = MessageRouting(schema: schema, limits: inlineLimits, context: context).route(sql, parameters: parameters)
            if outcome != .failure(.tooDeeplyNested) { return outcome }
        }
        let routing = MessageRouting(schema: schema, limits: limits, context: context)
        return pool.run { routing.route(sql, parameters: parameters) }
    }

    /// The shard of a one-statement Query message whose shape the plan cache knows and whose
    /// key places it on one shard (`shard`, the route `.shard`) or which any shard can answer
    /// (`shard` nil, the route `.anyShard`); nil for everything else, which
    /// ``route(_:parameters:context:)`` routes. The message then runs whole on that shard: no
    /// statement text is cut out, no ``RoutedStatement`` made. A shard number rather than the
    /// ``Route``: copying and destroying a `Route` goes through its outlined value operations.
    /// `pins`: the statement names a ``PinningMarkers`` word outside its literals.
    public func singleShardRoute(_ sql: String, context: RoutingContext) -> SingleShardRoute? {
        guard cache.capacity > 0, context.hint == nil else { return nil }
        let bytes = sql.utf8.count
        guard bytes <= limits.maxStatementBytes, bytes <= StatementLexer.maxBytes else { return nil }
        if generatesKeys, Self.mentionsInsert(sql) { return nil }
        guard let normalized = StatementLexer.normalize(sql),
              let entry = cache.value(for: normalized.key, counting: false),
              let (fast, bindings) = entry.quick
        else { return nil }
        if let key = entry.integerKey, let shard = key.shard(of: normalized.slots, in: sql) {
            cache.countHit()
            return SingleShardRoute(shard: shard, pins: entry.pins)
        }
        let route = fast.route(KeyResolver(parameters: nil, literals: Self.literalValues(bindings, normalized, sql)), context: context)
        switch route {
        case .shard(let shard):
            cache.countHit()
            return SingleShardRoute(shard: shard, pins: entry.pins)
        case .anyShard:
            cache.countHit()
            return SingleShardRoute(shard: nil, pins: entry.pins)
        default:
            return nil
        }
    }

    /// A statement of a known shape: its cached plan with the statement's own literal values;
    /// nil when the route needs the statement's tree (a merge across shards).
    private func cachedRoute(_ plan: CachedPlan, sql: String, normalized: NormalizedStatement, context: RoutingContext) -> RoutingOutcome? {
        let (statementSQL, offset) = Self.statementText(sql, normalized.statement)
        var routed: RoutedStatement
        switch plan {
        case .generatedKey:
            return nil  // keys are written in before routing (generatedInserts)
        case .fixed(let route):
            routed = RoutedStatement(sql: statementSQL, characterOffset: offset, route: route)
        case .set(let isLocal):
            routed = RoutedStatement(sql: statementSQL, characterOffset: offset, route: .session(.set(sql: statementSQL, isLocal: isLocal)))
        case .dml(let dml, let bindings, let fast):
            let literals = Self.literalValues(bindings, normalized, sql)
            if let fast, context.hint == nil, !dml.usesParameters {
                let route = fast.route(KeyResolver(parameters: nil, literals: literals), context: context)
                if route.needsMergeStatement { return nil }
                return .statements([RoutedStatement(sql: statementSQL, characterOffset: offset, route: route)])
            }
            var analysis = StatementAnalysis(schema: schema, limits: limits, text: MessageText(sql), parameters: nil, context: context)
            analysis.literals = literals
            routed = RoutedStatement(sql: statementSQL, characterOffset: offset, route: analysis.route(dml, sql: statementSQL))
            if routed.route.needsMergeStatement { return nil }
            routed.dependsOnParameters = dml.usesParameters
        }
        return .statements([routed])
    }

    /// The statement's own text (`range`, in UTF-8 bytes of `sql`) and its offset in characters,
    /// read from the string itself: no copy of the whole message as bytes.
    private static func statementText(_ sql: String, _ range: Range<Int>) -> (String, Int) {
        let utf8 = sql.utf8
        guard range != 0..<utf8.count else { return (sql, 0) }
        let start = utf8.index(utf8.startIndex, offsetBy: range.lowerBound)
        let end = utf8.index(start, offsetBy: range.count)
        // PostgreSQL counts characters as Unicode scalars: the bytes that start one.
        let offset = range.lowerBound == 0 ? 0 : utf8[..<start].reduce(0) { $0 + ($1 & 0xC0 != 0x80 ? 1 : 0) }
        return (String(Substring(utf8[start..<end])), offset)
    }

    /// The new statement's literal values, by the locations the plan knows them by.
    /// `sql`: the message the statement was normalized from.
    private static func literalValues(_ bindings: [LiteralBinding], _ normalized: NormalizedStatement, _ sql: String) -> LiteralValues {
        var values = LiteralValues()
        guard !bindings.isEmpty else { return values }
        var sql = sql
        sql.withUTF8 { text in
            for binding in bindings {
                let value = normalized.slots.value(at: binding.slot, in: text)
                values.append(binding.negated ? "-" + value : value, at: binding.location)
            }
        }
        return values
    }

    /// The cached plan for a statement's shape (tests).
    func cachedPlan(for sql: String) -> CachedPlan? {
        StatementLexer.normalize(sql).flatMap { cache.value(for: $0.key)?.plan }
    }

    /// Plan cache counters (hits, misses, evictions, entries), for metrics and benchmarks.
    public var planCacheStatistics: (hits: Int, misses: Int, evictions: Int, count: Int) { cache.statistics }

    /// Statements up to this many bytes are parsed on the caller's thread (an ordinary 8 MiB
    /// stack: libpg_query needs about 130 bytes of stack per byte of text at worst), with
    /// ``inlineLimits``; a statement nested deeper than those allow goes to the parser threads.
    /// Handing a statement to another thread and back costs more than parsing a short one.
    static let inlineTextLimit = 4096

    private var inlineLimits: RouterLimits {
        RouterLimits(maxStatementBytes: limits.maxStatementBytes, maxNestingDepth: min(limits.maxNestingDepth, 256))
    }

    /// Routes the statement of an extended-protocol Parse (parameter values unknown). When its
    /// route depends on the parameters, also returns what ``route(_:parameters:)`` needs to
    /// route it at each Bind without parsing it again.
    /// `parameterCount`: the parameter types the Parse declares (generated keys are appended
    /// after the client's parameters, see ``GeneratedKeyParameters``).
    public func prepare(_ sql: String, context: RoutingContext = .init(), parameterCount: Int = 0) -> (outcome: RoutingOutcome, parameterized: ParameterizedRoute?) {
        let (outcome, parameterized) = prepare(sql, context: context, parameterCount: parameterCount, generatingKeys: true)
        // A one-table shape whose text names no hint: each Bind takes the fast route.
        if let plan = parameterized?.plan, RoutingHint.comment(in: sql, shardNames: schema.shardNames) == nil {
            parameterized?.fast = FastRoute(plan, shardCount: schema.shardCount)
        }
        return (outcome, parameterized)
    }

    func prepare(_ sql: String, context: RoutingContext, parameterCount: Int = 0, generatingKeys: Bool) -> (outcome: RoutingOutcome, parameterized: ParameterizedRoute?) {
        let bytes = sql.utf8.count
        guard bytes <= limits.maxStatementBytes else {
            return (.failure(.statementTooLarge(bytes: bytes, limit: limits.maxStatementBytes)), nil)
        }
        guard !sql.utf8.contains(0) else { return (.failure(.nulCharacter), nil) }
        if generatingKeys, generatesKeys, let found = generatedInserts(sql), found.count == 1, found[0].index == 0 {
            return prepareGenerated(sql, found[0], parameterCount: parameterCount, context: context)
        }
        if cache.capacity > 0, bytes <= StatementLexer.maxBytes, let normalized = StatementLexer.normalize(sql) {
            if let entry = cache.value(for: normalized.key) {
                let plan = entry.plan
                if let outcome = cachedRoute(plan, sql: sql, normalized: normalized, context: context) {
                    guard case .dml(let dml, let bindings, _) = plan, dml.usesParameters else { return (outcome, nil) }
                    let prepared = ParameterizedRoute(statement: nil, plan: dml, sql: sql, depth: 0)
                    prepared.literals = Self.literalValues(bindings, normalized, sql)
                    return (outcome, prepared)
                }
            } else {
                let (outcome, plan, kept) = MessageRouting(schema: schema, limits: inlineLimits, context: context).routeForCache(sql, normalized: normalized)
                if outcome != .failure(.tooDeeplyNested) {
                    if let plan { cache.insert(CachedEntry(plan, shape: normalized.key), for: normalized.key) }
                    return (outcome, kept)
                }
            }
        }
        if bytes <= Self.inlineTextLimit {
            let result = MessageRouting(schema: schema, limits: inlineLimits, context: context).route(sql, parameters: nil, keepTree: true)
            if result.outcome != .failure(.tooDeeplyNested) { return (result.outcome, result.kept) }
        }
        let routing = MessageRouting(schema: schema, limits: limits, context: context)
        let result = pool.run { routing.route(sql, parameters: nil, keepTree: true) }
        return (result.outcome, result.kept)
    }

    /// The route of a prepared statement with the values a Bind supplied.
    public func route(_ prepared: ParameterizedRoute, parameters: BoundParameters, context: RoutingContext = .init()) -> Route {
        let schema = self.schema, limits = self.limits
        if let fast = prepared.fast, context.hint == nil {
            // What the analysis below would answer, without copying the plan's facts; for the
            // usual `key = $n`, without a resolver either (and a shard needs no merge).
            if let route = fast.route(bound: parameters) { return route }
            let route = fast.route(KeyResolver(parameters: parameters, literals: prepared.literals), context: context)
            if !route.needsMergeStatement { return route }
        }
        if let plan = prepared.plan {
            // Reading key values does not recurse along the parse tree: no big stack needed.
            var analysis = StatementAnalysis(schema: schema, limits: limits, text: MessageText(prepared.sql), parameters: parameters, context: context)
            analysis.literals = prepared.literals
            let route = analysis.route(plan, sql: prepared.sql)
            guard route.needsMergeStatement else { return route }
            // A merge is planned from the statement itself.
            if prepared.statement == nil {
                if case .statements(let statements) = self.route(prepared.sql, parameters: parameters, context: context), statements.count == 1 {
                    return statements[0].route
                }
                return route
            }
        }
        guard let statement = prepared.statement else { return .refuse(.unreadableParseTree) }
        let job: @Sendable () -> Route = {
            let analysis = StatementAnalysis(schema: schema, limits: limits, text: MessageText(prepared.sql), parameters: parameters, context: context)
            return (try? analysis.route(statement, sql: prepared.sql)) ?? .refuse(.tooDeeplyNested)
        }
        // Analysis recurses along the tree: small trees run here, deep ones on the big stacks.
        return prepared.depth <= Self.inlineDepth ? job() : pool.run(job)
    }

    /// Routes a message like ``route(_:parameters:context:)`` and explains every statement's
    /// route (``RoutedStatement/explanation``): for `pgshard route`.
    public func explain(_ sql: String, context: RoutingContext = .init()) -> RoutingOutcome {
        // Generated keys are written in first, as when the statement runs (with other keys).
        var refusals: [Int: RoutingError] = [:]
        var sql = sql
        if generatesKeys, let found = generatedInserts(sql) { (sql, refusals, _) = writeKeys(sql, found, context: context) }
        var routing = MessageRouting(schema: schema, limits: limits, context: context)
        routing.explain = true
        let explaining = routing, message = sql
        let outcome = pool.run { explaining.route(message, parameters: nil) }
        guard !refusals.isEmpty, case .statements(var statements) = outcome else { return outcome }
        for (index, error) in refusals where index < statements.count { statements[index].route = .refuse(error) }
        return .statements(statements)
    }

    /// The deepest parse tree analysed on the caller's thread.
    static let inlineDepth = 96
}

/// ``Router/singleShardRoute(_:context:)``'s answer.
public struct SingleShardRoute: Sendable {
    /// The shard the key places the statement on; nil when any shard can answer it.
    public var shard: Int?
    /// The statement names a ``PinningMarkers`` word outside its literals.
    public var pins: Bool
}

extension Route {
    /// A cross-shard SELECT whose merge must be planned from the statement itself
    /// (``RoutingError/mergeNeedsStatement``). A pattern match rather than `==`: every routed
    /// statement asks, and comparing whole routes costs more than a fast route.
    var needsMergeStatement: Bool {
        guard case .refuse(let error) = self else { return false }
        return error == .mergeNeedsStatement
    }
}
