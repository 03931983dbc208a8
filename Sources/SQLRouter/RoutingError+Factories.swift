// Every error the router raises, by name, so the same condition always reads the same.
import Sharding


extension RoutingError {
    /// SQLSTATE 0A000 feature_not_supported.
    static let featureNotSupported = "0A000"
    /// SQLSTATE 54001 statement_too_complex.
    static let statementTooComplex = "54001"
    /// SQLSTATE 42601 syntax_error.
    static let syntaxErrorState = "42601"

    private static func notSupported(_ message: String, hint: String?) -> RoutingError {
        RoutingError(sqlState: featureNotSupported, message: message, hint: hint)
    }

    /// The hint for statements that would run on one shard with their key fixed.
    private static func fixKeyHint(_ occurrence: TableOccurrence) -> String {
        "add a condition on the shard key (\(occurrence.keyDescription) = …) so the statement runs on one shard"
    }

    // MARK: Whole message

    /// The message is longer than ``RouterLimits/maxStatementBytes``.
    static func statementTooLarge(bytes: Int, limit: Int) -> RoutingError {
        RoutingError(
            sqlState: statementTooComplex,
            message: "statement is too large: \(bytes) bytes, pgshard parses at most \(limit)",
            hint: "send smaller statements, e.g. fewer rows per INSERT")
    }

    /// The parse tree nests deeper than ``RouterLimits/maxNestingDepth``.
    static func setConfig() -> RoutingError {
        RoutingError(sqlState: "0A000", message: "set_config() through pgshard is not supported: it would change one shard only",
                     hint: "use SET name = value (or SET LOCAL), which pgshard carries to every shard the session uses")
    }

    static let tooDeeplyNested = RoutingError(
        sqlState: statementTooComplex,
        message: "statement is too deeply nested",
        hint: "simplify the statement: fewer nested expressions or subqueries")

    /// PostgreSQL's parser rejected the message.
    static func syntaxError(_ message: String, position: Int?) -> RoutingError {
        RoutingError(sqlState: syntaxErrorState, message: message, position: position)
    }

    /// The message holds a NUL character, which the protocol cannot carry inside a query.
    static let nulCharacter = RoutingError(
        sqlState: syntaxErrorState, message: "statement contains a NUL character")

    /// libpg_query returned JSON the router could not decode (a bug).
    static let unreadableParseTree = RoutingError(
        sqlState: "XX000", message: "pgshard could not read the parse tree of this statement",
        hint: "report this statement to the pgshard developers")

    // MARK: Key values

    /// A literal compared with (or inserted into) a key column that the key type's input
    /// function rejects, as PostgreSQL would.
    static func invalidKeyLiteral(_ literal: String, type: ShardKeyType, column: String) -> RoutingError {
        RoutingError(
            sqlState: "22P02",
            message: "invalid input syntax for type \(type.rawValue): \"\(literal)\" (shard key column \(column))",
            hint: "the value compared with or stored in \(column) must be a valid \(type.rawValue)")
    }

    /// A key value that no rule of the table's sharding function accepts.
    static func noShardForKey(table: String, key: ShardedTable, _ error: PlacementError) -> RoutingError {
        switch error {
        case .noRule(let column, let value):
            let name = column < key.keyColumns.count ? key.keyColumns[column] : "?"
            return RoutingError(
                sqlState: "23514",
                message: "no shard of table \(table) accepts \(name) = \(value.map(\.sqlDescription) ?? "NULL") (sharding function \(key.function.name))",
                hint: "add a rule for this value (or a default shard) to tables.\(table) in the configuration")
        case .unavailable(let reason):
            return RoutingError(
                sqlState: "08001",
                message: "the shard directory of table \(table) could not be read: \(reason)",
                hint: "check directory.conninfo in the configuration and that its database is up")
        }
    }

    // MARK: Hints and policy

    static func badHint(_ text: String) -> RoutingError {
        RoutingError(sqlState: "22023", message: "invalid pgshard hint \"\(text)\"",
                     hint: "write /* pgshard: shard=NAME */ or /* pgshard: key=VALUE */")
    }

