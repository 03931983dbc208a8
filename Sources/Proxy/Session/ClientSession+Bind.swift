import Backend
import Merge
import PGWire
import SQLRouter

// Bind: checked as PostgreSQL checks it, routed with the bound values when the shard key is a
// parameter, and sent to the shards of its route, where the statement is prepared first if the
// connection lacks it. Portals pgshard answers itself (session commands, empty statements, COPY)
// are bound here without a shard.

extension ClientSession {
    func bindReceived(_ bind: Bind) {
        guard !ext.skipping else { return }
        guard let statement = ext.statementToBind(bind.statement) else {
            return failBatch(.error(.invalidSQLStatementName, "prepared statement \"\(bind.statement)\" does not exist"))
        }
        if let error = Self.formatError(in: bind) { return failBatch(error) }
        if !bind.portal.isEmpty, ext.portals[bind.portal] != nil || cursors[bind.portal] != nil {
            return failBatch(.error(.duplicateCursor, "portal \"\(bind.portal)\" already exists"))
        }
        guard !statement.isEmpty else {
            ext.portals[bind.portal] = ClientPortal(name: bind.portal, statement: statement, route: .anyShard, links: [], mode: .single)
            return owe(.local(.bindComplete))
        }
        let routingContext = self.routingContext
        guard statement.generatesKeys, let generated = statement.generatedKeys else {
            return bindRouted(bind, of: statement, context: routingContext)
        }
        let keys = context.router.generatedKeys(generated, context: routingContext)
        bindRouted(Self.appendingKeys(keys, to: bind), of: statement, context: routingContext)
    }

    /// What PostgreSQL reports about a Bind's format codes: a count of parameter formats that
    /// fits no rule, or a code other than text and binary.
    private static func formatError(in bind: Bind) -> ErrorFields? {
        let formatCount = bind.parameterFormatCount
        if formatCount > 1 && formatCount != bind.parameterCount {
            return .error(.protocolViolation,
                          "bind message has \(formatCount) parameter formats but \(bind.parameterCount) parameters")
        }
        // (Read in place: the usual Bind has no parameter format and one result format.)
        for index in 0..<formatCount where !isSupported(bind.parameterFormatCode(index)) {
            return unsupportedFormat(bind.parameterFormatCode(index))
        }
        for index in 0..<bind.resultFormatCount where !isSupported(bind.resultFormatCode(index)) {
            return unsupportedFormat(bind.resultFormatCode(index))
        }
        return nil
    }

    private static func isSupported(_ format: Int16) -> Bool { format == 0 || format == 1 }

    private static func unsupportedFormat(_ format: Int16) -> ErrorFields {
        .error(.invalidParameterValue, "unsupported format code: \(format)")
    }

