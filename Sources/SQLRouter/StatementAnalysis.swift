import Merge

/// A SELECT/INSERT/UPDATE/DELETE analysed up to its key values: what routing keeps to finish
/// the route at each Bind (and, with the plan cache, for each statement of the same shape).
struct DMLPlan: Sendable {
    /// The scan's facts, before ``KeyPlacement`` reads key values.
    var facts: StatementFacts
    /// A `$n` parameter stood where a key value could.
    var usesParameters: Bool
    /// An INSERT without RETURNING: rows on several shards may be split.
    var splittable: Bool
}

/// Routes one parsed statement by its kind.
struct StatementAnalysis {
    let schema: ShardingSchema
    let limits: RouterLimits
    let text: MessageText
    let parameters: BoundParameters?
    let context: RoutingContext
    /// Literal values for a plan made from another statement of the same shape (plan cache).
    var literals = LiteralValues()
    let parameterUse = ParameterUse()
    let trace = AnalysisTrace()

    /// The route of `statement` (the `stmt` node of one entry of libpg_query's `stmts`), whose
    /// own text is `sql`, at `range` of the message (nil: the whole message).
    func route(_ statement: JSONValue, sql: String, range: Range<Int>? = nil) throws(AnalysisError) -> Route {
        let range = range ?? text.statementRange(location: 0, length: 0)
        return try finalized(sql: sql) { hint throws(AnalysisError) in try route(statement, sql: sql, range: range, hint: hint) }
    }

    /// The route of a DML statement analysed before (a prepared statement at Bind).
    func route(_ plan: DMLPlan, sql: String) -> Route {
        (try? finalized(sql: sql) { hint in finish(plan, sql: sql, hint: hint) }) ?? .refuse(.tooDeeplyNested)
    }

    /// Applies what holds for every statement: the hint comment of `sql` (or the session's
    /// hint), which cannot send DDL or reference writes to one shard, and `cross_shard: deny`.
    private func finalized(sql: String, _ compute: (RoutingHint?) throws(AnalysisError) -> Route) throws(AnalysisError) -> Route {
        var hint = context.hint
        var hintFromComment = false
        switch RoutingHint.comment(in: sql, shardNames: schema.shardNames) {
        case .success(let commented)?:
            hint = commented
            hintFromComment = true
        case .failure(let error)?:
            return .refuse(error)
        case nil:
            break
        }
        trace.facts = nil
        trace.plan = nil
        trace.hint = hint
        let route = try compute(hint)
        var executed = route
        if case .explain(let inner, _) = route { executed = inner }
        if case .allShards(let kind) = executed, hintFromComment {
            return .refuse(.hintOnAllShardsStatement(kind == .ddl ? "DDL" : "a write to a reference table"))
        }
        return Self.applyPolicy(route, executed: executed, context: context, shardCount: schema.shardCount)
    }

    /// `cross_shard: deny` refuses a route that needs several shards.
    static func applyPolicy(_ route: Route, executed: Route, context: RoutingContext, shardCount: Int) -> Route {
        if case .scatter(let shards, let kind) = executed, context.crossShard == .deny {
            let what = kind == .write ? "write" : "read"
            return .refuse(.crossShardDenied("to \(what) \(shards.count == shardCount ? "every shard" : "\(shards.count) shards")"))
        }
        return route
    }

