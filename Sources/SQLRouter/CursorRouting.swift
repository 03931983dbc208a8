/// Routes `DECLARE`, `FETCH`, `MOVE` and `CLOSE`. The cursor's query is routed like the SELECT
/// it is; which shards a cursor reads is the session's to remember, so FETCH, MOVE and CLOSE
/// only say what they ask of which cursor.
enum CursorRouting {
    /// `CURSOR_OPT_SCROLL` of PostgreSQL's parse tree: SCROLL written out.
    static let scrollOption: Int64 = 0x0002
    /// `CURSOR_OPT_HOLD`: WITH HOLD.
    static let holdOption: Int64 = 0x0020
    /// `FETCH_ALL` (LONG_MAX): the count of `ALL`, `FORWARD ALL` and `BACKWARD ALL`.
    static let allRows = Int64.max

    /// A DECLARE whose query routes as `query`: a cursor on one shard, on any shard, or read
    /// shard after shard when plain concatenation gives the rows (a SELECT with no ORDER BY,
    /// LIMIT, aggregate, GROUP BY or DISTINCT to combine). SCROLL across shards is refused: the
    /// shards cannot move backward through one sequence.
    static func declare(_ statement: JSONValue, query: Route) -> Route {
        guard let name = statement["portalname"]?.string else { return .refuse(.unreadableParseTree) }
        let options = statement["options"]?.integer ?? 0
        let placement: CursorPlacement
        switch query {
        case .shard(let shard):
            placement = .shard(shard)
        case .anyShard:
            placement = .anyShard
        case .scatter(let shards, .read):
            guard options & scrollOption == 0 else { return .refuse(.scrollCursorAcrossShards()) }
            placement = .shards(shards)
        case .refuse(.mergeNeedsStatement):
            return .refuse(.cursorNeedsMerge())
        case .refuse:
            return query
        default:
            // A writing CTE across shards; PostgreSQL refuses it in a cursor anyway.
            return .refuse(.cursorQueryWrites())
        }
        return .cursor(.declare(CursorDeclaration(name: name, placement: placement, withHold: options & holdOption != 0)))
    }

    /// `FETCH` and `MOVE`: the cursor and, when it only moves forward, how far.
    static func fetch(_ statement: JSONValue) -> Route {
        guard let name = statement["portalname"]?.string else { return .refuse(.unreadableParseTree) }
        let isMove = statement["ismove"]?.bool == true
        // libpg_query leaves out zero values: a missing count is 0, a missing direction FORWARD.
        let count = statement["howMany"]?.integer ?? 0
        let direction = statement["direction"]?.string ?? "FETCH_FORWARD"
        var forward: FetchCount?
        if direction == "FETCH_FORWARD" {
            if count == allRows { forward = .all } else if count > 0 { forward = .rows(count) }
        }
        let words: String
        switch direction {
        case "FETCH_BACKWARD": words = "BACKWARD"
        case "FETCH_ABSOLUTE": words = "ABSOLUTE"
        case "FETCH_RELATIVE": words = "RELATIVE"
        default: words = count == allRows ? "FORWARD ALL" : "FORWARD \(count)"
        }
        let fetch = CursorFetch(name: name, isMove: isMove, forward: forward, directionText: (isMove ? "MOVE " : "FETCH ") + words)
        return .cursor(.fetch(fetch))
    }

    /// `UPDATE` or `DELETE … WHERE CURRENT OF cursor`, routed as `routed` by its tables: the
    /// row is on the shard the cursor reads now. Only for a sharded or pinned target table
    /// whose statement reads no other sharded or pinned table (that one would be read on the
    /// cursor's shard only; reference tables and catalogs read the same everywhere); on a
    /// reference table the copies would differ.
    static func currentOf(_ statement: JSONValue, routed: Route, facts: StatementFacts?) -> Route {
        if case .refuse = routed { return routed }
        guard let name = statement["whereClause"]?.node("CurrentOfExpr")?["cursor_name"]?.string, let facts,
              let target = facts.occurrences.first(where: \.isWriteTarget)
        else { return .refuse(.unreadableParseTree) }
        switch target.placement {
        case .sharded, .pinned:
            let others = facts.occurrences.filter { !$0.isWriteTarget && $0.placement != .reference && $0.placement != .catalog }
            guard others.isEmpty else { return .refuse(.currentOfWithOtherTables(target.table.relname)) }
            return .cursor(.currentOf(name))
        case .reference, .catalog:
            return .refuse(.currentOfReferenceTable(target.table.relname))
        }
    }

    /// `CLOSE name`, `CLOSE ALL`.
    static func close(_ statement: JSONValue) -> Route {
        .cursor(.close(statement["portalname"]?.string))
    }
}