    static func unknownHintShard(_ name: String, known: [String]) -> RoutingError {
        RoutingError(sqlState: "22023", message: "pgshard hint names unknown shard \"\(name)\"",
                     hint: "the shards are: \(known.joined(separator: ", "))")
    }

    static func unknownSetting(_ name: String) -> RoutingError {
        RoutingError(sqlState: "42704", message: "unrecognized configuration parameter \"\(name)\"",
                     hint: "pgshard knows pgshard.shard and pgshard.key")
    }

    static func hintOnAllShardsStatement(_ what: String) -> RoutingError {
        notSupported("a pgshard hint cannot send \(what) to one shard: it must reach every shard",
                     hint: "remove the hint (or RESET pgshard.shard / pgshard.key) for this statement")
    }

    static func hintedPinnedElsewhere(_ pinned: TableOccurrence, shard: Int, hinted: Int) -> RoutingError {
        notSupported("pinned table \"\(pinned.table.relname)\" lives on shard \(shard), not on the hinted shard \(hinted)",
                     hint: "hint shard \(shard) or remove the hint")
    }

    static func keyHintWithoutShardedTable() -> RoutingError {
        notSupported("a pgshard key hint needs a sharded table in the statement to know its sharding function",
                     hint: "use /* pgshard: shard=NAME */ instead")
    }

    static func keyHintAmbiguous(_ first: TableOccurrence, _ second: TableOccurrence) -> RoutingError {
        notSupported("the key hint places tables \(first.table.relname) and \(second.table.relname) on different shards",
                     hint: "use /* pgshard: shard=NAME */, or hint each table's statement separately")
    }

    static func keyHintCompositeKey(_ occurrence: TableOccurrence) -> RoutingError {
        notSupported("a key hint cannot place table \(occurrence.table.relname), whose shard key has several columns",
                     hint: "use /* pgshard: shard=NAME */ instead")
    }

    static func crossShardDenied(_ route: String) -> RoutingError {
        notSupported("statement needs \(route) and cross_shard is deny",
                     hint: "add a condition on the shard key, or a hint /* pgshard: shard=NAME */, so the statement runs on one shard")
    }

    // MARK: Tables

    /// A statement names a table that is not in the sharding configuration.
    static func unknownTable(_ name: String) -> RoutingError {
        notSupported(
            "table \"\(name)\" is not known to pgshard",
            hint: "add it under tables: in the pgshard configuration as a sharded (key:), reference (reference: true) or pinned (shard:) table, then reload pgshard (SIGHUP, or RELOAD on the admin console)")
    }

    /// A write to a system catalog.
    static func catalogWrite(_ table: String) -> RoutingError {
        notSupported(
            "writing to system catalog \"\(table)\" through pgshard is not supported",
            hint: "change catalogs with DDL statements, which pgshard sends to every shard")
    }

    // MARK: Cross-shard reads

    /// A sharded table sits in a subquery, CTE or sublink and its key is not fixed.
    static func subqueryOnShardedTable(_ occurrence: TableOccurrence) -> RoutingError {
        notSupported(
            "subqueries on sharded table \"\(occurrence.table.relname)\" across shards are not supported yet",
            hint: fixKeyHint(occurrence))
    }

    /// Two sharded tables at one query level without both keys fixed to one shard.
    static func joinOfShardedTables(_ first: TableOccurrence, _ second: TableOccurrence) -> RoutingError {
        notSupported(
            "join of sharded tables \(first.table.relname) and \(second.table.relname) needs the shard key fixed on both sides",
            hint: "add conditions on both shard keys (\(first.keyDescription) = … AND \(second.keyDescription) = …) with values on the same shard")
    }

    /// Every key is fixed, but to values on different shards.
    static func keysOnDifferentShards(_ first: TableOccurrence, _ firstShard: Int, _ second: TableOccurrence, _ secondShard: Int) -> RoutingError {
        notSupported(
            "statement needs rows of \(first.table.relname) from shard \(firstShard) and of \(second.table.relname) from shard \(secondShard)",
            hint: "fix the shard keys to values on the same shard, or split the statement")
    }

