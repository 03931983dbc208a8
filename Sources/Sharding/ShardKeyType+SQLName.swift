extension ShardKeyType {
    /// The key type a PostgreSQL type name denotes, in any of PostgreSQL's spellings and in
    /// any case: `smallint`/`int2`, `integer`/`int`/`int4`, `bigint`/`int8`, `text`,
    /// `varchar`/`character varying`, `uuid`. `nil` for any other type.
    public init?(sqlName: String) {
        switch sqlName.lowercased() {
        case "smallint", "int2": self = .smallint
        case "integer", "int", "int4": self = .integer
        case "bigint", "int8": self = .bigint
        case "text": self = .text
        case "varchar", "character varying": self = .varchar
        case "uuid": self = .uuid
        case "date": self = .date
        case "timestamp", "timestamp without time zone": self = .timestamp
        case "timestamptz", "timestamp with time zone": self = .timestamptz
        case "numeric", "decimal": self = .numeric
        default: return nil
        }
    }
}
