/// Routes a whole Query message; runs on a ``ParserPool`` thread.
struct MessageRouting {
    let schema: ShardingSchema
    let limits: RouterLimits
    let context: RoutingContext
    /// Attach pgshard's explanation to every routed statement.
    var explain = false

    func route(_ sql: String, parameters: BoundParameters?) -> RoutingOutcome {
        route(sql, parameters: parameters, keepTree: false).outcome
    }

    /// Routes the message; with `keepTree`, also returns the parse tree of its only statement
    /// when that statement's route depends on parameters.
    func route(_ sql: String, parameters: BoundParameters?, keepTree: Bool) -> (outcome: RoutingOutcome, kept: ParameterizedRoute?) {
        var kept: ParameterizedRoute?
        let outcome = routeMessage(sql, parameters: parameters) { statement, analysis, _ in
            guard keepTree, analysis.parameterUse.used else { return }
            // The plan is the statement's own (not an EXPLAIN's inner statement).
            let isDML = ["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt"].contains(statement.node?.type ?? "")
            kept = ParameterizedRoute(statement: statement, plan: isDML ? analysis.trace.plan : nil, sql: sql, depth: statement.depth)
        }
        if case .statements(let statements) = outcome, statements.count == 1, statements[0].dependsOnParameters {
            return (outcome, kept)
        }
        return (outcome, nil)
    }

    /// Routes a one-statement message the lexer normalized, and returns what the plan cache can
    /// keep of it.
    func routeForCache(_ sql: String, normalized: NormalizedStatement) -> (outcome: RoutingOutcome, plan: CachedPlan?, kept: ParameterizedRoute?) {
        var plan: CachedPlan?
        var kept: ParameterizedRoute?
        let outcome = routeMessage(sql, parameters: nil) { statement, analysis, route in
            guard let type = statement.node?.type else { return }
            plan = CachedPlan.make(type: type, route: route, plan: analysis.trace.plan, normalized: normalized, text: analysis.text, shardCount: schema.shardCount)
            if analysis.parameterUse.used {
                let isDML = ["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt"].contains(type)
                kept = ParameterizedRoute(statement: statement, plan: isDML ? analysis.trace.plan : nil, sql: sql, depth: statement.depth)
            }
        }
        guard case .statements(let statements) = outcome, statements.count == 1 else { return (outcome, nil, nil) }
        return (outcome, plan, statements[0].dependsOnParameters ? kept : nil)
    }

    /// `observe` sees every statement with the analysis that routed it and its route.
    private func routeMessage(_ sql: String, parameters: BoundParameters?, observe: (JSONValue, StatementAnalysis, Route) -> Void) -> RoutingOutcome {
        let tree: JSONValue
        switch PgQueryParser.parse(sql, maxDepth: limits.maxNestingDepth) {
        case .success(let parsed):
            tree = parsed
        case .failure(.syntax(let message, let position)):
            return .failure(.syntaxError(message, position: position > 0 ? position : nil))
        case .failure(.tooDeep):
            return .failure(.tooDeeplyNested)
        case .failure(.malformedOutput):
            return .failure(.unreadableParseTree)
        }

        let text = MessageText(sql)
        let analysis = StatementAnalysis(schema: schema, limits: limits, text: text, parameters: parameters, context: context)
        var statements: [RoutedStatement] = []
        var counted = 0  // bytes of the message whose characters are in `characters`
        var characters = 0
        for entry in tree["stmts"]?.elements ?? [] {
            guard let statement = entry["stmt"] else { continue }
            // libpg_query leaves out zero values: a missing location is 0, a missing length
            // means "to the end of the message".
            let range = text.statementRange(
                location: Int(entry["stmt_location"]?.integer ?? 0),
                length: Int(entry["stmt_len"]?.integer ?? 0))
            if range.lowerBound > counted {
                characters += text.characterCount(from: counted, to: range.lowerBound)
                counted = range.lowerBound
            }
            let statementSQL = text.text(range)
            let route: Route
            analysis.parameterUse.used = false
            do {
                route = try analysis.route(statement, sql: statementSQL, range: range)
            } catch {
                return .failure(.tooDeeplyNested)
            }
            observe(statement, analysis, route)
            var routed = RoutedStatement(sql: statementSQL, characterOffset: characters, route: route)
            if explain {
                routed.explanation = RouteExplainer(schema: schema).lines(route: route, sql: statementSQL, trace: analysis.trace)
            }
            routed.dependsOnParameters = analysis.parameterUse.used
            statements.append(routed)
        }
        return .statements(statements)
    }
}

/// A statement of an extended-protocol Parse whose route depends on its parameters: its parse
/// tree, kept so each Bind routes it without parsing it again.
///
/// A class: every Bind reads it, and copying the plan's facts for each would cost more than
/// routing. `@unchecked Sendable`: `literals` and `fast` are set while the router makes it,
/// before anyone else sees it, and never after.
public final class ParameterizedRoute: @unchecked Sendable {
    /// The parse tree, for statements without a plan.
    let statement: JSONValue?
    /// For SELECT/INSERT/UPDATE/DELETE: the analysis up to key values, so a Bind only reads them.
    let plan: DMLPlan?
    /// Literal values of this statement when the plan came from another of the same shape.
    var literals = LiteralValues()
    let sql: String
    /// The nesting depth of the tree: shallow trees are analysed on the caller's thread.
    let depth: Int
    /// For a one-table plan whose text has no hint comment (``Router/prepare(_:context:parameterCount:)``).
    var fast: FastRoute?

    init(statement: JSONValue?, plan: DMLPlan?, sql: String, depth: Int) {
        self.statement = statement
        self.plan = plan
        self.sql = sql
        self.depth = depth
    }
}

extension JSONValue {
    /// How deeply arrays and objects nest in this value.
    var depth: Int {
        switch self {
        case .array(let items): 1 + (items.map(\.depth).max() ?? 0)
        case .object(let members): 1 + (members.map(\.value.depth).max() ?? 0)
        default: 0
        }
    }
}
