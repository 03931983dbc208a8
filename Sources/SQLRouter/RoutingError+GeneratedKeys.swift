// Errors of generated keys (`key_generator: global_id`) and `pgshard.next_id`.

extension RoutingError {
    /// `INSERT … SELECT` into a table with a generated key, without the key: how many keys it
    /// needs is known only to the shard running the SELECT.
    static func generatedKeyFromSelect(table: String, key: String) -> RoutingError {
        RoutingError(
            sqlState: featureNotSupported,
            message: "INSERT … SELECT into \"\(table)\" without its key \"\(key)\": pgshard generates keys only for VALUES rows",
            hint: "insert the rows with VALUES (pgshard fills \(key)), or select \(key) too, e.g. from pgshard.next_id('\(table)') per row in the application")
    }

    /// The text of an INSERT with a generated key did not have the shape its parse tree said.
    static func generatedKeyUnreadable(table: String) -> RoutingError {
        RoutingError(
            sqlState: featureNotSupported,
            message: "pgshard could not add the generated key to this INSERT into \"\(table)\"",
            hint: "write the INSERT with a column list and VALUES rows, or give the key yourself from SELECT pgshard.next_id('\(table)')")
    }

    /// `pgshard.next_id('t')` for a table pgshard does not know.
    static func nextIDUnknownTable(_ name: String) -> RoutingError {
        RoutingError(
            sqlState: "42P01",
            message: "table \"\(name)\" is not known to pgshard",
            hint: "pgshard.next_id takes a sharded table configured with key_generator: global_id")
    }

    /// `pgshard.next_id('t')` for a table without a generated key.
    static func nextIDWithoutGenerator(_ name: String) -> RoutingError {
        RoutingError(
            sqlState: "55000",
            message: "table \"\(name)\" has no generated key",
            hint: "add key_generator: global_id to tables.\(name) in the pgshard configuration (one bigint key column)")
    }

    /// `pgshard.next_id` anywhere but in `SELECT pgshard.next_id('table') [AS name]`.
    static func nextIDShape() -> RoutingError {
        RoutingError(
            sqlState: featureNotSupported,
            message: "pgshard.next_id is answered by pgshard only as SELECT pgshard.next_id('table') [AS name]",
            hint: "run SELECT pgshard.next_id('table') on its own and use the value in the next statement; the shards have no such function")
    }
}
