/// Routes statements that are not DML or DDL: transaction control, session settings, and the
/// statement kinds pgshard refuses.
enum UtilityRouting {
    /// `BEGIN`, `COMMIT`, savepoints, and the two-phase commands reserved for pgshard.
    static func transaction(_ statement: JSONValue) -> Route {
        if statement["chain"]?.bool == true { return .refuse(.transactionChain()) }
        switch statement["kind"]?.string {
        case "TRANS_STMT_BEGIN", "TRANS_STMT_START":
            switch beginStatement(options: statement["options"]?.elements ?? []) {
            case .success(let sql): return .session(.begin(options: sql))
            case .failure(let error): return .refuse(error)
            }
        case "TRANS_STMT_COMMIT":
            return .session(.commit)
        case "TRANS_STMT_ROLLBACK":
            return .session(.rollback)
        case "TRANS_STMT_SAVEPOINT":
            return .session(.savepoint(statement["savepoint_name"]?.string ?? ""))
        case "TRANS_STMT_RELEASE":
            return .session(.release(statement["savepoint_name"]?.string ?? ""))
        case "TRANS_STMT_ROLLBACK_TO":
            return .session(.rollbackTo(statement["savepoint_name"]?.string ?? ""))
        case "TRANS_STMT_PREPARE":
            return .refuse(.twoPhaseCommitReserved("PREPARE TRANSACTION"))
        case "TRANS_STMT_COMMIT_PREPARED":
            return .refuse(.twoPhaseCommitReserved("COMMIT PREPARED"))
        case "TRANS_STMT_ROLLBACK_PREPARED":
            return .refuse(.twoPhaseCommitReserved("ROLLBACK PREPARED"))
        default:
            return .refuse(.unsupportedStatement("this transaction statement", hint: "use BEGIN, COMMIT, ROLLBACK or SAVEPOINT"))
        }
    }

    /// The `BEGIN …` that opens a transaction with the same characteristics on a shard,
    /// deparsed from the options' parse tree (never copied from the client's text).
    static func beginStatement(options: [JSONValue]) -> Result<String, RoutingError> {
        var sql = "BEGIN"
        for option in options {
            guard let definition = option.node("DefElem"), let name = definition["defname"]?.string else { continue }
            let argument = definition["arg"]?.node("A_Const")
            switch name {
            case "transaction_isolation":
                let level = argument?["sval"]?["sval"]?.string ?? ""
                guard ["serializable", "repeatable read", "read committed", "read uncommitted"].contains(level) else {
                    return .failure(.unknownTransactionOption("isolation level \(level)"))
                }
                sql += " ISOLATION LEVEL " + level.uppercased()
            case "transaction_read_only":
                sql += flag(argument) ? " READ ONLY" : " READ WRITE"
            case "transaction_deferrable":
                sql += flag(argument) ? " DEFERRABLE" : " NOT DEFERRABLE"
            default:
                return .failure(.unknownTransactionOption(name))
            }
        }
        return .success(sql)
    }

    /// A boolean transaction option: the grammar stores it as integer 1 or 0 (written `{}`).
    private static func flag(_ constant: JSONValue?) -> Bool {
        (constant?["ival"]?["ival"]?.integer ?? 0) != 0
    }

    /// `SET`, `RESET` and their variants, passed on as written.
    static func set(_ statement: JSONValue, sql: String, shardNames: [String]) -> Route {
        let name = statement["name"]?.string ?? ""
        if name.lowercased().hasPrefix("pgshard.") {
            return routingHintSetting(statement, name: name.lowercased(), shardNames: shardNames)
        }
        if statement["kind"]?.string == "VAR_SET_MULTI", name == "TRANSACTION SNAPSHOT" {
            return .refuse(.transactionSnapshot())
        }
        // SET TRANSACTION lasts until the end of the transaction, like SET LOCAL.
        let isLocal = statement["is_local"]?.bool == true
            || (statement["kind"]?.string == "VAR_SET_MULTI" && name == "TRANSACTION")
        return .session(.set(sql: sql, isLocal: isLocal))
    }

    /// `SET pgshard.shard = 's1'`, `SET pgshard.key = '42'` (also LOCAL), `RESET`, `TO DEFAULT`:
    /// pgshard keeps the hint itself; shards never see these settings.
    private static func routingHintSetting(_ statement: JSONValue, name: String, shardNames: [String]) -> Route {
        guard name == RoutingHint.shardSetting || name == RoutingHint.keySetting else {
            return .refuse(.unknownSetting(name))
        }
        let isLocal = statement["is_local"]?.bool == true
        switch statement["kind"]?.string {
        case "VAR_RESET", "VAR_SET_DEFAULT":
            return .session(.routingHint(name: name, hint: nil, isLocal: isLocal))
        case "VAR_SET_VALUE":
            let values = statement["args"]?.elements ?? []
            guard values.count == 1, let constant = values[0].node("A_Const") else {
                return .refuse(.badHint(name))
            }
            let value = constant["sval"]?["sval"]?.string ?? constant["ival"]?["ival"]?.integer.map(String.init) ?? constant["fval"]?["fval"]?.string
            guard let value else { return .refuse(.badHint(name)) }
            if name == RoutingHint.shardSetting {
                switch RoutingHint.shard(named: value, shardNames: shardNames) {
                case .success(let hint): return .session(.routingHint(name: name, hint: hint, isLocal: isLocal))
                case .failure(let error): return .refuse(error)
                }
            }
            return .session(.routingHint(name: name, hint: .key(value), isLocal: isLocal))
        default:
            return .refuse(.badHint(name))
        }
    }

