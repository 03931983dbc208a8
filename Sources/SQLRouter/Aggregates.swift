/// Recognises aggregate calls in parse trees.
///
/// The raw parse tree does not say whether a function is an aggregate; PostgreSQL decides that
/// from its catalog. Routing knows PostgreSQL 15's built-in aggregates by name, plus every call
/// written with aggregate-only syntax (`count(*)`, `DISTINCT`, `ORDER BY` inside the call,
/// `FILTER`, `WITHIN GROUP`). User-defined aggregates called with plain syntax are not
/// recognised: that needs the shards' catalogs (a documented limitation).
enum Aggregates {
    /// Built-in aggregate functions of PostgreSQL 15 (and 16's `any_value`), by name.
    static let builtinNames: Set<String> = [
        "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or",
        "every", "bit_and", "bit_or", "bit_xor", "json_agg", "jsonb_agg", "json_object_agg",
        "jsonb_object_agg", "json_agg_strict", "jsonb_agg_strict", "json_object_agg_strict",
        "jsonb_object_agg_strict", "json_object_agg_unique", "jsonb_object_agg_unique",
        "json_object_agg_unique_strict", "jsonb_object_agg_unique_strict", "xmlagg",
        "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
        "corr", "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count",
        "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
        "mode", "percentile_cont", "percentile_disc", "rank", "dense_rank", "percent_rank",
        "cume_dist", "range_agg", "range_intersect_agg", "any_value",
    ]

    /// Whether the fields of a `FuncCall` node denote an aggregate (window calls, which carry
    /// `over`, are not aggregates here).
    static func isAggregate(_ call: JSONValue) -> Bool {
        guard call["over"] == nil else { return false }
        if call["agg_star"]?.bool == true || call["agg_distinct"]?.bool == true
            || call["agg_within_group"]?.bool == true || call["agg_filter"] != nil
            || !(call["agg_order"]?.elements.isEmpty ?? true) {
            return true
        }
        guard let name = call["funcname"]?.nameList?.last?.lowercased() else { return false }
        return builtinNames.contains(name)
    }
}