    /// Binds a statement that has a route, with its final parameters (generated keys appended).
    private func bindRouted(_ bind: Bind, of statement: ClientStatement, context routingContext: RoutingContext) {
        let parameters = BoundParameters(bindPayload: bind.payload, valuesOffset: bind.parametersOffset, types: statement.parameterTypes)
        var route = boundRoute(of: statement, parameters: parameters, context: routingContext)
        if case .session(.setConfig(_, let isLocal, let number, let location)) = route {
            guard let set = setConfigAsSet(bind, of: statement, isLocal: isLocal, parameter: number, at: location) else {
                return failBatch(.error(.featureNotSupported, "set_config() with a binary non-text value is not supported by pgshard",
                                        hint: "pass the value as text, or use SET"))
            }
            route = set
        }
        if let transaction, transaction.failed, !route.isAllowedInFailedTransaction {
            return failBatch(.error(.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block"))
        }
        let targets: [ShardLink]
        let mode: FanOutMode
        context.metrics.statement(ProxyMetrics.kind(of: route, shardCount: links.count))
        switch route {
        case .refuse(let error):
            return failBatch(clientError(error))
        case .session:
            let portal = ClientPortal(name: bind.portal, statement: statement, route: route, links: [], mode: .single)
            portal.resultFormats = bind.resultFormats
            ext.portals[bind.portal] = portal
            return owe(.local(.bindComplete))
        case .cursor(let command):
            guard let (shards, cursorMode) = bindCursor(command, bind: bind, statement: statement, route: route) else { return }
            (targets, mode) = (shards.map { links[$0] }, cursorMode)
        case .shard(let shard):
            (targets, mode) = (soleLinks[shard], .single)
        case .anyShard:
            (targets, mode) = (soleLinks[batchShard()], .single)
        case .scatter(_, .copyOut), .copyIn:
            return bindCopy(bind, statement: statement, route: route)
        case .scatter(let scattered, .merge(let plan)):
            return bindMerge(bind, statement: statement, route: route, shards: scattered, plan: plan, parameters: parameters)
        case .scatter(let scattered, _):
            (targets, mode) = (scattered.map { links[$0] }, .concatenate)
        case .allShards:
            (targets, mode) = (links, .firstShard)
        case .explain(let inner, _):
            // The extended protocol describes one result: the plan of one shard, as it is.
            guard case .shard(let shard) = inner else {
                if case .anyShard = inner {
                    (targets, mode) = (soleLinks[batchShard()], .single)
                    break
                }
                return failBatch(.error(.featureNotSupported, "EXPLAIN of a statement that runs on several shards is not supported in the extended query protocol",
                                        hint: "send the EXPLAIN as a simple query (psql does)"))
            }
            (targets, mode) = (soleLinks[shard], .single)
        case .insertSplit:
            return failBatch(.error(.featureNotSupported, "multi-row INSERT spanning several shards is not supported in the extended query protocol",
                                    hint: "insert the rows of each shard in a separate statement, or send the INSERT as a simple query"))
        }
        ext.portals.open(name: bind.portal, statement: statement, route: route, links: targets, mode: mode)
        if prepareAtOnce(targets) {
            for link in targets { touch(link) }
            sendBind(bind, of: statement, to: targets)
        } else {
            withLinks(targets) { [self] in sendBind(bind, of: statement, to: targets) }
        }
    }

    /// The route of a Bind of `statement`: routed again when the session's routing context or
    /// the configuration changed since Parse, by the bound values when the shard key is a
    /// parameter, else the statement's own route.
    private func boundRoute(of statement: ClientStatement, parameters: BoundParameters, context routingContext: RoutingContext) -> Route {
        if routingContext != statement.routingContext || statement.generation != context.generation {
            if case .statements(let statements) = context.router.route(statement.sql, parameters: parameters, context: routingContext),
               let again = statements.first {
                return again.route
            }
        } else if let parameterized = statement.parameterized {
            return context.router.route(parameterized, parameters: parameters, context: routingContext)
        }
        return statement.routed?.route ?? .anyShard
    }

    /// `set_config(name, $n, is_local)` with the bound value written into the statement, which
    /// is then replayed like a SET; nil when the value is binary and not text.
    private func setConfigAsSet(_ bind: Bind, of statement: ClientStatement, isLocal: Bool, parameter number: Int, at location: Int) -> Route? {
        let index = number - 1
        guard index >= 0, index < bind.parameterCount, bind.parameterFormat(at: index) == 0 || statement.parameterTypes.count <= index
                || [0, 25, 1043].contains(statement.parameterTypes[index])
        else { return nil }
        let literal = bind.parameters[index].map { quoteLiteral(String(decoding: $0, as: UTF8.self)) } ?? "NULL"
        // `location` counts from the start of the Parse text (the statement may be preceded by
        // whitespace or comments there).
        return .session(.set(sql: Self.splice(statement.sql, at: location, replacing: "$\(number)", with: literal), isLocal: isLocal))
    }

    private func sendBind(_ bind: Bind, of statement: ClientStatement, to targets: [ShardLink]) {
        for (n, link) in targets.enumerated() {
            guard let backend = link.connection else { continue }
            ensurePrepared(statement, on: link)
            backend.send { $0.bind(bind, portal: bind.portal, statement: statement.backendName) }
            owe(.shard(link, .bind(silent: n > 0)))
        }
    }
}
