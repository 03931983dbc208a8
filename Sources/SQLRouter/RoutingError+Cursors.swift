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
}
