import Sharding

/// Where the rows of a table named in a statement live.
enum TablePlacement: Equatable {
    /// A sharded table (see ``TableRule/sharded(_:)``).
    case sharded(ShardedTable)
    /// A reference table, copied to every shard.
    case reference
    /// A table that lives on one shard.
    case pinned(shard: Int)
    /// A system catalog (`pg_catalog`, `information_schema`): every shard has its own, and any
    /// one answers a read.
    case catalog

    var isSharded: Bool {
        if case .sharded = self { return true }
        return false
    }
}

extension ShardingSchema {
    /// The placement of `table`, or `nil` for a table pgshard does not know.
    ///
    /// Tables are found by name alone whatever their schema (a documented simplification),
    /// except that `pg_catalog.*` and `information_schema.*` are always catalogs, and an
    /// unqualified `pg_*` name not in the configuration is taken for a catalog.
    func placement(of table: TableName) -> TablePlacement? {
        if let schema = table.schema, schema == "pg_catalog" || schema == "information_schema" {
            return .catalog
        }
        if let rule = tables[table.relname] {
            switch rule {
            case .sharded(let key):
                return .sharded(key)
            case .reference:
                return .reference
            case .pinned(let shard):
                return .pinned(shard: shard)
            }
        }
        if table.schema == nil, table.relname.hasPrefix("pg_") {
            return .catalog
        }
        return nil
    }
}
