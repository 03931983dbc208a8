/// `SELECT pgshard.next_id('table') [AS name]`: a new global id, answered by pgshard (the shards
/// have no such function). Any other statement that calls `pgshard.next_id` is refused.
enum NextIDCall {
    /// Whether the text may call the function (a byte test before looking at the tree).
    static func mayAppear(in sql: String) -> Bool {
        sql.utf8.count >= 7 && sql.lowercased().contains("next_id")
    }

    /// Whether the tree calls `pgshard.next_id` anywhere.
    static func isCalled(in statement: JSONValue) -> Bool {
        var work = [statement]
        while let value = work.popLast() {
            switch value {
            case .array(let elements):
                work.append(contentsOf: elements)
            case .object(let members):
                if let call = value.node("FuncCall"), isNextID(call) { return true }
                work.append(contentsOf: members.map(\.value))
            default:
                continue
            }
        }
        return false
    }

    private static func isNextID(_ call: JSONValue) -> Bool {
        call["funcname"]?.nameList == ["pgshard", "next_id"]
    }

    /// The route of a statement that calls the function: pgshard's own answer for the exact
    /// shape and a table with a generated key, else a refusal.
    static func route(_ statement: JSONValue, schema: ShardingSchema) -> Route {
        guard let select = statement.node("SelectStmt"),
              select.members.allSatisfy({ member in
                  switch member.key {
                  case "targetList": true
                  case "op": member.value.string == "SETOP_NONE"
                  case "limitOption": member.value.string == "LIMIT_OPTION_DEFAULT"
                  default: false
                  }
              }),
              let targets = select["targetList"]?.elements, targets.count == 1,
              let target = targets[0].node("ResTarget"), target["indirection"] == nil,
              let call = target["val"]?.node("FuncCall"), isNextID(call),
              call.members.allSatisfy({ ["funcname", "args", "location", "funcformat"].contains($0.key) }),
              let arguments = call["args"]?.elements, arguments.count == 1,
              let name = arguments[0].node("A_Const")?["sval"]?["sval"]?.string
        else { return .refuse(.nextIDShape()) }
        // Tables are matched as the configuration matches them: by name, case-insensitively,
        // without their schema.
        let table = String(name.split(separator: ".").last ?? "").lowercased()
        guard let rule = schema.tables[table] else { return .refuse(.nextIDUnknownTable(name)) }
        guard case .sharded(let key) = rule, key.keyGenerator != nil else { return .refuse(.nextIDWithoutGenerator(table)) }
        return .session(.nextID(column: target["name"]?.string ?? "next_id"))
    }
}