    private func route(_ statement: JSONValue, sql: String, range: Range<Int>, hint: RoutingHint?) throws(AnalysisError) -> Route {
        guard let node = statement.node else {
            return .refuse(.unsupportedStatement("this statement", hint: "report it to the pgshard developers"))
        }
        if NextIDCall.mayAppear(in: sql), NextIDCall.isCalled(in: statement) {
            return NextIDCall.route(statement, schema: schema)
        }
        switch node.type {
        case "SelectStmt" where UtilityRouting.setConfigCall(node.fields) != nil:
            // `SELECT set_config(name, value, is_local)`: a session setting like SET, replayed
            // as it is on every shard connection the session uses (a `$n` value is written in
            // at Bind).
            let call = UtilityRouting.setConfigCall(node.fields)!
            if let parameter = call.parameter {
                return .session(.setConfig(sql: sql, isLocal: call.isLocal, parameter: parameter.number, location: parameter.location))
            }
            return .session(.set(sql: sql, isLocal: call.isLocal))
        case "UpdateStmt" where node.fields["whereClause"]?.node("CurrentOfExpr") != nil,
             "DeleteStmt" where node.fields["whereClause"]?.node("CurrentOfExpr") != nil:
            // The row is where the cursor stands, not where a key says: routed by the cursor.
            let routed = try routeDML(statement, sql: sql, range: range, hint: hint, merging: false)
            let facts = trace.facts
            // No plan to cache or to finish at Bind: the route never depends on key values.
            trace.plan = nil
            return CursorRouting.currentOf(node.fields, routed: routed, facts: facts)
        case "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt":
            return try routeDML(statement, sql: sql, range: range, hint: hint)
        case "ExplainStmt":
            guard let inner = node.fields["query"] else { return .refuse(.explainAcrossShards()) }
            var route = try self.route(inner, sql: sql, range: range, hint: hint)
            if case .cursor(.declare(let cursor)) = route {
                // EXPLAIN DECLARE only plans the query: no cursor is made.
                route = cursor.placement.queryRoute
            }
            let options = (node.fields["options"]?.elements ?? []).compactMap { $0.node("DefElem") }
            let format = options.first { $0["defname"]?.string == "format" }?["arg"]?.node("String")?["sval"]?.string ?? "text"
            switch route {
            case .refuse, .session, .explain:
                return route
            case .shard, .anyShard:
                break
            default:
                // pgshard's lines and several plans fit only the text format.
                guard format.lowercased() == "text" else { return .refuse(.explainAcrossShards()) }
            }
            let lines = RouteExplainer(schema: schema).lines(route: route, sql: sql, trace: trace)
            return .explain(route, Explanation(lines: lines, textFormat: format.lowercased() == "text"))
        case "TransactionStmt":
            return UtilityRouting.transaction(node.fields)
        case "VariableSetStmt":
            return UtilityRouting.set(node.fields, sql: sql, shardNames: schema.shardNames)
        case "VariableShowStmt":
            if case .shard(let shard)? = hint { return .shard(shard) }
            return .anyShard
        case "DiscardStmt":
            return UtilityRouting.discard(node.fields)
        case "DeclareCursorStmt":
            guard let query = node.fields["query"] else { return .refuse(.unreadableParseTree) }
            // The query routes as the SELECT it is, `cross_shard: deny` included.
            let routed = try routeDML(query, sql: sql, range: range, hint: hint, merging: false)
            let queryRoute = Self.applyPolicy(routed, executed: routed, context: context, shardCount: schema.shardCount)
            return CursorRouting.declare(node.fields, query: queryRoute)
        case "FetchStmt":
            return CursorRouting.fetch(node.fields)
        case "ClosePortalStmt":
            return CursorRouting.close(node.fields)
        case "ListenStmt", "UnlistenStmt", "NotifyStmt":
            // Notifications live on one server: every session's LISTEN and NOTIFY go to the
            // first shard, as advisory locks do; LISTEN pins the session to its connection.
            return .shard(0)
        case "CopyStmt" where node.fields["is_from"]?.bool != true && node.fields["filename"] == nil:
            return try routeCopyOut(node.fields, sql: sql, range: range, hint: hint)
        case "CopyStmt" where node.fields["is_from"]?.bool == true:
            // Rows are placed by their own keys: a routing hint does not apply.
            return CopyInRouting(schema: schema).route(node.fields)
        case "CreateTableAsStmt":
            let kind = node.fields["objtype"]?.string == "OBJECT_MATVIEW" ? "CREATE MATERIALIZED VIEW" : "CREATE TABLE … AS"
            return .refuse(.createTableAs(kind))
        case let type where DDLRouting.statementTypes.contains(type):
            return try DDLRouting(schema: schema, maxDepth: limits.maxNestingDepth)
                .route(type: type, statement: node.fields)
        default:
            return .refuse(UtilityRouting.refusal(for: node.type, node.fields))
        }
    }

    /// `merging`: a cross-shard SELECT that needs the merge gets a plan (else ``RoutingError/mergeNeedsStatement``).
    private func routeDML(_ statement: JSONValue, sql: String, range: Range<Int>, hint: RoutingHint?,
                          merging: Bool = true) throws(AnalysisError) -> Route {
        let scanner = StatementScanner(
            schema: schema, predicates: KeyPredicates(text: text, parameterUse: parameterUse), maxDepth: limits.maxNestingDepth)
        try scanner.scanStatement(statement, ctes: [], parent: nil, depth: 0)
        let isInsert = statement.node("InsertStmt") != nil
        let plan = DMLPlan(
            facts: scanner.facts, usesParameters: parameterUse.used,
            splittable: isInsert && statement.node("InsertStmt")?["returningList"] == nil)
        trace.plan = plan
        let text = self.text
        let planner = merging ? statement.node("SelectStmt").map { select in { MergePlanner(select: select, text: text, range: range).plan() } } : nil
        return finish(plan, sql: sql, hint: hint, mergePlanner: planner)
    }

