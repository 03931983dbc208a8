/// Routes a whole Query message; runs on a ``ParserPool`` thread.
struct MessageRouting {
    let schema: ShardingSchema
    let limits: RouterLimits

    func route(_ sql: String, parameters: BoundParameters?) -> RoutingOutcome {
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
        let analysis = StatementAnalysis(schema: schema, limits: limits, text: text, parameters: parameters)
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
                route = try analysis.route(statement, sql: statementSQL)
            } catch {
                return .failure(.tooDeeplyNested)
            }
            var routed = RoutedStatement(sql: statementSQL, characterOffset: characters, route: route)
            routed.dependsOnParameters = analysis.parameterUse.used
            statements.append(routed)
        }
        return .statements(statements)
    }
}