    /// `DISCARD ALL`; the partial forms are refused.
    static func discard(_ statement: JSONValue) -> Route {
        switch statement["target"]?.string {
        case "DISCARD_ALL": .session(.discardAll)
        case "DISCARD_PLANS": .refuse(.discard("PLANS"))
        case "DISCARD_SEQUENCES": .refuse(.discard("SEQUENCES"))
        default: .refuse(.discard("TEMP"))
        }
    }

    /// The refusal for a statement kind pgshard does not route, naming the kind and a way out.
    static func refusal(for type: String, _ statement: JSONValue) -> RoutingError {
        let onEachShard = "run it on each shard directly"
        switch type {
        case "CopyStmt":
            return .unsupportedStatement("COPY to or from a file on the server", hint: "use COPY … TO STDOUT (psql: \\copy)")
        case "DoStmt":
            return .unsupportedStatement("DO", hint: "run the code from the application, or \(onEachShard)")
        case "CallStmt":
            return .unsupportedStatement("CALL", hint: "call the procedure on each shard directly")
        case "PrepareStmt", "ExecuteStmt", "DeallocateStmt":
            let kind = ["PrepareStmt": "PREPARE", "ExecuteStmt": "EXECUTE", "DeallocateStmt": "DEALLOCATE"][type]!
            return .unsupportedStatement(kind, hint: "use the extended query protocol (your driver's prepared statements)")
        case "LockStmt":
            return .unsupportedStatement("LOCK TABLE", hint: "use SELECT … FOR UPDATE with the shard key fixed")
        case "CheckPointStmt":
            return .unsupportedStatement("CHECKPOINT", hint: onEachShard)
        case "LoadStmt":
            return .unsupportedStatement("LOAD", hint: onEachShard)
        case "CreatedbStmt", "DropdbStmt", "AlterDatabaseStmt", "AlterDatabaseSetStmt", "AlterDatabaseRefreshCollStmt":
            return .unsupportedStatement("managing databases", hint: onEachShard)
        case "CreateRoleStmt", "AlterRoleStmt", "AlterRoleSetStmt", "DropRoleStmt", "GrantRoleStmt", "ReassignOwnedStmt":
            return .unsupportedStatement("managing roles", hint: "manage roles on each shard server directly")
        case "AlterSystemStmt":
            return .unsupportedStatement("ALTER SYSTEM", hint: onEachShard)
        case "CreateTableSpaceStmt", "DropTableSpaceStmt", "AlterTableSpaceOptionsStmt":
            return .unsupportedStatement("managing tablespaces", hint: onEachShard)
        case "RefreshMatViewStmt":
            return .unsupportedStatement("REFRESH MATERIALIZED VIEW", hint: onEachShard)
        case "MergeStmt":
            return .unsupportedStatement("MERGE", hint: "use INSERT … ON CONFLICT with the shard key")
        case "RuleStmt":
            return .unsupportedStatement("CREATE RULE", hint: "use a trigger, created on every shard")
        case "CreateSubscriptionStmt", "AlterSubscriptionStmt", "DropSubscriptionStmt",
             "CreatePublicationStmt", "AlterPublicationStmt":
            return .unsupportedStatement("logical replication commands", hint: onEachShard)
        default:
            return .unsupportedStatement("statement \(type)", hint: onEachShard)
        }
    }

    /// For a SELECT of `set_config('name', value, is_local)` with nothing else than
    /// `current_setting('…')` calls and constants beside it (no FROM): whether it is local, and
    /// where the value's `$n` parameter is when the value is one (number, byte offset).
    /// Nil for any other statement.
    static func setConfigCall(_ select: JSONValue) -> (isLocal: Bool, parameter: (number: Int, location: Int)?)? {
        for member in select.members {
            switch member.key {
            case "targetList", "op", "limitOption": continue
            default: return nil
            }
        }
        guard select["op"]?.string ?? "SETOP_NONE" == "SETOP_NONE", let targets = select["targetList"]?.elements else { return nil }
        var found: (isLocal: Bool, parameter: (number: Int, location: Int)?)?
        for target in targets {
            guard let value = target.node("ResTarget")?["val"] else { return nil }
            if value.node("A_Const") != nil { continue }
            guard let call = value.node("FuncCall"), let name = call["funcname"]?.nameList?.last,
                  call["funcname"]?.nameList?.count == 1 || call["funcname"]?.nameList?.first == "pg_catalog"
            else { return nil }
            let args = call["args"]?.elements ?? []
            if name == "current_setting", !args.isEmpty, args.allSatisfy({ $0.node("A_Const") != nil }) { continue }
            guard name == "set_config", found == nil, args.count == 3,
                  args[0].node("A_Const")?["sval"] != nil,
                  let local = args[2].node("A_Const"), local["boolval"] != nil
            else { return nil }
            var parameter: (number: Int, location: Int)?
            if let reference = args[1].node("ParamRef") {
                guard let number = reference["number"]?.integer, let location = reference["location"]?.integer else { return nil }
                parameter = (Int(number), Int(location))
            } else if args[1].node("A_Const")?["sval"] == nil {
                return nil
            }
            found = (local["boolval"]?["boolval"]?.bool == true, parameter)
        }
        return found
    }
}
