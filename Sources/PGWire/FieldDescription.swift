/// One column of a RowDescription message.
public struct FieldDescription: Equatable, Sendable {
    /// The column name.
    public var name: String
    /// The OID of the table the column comes from, or 0.
    public var tableOID: UInt32
    /// The attribute number of the column in that table, or 0.
    public var columnAttributeNumber: Int16
    /// The OID of the column's data type.
    public var dataTypeOID: UInt32
    /// The type's size (`pg_type.typlen`); negative for variable-width types.
    public var dataTypeSize: Int16
    /// The type modifier (`pg_attribute.atttypmod`); -1 when there is none.
    public var typeModifier: Int32
    /// The format code of the values: 0 text, 1 binary.
    public var format: Int16

    /// Creates a field description.
    public init(
        name: String,
        tableOID: UInt32,
        columnAttributeNumber: Int16,
        dataTypeOID: UInt32,
        dataTypeSize: Int16,
        typeModifier: Int32,
        format: Int16
    ) {
        self.name = name
        self.tableOID = tableOID
        self.columnAttributeNumber = columnAttributeNumber
        self.dataTypeOID = dataTypeOID
        self.dataTypeSize = dataTypeSize
        self.typeModifier = typeModifier
        self.format = format
    }
}