    /// Pinned tables that live on different shards in one statement.
    static func pinnedOnDifferentShards(_ first: TableOccurrence, _ firstShard: Int, _ second: TableOccurrence, _ secondShard: Int) -> RoutingError {
        notSupported(
            "statement reads pinned tables on different shards: \(first.table.relname) on shard \(firstShard), \(second.table.relname) on shard \(secondShard)",
            hint: "query each pinned table in a separate statement")
    }

    /// A pinned table together with a sharded table whose key does not put it on the same shard.
    static func pinnedWithSharded(_ pinned: TableOccurrence, shard: Int, _ sharded: TableOccurrence) -> RoutingError {
        notSupported(
            "pinned table \(pinned.table.relname) (shard \(shard)) cannot be combined with sharded table \(sharded.table.relname) across shards",
            hint: "add a condition on the shard key (\(sharded.keyDescription) = …) with a value on shard \(shard)")
    }

    /// The sharded table is on the nullable side of an outer join: rows of the preserved side
    /// would be null-extended on every shard.
    static func outerJoinAcrossShards(_ occurrence: TableOccurrence, joinType: String) -> RoutingError {
        notSupported(
            "\(joinType) JOIN with sharded table \"\(occurrence.table.relname)\" on its nullable side is not supported across shards",
            hint: fixKeyHint(occurrence))
    }

    /// A clause that combines rows (aggregate, ORDER BY, …) over a sharded table spread over
    /// several shards.
    static func combiningAcrossShards(_ clause: CombiningClause, _ occurrence: TableOccurrence) -> RoutingError {
        let what = switch clause {
        case .aggregate: "aggregate functions across shards are not supported yet"
        case .window: "window functions across shards are not supported yet"
        case .groupBy: "GROUP BY across shards is not supported yet"
        case .having: "HAVING across shards is not supported yet"
        case .distinct: "DISTINCT across shards is not supported yet"
        case .orderBy: "ORDER BY across shards is not supported yet"
        case .limit: "LIMIT, OFFSET and FETCH across shards are not supported yet"
        case .setOperation: "UNION, INTERSECT and EXCEPT across shards are not supported yet"
        }
        return notSupported(what, hint: fixKeyHint(occurrence))
    }

    /// An aggregate in a subquery that may aggregate the rows of the outer, sharded query
    /// (PostgreSQL assigns an aggregate to the level of the columns it reads).
    static func outerAggregateInSubquery(_ occurrence: TableOccurrence) -> RoutingError {
        notSupported(
            "aggregate in a subquery that may aggregate rows of sharded table \"\(occurrence.table.relname)\" across shards is not supported",
            hint: "qualify the aggregate's columns with the subquery's own table alias, or \(fixKeyHint(occurrence))")
    }

    /// A statement spread over several shards in a shape no rule covers.
    static func unroutableAcrossShards() -> RoutingError {
        notSupported(
            "statement needs data from several shards in a way pgshard cannot route yet",
            hint: "fix the shard keys to values on one shard, or split the statement")
    }

    // MARK: Writes

    /// UPDATE or DELETE of a sharded table whose key is not restricted.
    static func writeWithoutShardKey(_ verb: String, _ occurrence: TableOccurrence) -> RoutingError {
        let key = occurrence.shardKey?.keyColumns.joined(separator: ", ") ?? "?"
        return notSupported(
            "\(verb) on sharded table \"\(occurrence.table.relname)\" without a shard key is not supported yet",
            hint: "add a condition on the shard key \"\(key)\" (\(key) = … or \(key) IN (…))")
    }

    /// A write to a sharded table that also reads another sharded table across shards.
    static func writeReadsShardedTable(_ verb: String, _ target: TableOccurrence, _ other: TableOccurrence) -> RoutingError {
        notSupported(
            "\(verb) of sharded table \"\(target.table.relname)\" that reads sharded table \"\(other.table.relname)\" across shards is not supported yet",
            hint: "fix the shard keys (\(target.keyDescription), \(other.keyDescription)) to values on one shard")
    }