    /// `COPY table TO STDOUT` and `COPY (SELECT …) TO STDOUT`: where the rows are read, as for
    /// the SELECT; across shards the data is concatenated (text and CSV; not binary, whose
    /// header and trailer each shard would repeat).
    private func routeCopyOut(_ copy: JSONValue, sql: String, range: Range<Int>, hint: RoutingHint?) throws(AnalysisError) -> Route {
        let select: JSONValue
        if let query = copy["query"] {
            select = query
        } else if let relation = copy["relation"] {
            select = .object([JSONMember(key: "SelectStmt", value: .object([
                JSONMember(key: "fromClause", value: .array([.object([JSONMember(key: "RangeVar", value: relation)])])),
            ]))])
        } else {
            return .refuse(.unsupportedStatement("this COPY", hint: "use COPY table TO STDOUT or COPY (SELECT …) TO STDOUT"))
        }
        let options = (copy["options"]?.elements ?? []).compactMap { $0.node("DefElem") }
        func option(_ name: String) -> JSONValue? { options.first { $0["defname"]?.string == name } }
        let format = option("format")?["arg"]?.node("String")?["sval"]?.string?.lowercased() ?? "text"
        // HEADER, HEADER true/on/1 (a bare HEADER carries no argument).
        var header = false
        if let headerOption = option("header") {
            let argument = headerOption["arg"]
            let text = argument?.node("String")?["sval"]?.string?.lowercased() ?? argument?.node("Boolean").map { $0["boolval"]?.bool == true ? "true" : "false" }
                ?? argument?.node("Integer").map { $0["ival"]?.integer == 1 ? "true" : "false" }
            header = argument == nil || ["true", "on", "1", "match"].contains(text ?? "")
        }
        let route = try routeDML(select, sql: sql, range: range, hint: hint, merging: false)
        switch route {
        case .scatter(let shards, .read):
            guard format != "binary" else {
                return .refuse(.unsupportedStatement("COPY … TO STDOUT (FORMAT binary) across shards",
                                                     hint: "use FORMAT text or csv, or add a condition on the shard key"))
            }
            return .scatter(shards, .copyOut(header: header))
        case .refuse(.mergeNeedsStatement):
            return .refuse(.unsupportedStatement("COPY of a SELECT with ORDER BY, LIMIT, aggregates or DISTINCT across shards",
                                                 hint: "run the SELECT itself, or add a condition on the shard key"))
        case .shard, .anyShard, .refuse:
            return route
        default:
            return .refuse(.unsupportedStatement("this COPY", hint: "use COPY table TO STDOUT or COPY (SELECT …) TO STDOUT"))
        }
    }

    /// Reads the key values of a planned statement and routes it.
    private func finish(_ plan: DMLPlan, sql: String, hint: RoutingHint?,
                        mergePlanner: (() -> Result<MergePlan, RoutingError>)? = nil) -> Route {
        var facts = plan.facts
        defer { trace.facts = facts }
        if facts.unknownTable == nil, facts.refusal == nil, hint == nil {
            do {
                try KeyPlacement(resolver: KeyResolver(parameters: parameters, literals: literals)).apply(to: &facts)
            } catch {
                return .refuse(error)
            }
        }
        let route = DMLRouting(facts: facts, shardCount: schema.shardCount, hint: hint, mergePlanner: mergePlanner).route()
        if route == .refuse(.insertSpansShards()), let split = splitInsert(plan, sql: sql, facts: facts) {
            return split
        }
        return route
    }

    /// A multi-row INSERT of the simple protocol whose rows span shards, as one INSERT per
    /// shard. Not with RETURNING (its rows would come back in shard order, not VALUES order,
    /// and drivers match them to the rows they sent by position) nor with parameters (each
    /// shard's text would use only some of them).
    private func splitInsert(_ plan: DMLPlan, sql: String, facts: StatementFacts) -> Route? {
        guard plan.splittable, parameters == nil, !plan.usesParameters,
              let target = facts.occurrences.first(where: { $0.isWriteTarget && $0.level == 0 }),
              let rowShards = target.insertRowShards,
              let statements = InsertSplit.statements(sql, rowShards: rowShards)
        else { return nil }
        return .insertSplit(statements)
    }
}
