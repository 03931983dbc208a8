/// Recognises calls whose value differs from shard to shard.
///
/// A write to a reference table runs on every shard; each evaluates its expressions itself, so
/// `now()` or `nextval()` would store a different value in every copy. The raw parse tree does
/// not carry volatility (PostgreSQL reads it from its catalog), so the router knows the common
/// built-in ones by name. Column defaults are not visible in the statement at all: that gap is
/// documented on ``Router``.
enum Volatility {
    /// Built-in functions whose result differs between servers or calls.
    static let volatileFunctions: Set<String> = [
        "now", "random", "setseed", "nextval", "setval", "currval", "lastval", "clock_timestamp",
        "statement_timestamp", "transaction_timestamp", "timeofday", "gen_random_uuid",
        "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "txid_current",
        "txid_current_if_assigned", "pg_current_xact_id", "pg_current_xact_id_if_assigned",
        "pg_backend_pid", "inet_server_addr", "inet_server_port", "random_normal",
    ]

    /// `name()` when the fields of a `FuncCall` node call a volatile built-in.
    static func volatileName(ofCall call: JSONValue) -> String? {
        guard let name = call["funcname"]?.nameList?.last?.lowercased(), volatileFunctions.contains(name) else { return nil }
        return name + "()"
    }

    /// The SQL keyword when the fields of a `SQLValueFunction` node read the clock
    /// (`CURRENT_TIMESTAMP`, `LOCALTIME`, `CURRENT_DATE`, …).
    static func volatileName(ofValueFunction function: JSONValue) -> String? {
        guard let operation = function["op"]?.string, operation.hasPrefix("SVFOP_"),
              operation.contains("TIME") || operation.contains("DATE")
        else { return nil }
        var keyword = operation.dropFirst("SVFOP_".count)
        if keyword.hasSuffix("_N") { keyword = keyword.dropLast(2) }
        return String(keyword)
    }
}