    /// A write to a reference table that reads a sharded or pinned table: every shard would
    /// write different rows into its copy.
    static func referenceWriteReadsShardedData(_ target: TableOccurrence, _ other: TableOccurrence) -> RoutingError {
        notSupported(
            "write to reference table \"\(target.table.relname)\" cannot read \(other.placement.description) table \"\(other.table.relname)\"",
            hint: "read the rows in a separate statement and write them to \(target.table.relname) with literal values")
    }

    /// A write to a reference table that calls a function whose value differs per shard: the
    /// copies would diverge.
    static func volatileReferenceWrite(_ target: TableOccurrence, function: String) -> RoutingError {
        notSupported(
            "write to reference table \"\(target.table.relname)\" calls \(function), which would give every shard's copy a different value",
            hint: "compute the value in the application and pass it as a literal")
    }

    /// A data-modifying WITH whose parts are not all on one shard.
    static func nestedWriteAcrossShards() -> RoutingError {
        notSupported(
            "data-modifying WITH across shards is not supported yet",
            hint: "fix the shard key of every sharded table in the statement to values on one shard, or split the statement")
    }

    /// UPDATE … SET of the shard key (or ON CONFLICT DO UPDATE SET of it).
    static func shardKeyUpdate(table: String, key: String) -> RoutingError {
        notSupported(
            "UPDATE cannot change the shard key \"\(key)\" of table \"\(table)\"",
            hint: "delete the row and insert it again with the new key")
    }

    // MARK: INSERT into sharded tables

    static func insertWithoutColumnList(table: String, key: String) -> RoutingError {
        notSupported(
            "INSERT into sharded table \"\(table)\" needs a column list",
            hint: "name the columns: INSERT INTO \(table) (\(key), …) VALUES …")
    }

    static func insertWithoutShardKey(table: String, key: String) -> RoutingError {
        notSupported(
            "INSERT into sharded table \"\(table)\" must set the shard key \"\(key)\"",
            hint: "add \(key) to the column list and give every row its value")
    }

    static func insertDefaultValues(table: String, key: String) -> RoutingError {
        notSupported(
            "INSERT … DEFAULT VALUES into sharded table \"\(table)\" cannot set the shard key \"\(key)\"",
            hint: "name the columns: INSERT INTO \(table) (\(key), …) VALUES …")
    }

    static func insertSelect(table: String) -> RoutingError {
        notSupported(
            "INSERT … SELECT into sharded table \"\(table)\" runs only when the SELECT reads one shard and fills the key from a co-located table's key (or a constant) on that shard",
            hint: "fix the shard key in the SELECT's WHERE clause, or insert the rows with VALUES")
    }

    static func insertKeyNotConstant(key: String) -> RoutingError {
        notSupported(
            "cannot determine the shard of an INSERT whose shard key \"\(key)\" is not a constant",
            hint: "pass the key as a literal")
    }

    static func insertSpansShards() -> RoutingError {
        notSupported(
            "multi-row INSERT spanning several shards is not supported with RETURNING or parameters",
            hint: "insert the rows of each shard in a separate statement, or send the INSERT without RETURNING as a simple query")
    }

    // MARK: Other statements

    /// SELECT INTO, CREATE TABLE AS, CREATE MATERIALIZED VIEW.
    static func createTableAs(_ kind: String) -> RoutingError {
        notSupported(
            "\(kind) through pgshard is not supported yet",
            hint: "create the table with CREATE TABLE, then fill it with INSERT")
    }

    /// EXPLAIN of a statement that does not run on one shard.
    static func explainAcrossShards() -> RoutingError {
        notSupported(
            "EXPLAIN in a format other than TEXT of a statement that runs on several shards is not supported",
            hint: "use EXPLAIN (FORMAT TEXT), or fix the shard key so the statement runs on one shard")
    }

    /// COMMIT/ROLLBACK AND CHAIN.
    static func transactionChain() -> RoutingError {
        notSupported(
            "COMMIT AND CHAIN and ROLLBACK AND CHAIN are not supported by pgshard",
            hint: "end the transaction, then BEGIN a new one")
    }

