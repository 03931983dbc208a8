import Sharding

/// Routes schema changes: the same statement on every shard, except that DDL naming only
/// tables pinned to one shard runs on that shard alone.
struct DDLRouting {
    let schema: ShardingSchema
    let maxDepth: Int

    /// The node types sent to every shard.
    static let statementTypes: Set<String> = [
        "CreateStmt", "AlterTableStmt", "DropStmt", "IndexStmt", "RenameStmt", "CreateSchemaStmt",
        "CreateExtensionStmt", "AlterExtensionStmt", "CompositeTypeStmt", "CreateEnumStmt",
        "AlterEnumStmt", "CreateRangeStmt", "DefineStmt", "CreateFunctionStmt", "AlterFunctionStmt",
        "ViewStmt", "CreateSeqStmt", "AlterSeqStmt", "CommentStmt", "GrantStmt", "TruncateStmt",
        "VacuumStmt", "AlterObjectSchemaStmt", "AlterOwnerStmt", "CreateDomainStmt",
        "AlterDomainStmt", "CreateTrigStmt", "CreatePolicyStmt", "AlterPolicyStmt",
        "CreateStatsStmt", "AlterDefaultPrivilegesStmt", "ReindexStmt", "ClusterStmt",
    ]

    /// DropStmt/CommentStmt object types whose names are relations.
    private static let relationObjectTypes: Set<String> = [
        "OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE",
    ]

    func route(type: String, statement: JSONValue) throws(AnalysisError) -> Route {
        if let error = shardKeyConflict(type: type, statement: statement) {
            return .refuse(error)
        }
        var tables: [TableName] = []
        try collectTables(.object([JSONMember(key: type, value: statement)]), into: &tables, depth: 0)
        tables += objectNames(type: type, statement: statement)

        var pinned: (table: String, shard: Int)?
        var other: String?
        for table in tables {
            if case .pinned(let shard)? = schema.placement(of: table) {
                if let first = pinned, first.shard != shard {
                    return .refuse(.ddlMixesPinnedTable(first.table, shard: first.shard, table.relname))
                }
                pinned = pinned ?? (table.relname, shard)
            } else {
                other = other ?? table.relname
            }
        }
        guard let pinned else { return .allShards(.ddl) }
        if let other { return .refuse(.ddlMixesPinnedTable(pinned.table, shard: pinned.shard, other)) }
        return .shard(pinned.shard)
    }

    /// Every `RangeVar` in the statement, wrapped or bare.
    private func collectTables(_ value: JSONValue, into tables: inout [TableName], depth: Int) throws(AnalysisError) {
        guard depth <= maxDepth else { throw .tooDeep }
        switch value {
        case .array(let elements):
            for element in elements { try collectTables(element, into: &tables, depth: depth + 1) }
        case .object(let members):
            if let table = TableName(anyRangeVar: value) {
                tables.append(table)
                return
            }
            for member in members { try collectTables(member.value, into: &tables, depth: depth + 1) }
        default:
            return
        }
    }

    /// Relations named as object names rather than `RangeVar`s: `DROP TABLE a, s.b`,
    /// `COMMENT ON TABLE t`, `COMMENT ON COLUMN t.c`.
    private func objectNames(type: String, statement: JSONValue) -> [TableName] {
        func table(_ names: [String]) -> TableName? {
            guard let relname = names.last else { return nil }
            return TableName(schema: names.count >= 2 ? names[names.count - 2] : nil, relname: relname)
        }
        let objectType = statement[type == "DropStmt" ? "removeType" : "objtype"]?.string ?? ""
        switch type {
        case "DropStmt" where Self.relationObjectTypes.contains(objectType):
            return (statement["objects"]?.elements ?? []).compactMap { object in
                object.node("List")?["items"]?.nameList.flatMap(table)
            }
        case "CommentStmt" where Self.relationObjectTypes.contains(objectType):
            return [statement["object"]?.node("List")?["items"]?.nameList.flatMap(table)].compactMap { $0 }
        case "CommentStmt" where objectType == "OBJECT_COLUMN":
            guard let names = statement["object"]?.node("List")?["items"]?.nameList, names.count >= 2 else { return [] }
            return [table(Array(names.dropLast()))].compactMap { $0 }
        default:
            return []
        }
    }

    /// DDL that would make a sharded table disagree with its configuration: the key column
    /// declared (or altered) to a type that hashes differently, dropped, renamed or missing.
    private func shardKeyConflict(type: String, statement: JSONValue) -> RoutingError? {
        guard let relation = statement["relation"].flatMap(TableName.init(rangeVar:)),
              case .sharded(let key)? = schema.placement(of: relation)
        else { return nil }
        for (keyColumn, keyType) in zip(key.keyColumns, key.keyTypes) {
            if let error = keyColumnConflict(type: type, statement: statement, table: relation.relname, keyColumn: keyColumn, keyType: keyType) {
                return error
            }
        }
        return nil
    }

    private func keyColumnConflict(type: String, statement: JSONValue, table: String, keyColumn: String, keyType: ShardKeyType) -> RoutingError? {
        func typeConflict(_ typeName: JSONValue?) -> RoutingError? {
            guard let typeName = typeName.flatMap(TypeNameInfo.init) else { return nil }
            guard typeName.declaredKeyType?.family != keyType.family else { return nil }
            return .shardKeyTypeMismatch(table: table, key: keyColumn, declared: typeName.displayName, configured: keyType.rawValue)
        }
        switch type {
        case "CreateStmt":
            let elements = statement["tableElts"]?.elements ?? []
            if let column = elements.compactMap({ $0.node("ColumnDef") }).first(where: { $0["colname"]?.string == keyColumn }) {
                return typeConflict(column["typeName"])
            }
            let inheritsColumns = elements.contains { $0.node("TableLikeClause") != nil }
                || statement["inhRelations"] != nil || statement["partbound"] != nil || statement["ofTypename"] != nil
            return inheritsColumns ? nil : .missingShardKeyColumn(table: table, key: keyColumn)
        case "AlterTableStmt":
            for command in (statement["cmds"]?.elements ?? []).compactMap({ $0.node("AlterTableCmd") })
            where command["name"]?.string == keyColumn {
                switch command["subtype"]?.string {
                case "AT_AlterColumnType":
                    if let error = typeConflict(command["def"]?.node("ColumnDef")?["typeName"]) { return error }
                case "AT_DropColumn":
                    return .alterShardKey(table: table, key: keyColumn, action: "drop")
                default:
                    continue
                }
            }
            return nil
        case "RenameStmt":
            guard statement["renameType"]?.string == "OBJECT_COLUMN", statement["subname"]?.string == keyColumn else { return nil }
            return .alterShardKey(table: table, key: keyColumn, action: "rename")
        default:
            return nil
        }
    }
}
