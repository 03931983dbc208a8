import Sharding

/// One column of a table as its catalog describes it (the session reads them from a shard).
public struct CopyTableColumn: Sendable, Equatable {
    public var name: String
    public var notNull: Bool

    public init(name: String, notNull: Bool) {
        self.name = name
        self.notNull = notNull
    }
}

/// Where the shard key sits in the rows of one COPY FROM into a sharded table: the copied
/// columns in data order, and for each key column its position and what counts as NULL.
public struct CopyLayout: Sendable {
    public let table: String
    public let options: CopyOptions
    public let key: ShardedTable
    /// The copied columns, in the order of the fields of each row.
    public let columns: [String]
    /// Data position of each key column, in key order.
    let keyPositions: [Int]
    /// For each data position, the index of the key column there, or -1.
    let keySlots: [Int]
    /// The key column is declared NOT NULL (and the statement has no WHERE that could drop the row).
    let keyNotNull: [Bool]
    /// CSV `FORCE_NOT_NULL` / `FORCE_NULL` for each key column.
    let keyForceNotNull: [Bool]
    let keyForceNull: [Bool]

    /// The layout of `plan` (a sharded table's COPY) over the table's columns (in table order,
    /// without dropped and generated columns).
    public init(plan: CopyInPlan, key: ShardedTable, tableColumns: [CopyTableColumn]) throws(CopyDataError) {
        let columns = plan.columns ?? tableColumns.map(\.name)
        var positions: [Int] = []
        for name in key.keyColumns {
            guard let position = columns.firstIndex(of: name),
                  plan.columns != nil || tableColumns.contains(where: { $0.name == name })
            else { throw .unknownKeyColumn(name, table: plan.table) }
            positions.append(position)
        }
        var slots = Array(repeating: -1, count: columns.count)
        for (slot, position) in positions.enumerated() { slots[position] = slot }
        self.table = plan.table
        self.options = plan.options
        self.key = key
        self.columns = columns
        self.keyPositions = positions
        self.keySlots = slots
        self.keyNotNull = key.keyColumns.map { name in
            !plan.hasWhere && tableColumns.contains { $0.name == name && $0.notNull }
        }
        self.keyForceNotNull = key.keyColumns.map { plan.options.forceNotNull.contains($0) }
        self.keyForceNull = key.keyColumns.map { plan.options.forceNull.contains($0) }
    }
}