    /// PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED.
    static func twoPhaseCommitReserved(_ kind: String) -> RoutingError {
        notSupported(
            "\(kind) is reserved for pgshard's own two-phase commit",
            hint: "use BEGIN and COMMIT: pgshard commits transactions that write on several shards with two-phase commit itself")
    }

    /// A BEGIN option pgshard does not know how to pass on.
    static func unknownTransactionOption(_ name: String) -> RoutingError {
        notSupported("transaction option \"\(name)\" is not supported by pgshard", hint: nil)
    }

    /// SET TRANSACTION SNAPSHOT: snapshots belong to one server.
    static func transactionSnapshot() -> RoutingError {
        notSupported(
            "SET TRANSACTION SNAPSHOT through pgshard is not supported",
            hint: "snapshots belong to one server; connect to the shard directly")
    }

    /// DISCARD PLANS / SEQUENCES / TEMP.
    static func discard(_ target: String) -> RoutingError {
        notSupported("DISCARD \(target) through pgshard is not supported yet", hint: "use DISCARD ALL")
    }

    /// A statement kind pgshard does not route.
    /// COPY FROM into a sharded table whose column list leaves out a key column.
    static func copyWithoutKey(table: String, column: String) -> RoutingError {
        notSupported(
            "COPY into sharded table \(table) without its shard key column \(column)",
            hint: "add \(column) to the column list: pgshard places each row by its key")
    }

    /// Binary COPY FROM into a table with a numeric shard key, whose binary form pgshard does not read.
    static func copyBinaryNumericKey(table: String) -> RoutingError {
        notSupported(
            "COPY … FROM STDIN (FORMAT binary) into table \(table), whose shard key is numeric",
            hint: "use FORMAT text or csv")
    }

    /// A COPY option PostgreSQL rejects too (same SQLSTATE and message), found before any row.
    static func copyOption(_ sqlState: String, _ message: String) -> RoutingError {
        RoutingError(sqlState: sqlState, message: message, hint: "PostgreSQL rejects these COPY options too; see its COPY documentation")
    }

    static func unsupportedStatement(_ kind: String, hint: String) -> RoutingError {
        notSupported("\(kind) through pgshard is not supported yet", hint: hint)
    }

    // MARK: DDL

    /// The shard key column is declared with a type whose hash differs from the configured one.
    static func shardKeyTypeMismatch(table: String, key: String, declared: String, configured: String) -> RoutingError {
        RoutingError(
            sqlState: "42804",
            message: "shard key \"\(table).\(key)\" is declared \(declared) but pgshard's configuration says \(configured)",
            hint: "declare the column as \(configured), or change the key type in the pgshard configuration")
    }

    /// CREATE TABLE of a sharded table without its key column.
    static func missingShardKeyColumn(table: String, key: String) -> RoutingError {
        RoutingError(
            sqlState: "42703",
            message: "CREATE TABLE \(table) does not declare the shard key column \"\(key)\"",
            hint: "add the column \(key), or change the table's key in the pgshard configuration")
    }

    /// ALTER TABLE that drops or renames the shard key column.
    static func alterShardKey(table: String, key: String, action: String) -> RoutingError {
        notSupported(
            "ALTER TABLE cannot \(action) the shard key \"\(key)\" of table \"\(table)\"",
            hint: "change the table's key in the pgshard configuration first")
    }

    /// DDL naming a pinned table together with tables on other shards.
    static func ddlMixesPinnedTable(_ pinned: String, shard: Int, _ other: String) -> RoutingError {
        notSupported(
            "DDL naming pinned table \(pinned) (shard \(shard)) together with \(other) is not supported",
            hint: "run the statement for \(pinned) separately")
    }
}

extension TablePlacement: CustomStringConvertible {
    var description: String {
        switch self {
        case .sharded: "sharded"
        case .reference: "reference"
        case .pinned: "pinned"
        case .catalog: "catalog"
        }
    }
}
