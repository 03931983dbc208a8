// Errors of SQL cursors (DECLARE) that the router can tell from the statement alone.

extension RoutingError {
    /// A cursor whose rows need the merge: its FETCHes would have to combine every shard's
    /// rows in batches, which pgshard does not do.
    static func cursorNeedsMerge() -> RoutingError {
        RoutingError(
            sqlState: featureNotSupported,
            message: "a cursor whose query reads several shards with ORDER BY, LIMIT, OFFSET, aggregates, GROUP BY or DISTINCT is not supported",
            hint: "add a condition on the shard key so the cursor reads one shard, leave the ordering out of the cursor's query (its rows then come shard after shard), or run the SELECT without a cursor (the extended protocol's Execute with a row limit reads it in batches)")
    }

    /// `DECLARE … SCROLL CURSOR` whose query reads several shards.
    static func scrollCursorAcrossShards() -> RoutingError {
        RoutingError(
            sqlState: featureNotSupported,
            message: "a SCROLL cursor whose query reads several shards is not supported",
            hint: "declare it without SCROLL (a cursor across shards fetches forward only), or add a condition on the shard key so the cursor reads one shard")
    }

    /// A cursor's query with a data-modifying WITH across shards (PostgreSQL refuses these in a
    /// cursor in any case).
    static func cursorQueryWrites() -> RoutingError {
        RoutingError(
            sqlState: featureNotSupported,
            message: "DECLARE CURSOR must not contain data-modifying statements in WITH",
            hint: "run the data-modifying statement on its own, then declare the cursor")
    }

    /// `WHERE CURRENT OF` on a statement that reads other sharded or pinned tables.
    static func currentOfWithOtherTables(_ table: String) -> RoutingError {
        RoutingError(
            sqlState: featureNotSupported,
            message: "WHERE CURRENT OF on \(table) with other sharded or pinned tables in the statement is not supported",
            hint: "read only \(table) and reference tables in the UPDATE or DELETE, or update the row by its key")
    }

    /// `WHERE CURRENT OF` on a reference table: the cursor stands on one copy only.
    static func currentOfReferenceTable(_ table: String) -> RoutingError {
        RoutingError(
            sqlState: featureNotSupported,
            message: "WHERE CURRENT OF on reference table \(table) is not supported: the cursor reads one of its copies",
            hint: "update the row by its primary key, which changes every copy")
    }
}
