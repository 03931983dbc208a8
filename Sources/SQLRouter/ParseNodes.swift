import Sharding

// Narrow readers for the few libpg_query node shapes routing looks into.

/// A table named by a `RangeVar` node: `[schema.]relname [AS alias]`.
struct TableName: Equatable {
    var schema: String?
    var relname: String
    var alias: String?

    /// Reads the fields of a `RangeVar` node.
    init?(rangeVar fields: JSONValue) {
        guard let relname = fields["relname"]?.string else { return nil }
        self.schema = fields["schemaname"]?.string
        self.relname = relname
        self.alias = fields["alias"]?["aliasname"]?.string
    }

    /// Reads a `RangeVar` wherever it appears: as a node (`{"RangeVar": {…}}`, in FROM lists)
    /// or as bare fields (libpg_query writes a node's `RangeVar` members, such as
    /// `InsertStmt.relation`, without the wrapper).
    init?(anyRangeVar value: JSONValue) {
        if let fields = value.node("RangeVar") {
            self.init(rangeVar: fields)
        } else if value["relname"]?.string != nil, value["relpersistence"] != nil {
            self.init(rangeVar: value)
        } else {
            return nil
        }
    }

    init(schema: String?, relname: String) {
        self.schema = schema
        self.relname = relname
        self.alias = nil
    }

    /// The name columns are qualified with: the alias, or the table's own name.
    var exposedName: String { alias ?? relname }
}

extension JSONValue {
    /// The strings of a list of `String` nodes (`[{"String":{"sval":"u"}}, …]`), as used for
    /// qualified names and column references; `*` for `A_Star`. `nil` if any element is something
    /// else.
    var nameList: [String]? {
        var names: [String] = []
        for element in elements {
            if let string = element.node("String") {
                names.append(string["sval"]?.string ?? "")
            } else if element.node("A_Star") != nil {
                names.append("*")
            } else {
                return nil
            }
        }
        return names
    }
}

/// A `TypeName` node: the type of a cast or of a column definition.
struct TypeNameInfo {
    /// The qualified name, e.g. `["pg_catalog", "int8"]` or `["uuid"]`.
    var names: [String]
    /// `varchar(20)`: type modifiers change values (a cast to `varchar(2)` truncates).
    var hasModifiers: Bool
    /// `bigint[]`.
    var isArray: Bool
    /// `bigint[]`, `SETOF`, `%TYPE`: not a plain scalar type.
    var isComposite: Bool

    init?(_ fields: JSONValue) {
        guard let names = fields["names"]?.nameList, !names.isEmpty else { return nil }
        self.names = names
        hasModifiers = !(fields["typmods"]?.elements.isEmpty ?? true)
        isArray = !(fields["arrayBounds"]?.elements.isEmpty ?? true)
        isComposite = isArray || fields["setof"]?.bool == true || fields["pct_type"]?.bool == true
    }

    /// The type's own name when it is unqualified or in `pg_catalog`.
    private var builtinName: String? {
        switch names.count {
        case 1: names[0].lowercased()
        case 2 where names[0] == "pg_catalog": names[1].lowercased()
        default: nil
        }
    }

    /// The shard key type a cast to this type produces, without modifiers or array bounds.
    var castKeyType: ShardKeyType? {
        guard !hasModifiers, !isComposite, let name = builtinName else { return nil }
        return ShardKeyType(sqlName: name)
    }

    /// The shard key type a column declared with this type holds; serial types count as their
    /// integer type. Modifiers (`varchar(20)`) do not change how values hash.
    var declaredKeyType: ShardKeyType? {
        guard !isComposite, let name = builtinName else { return nil }
        switch name {
        case "smallserial", "serial2": return .smallint
        case "serial", "serial4": return .integer
        case "bigserial", "serial8": return .bigint
        default: return ShardKeyType(sqlName: name)
        }
    }

    /// How to name the type in a message.
    var displayName: String {
        let scalar = TypeNameInfo(names: names).declaredKeyType?.rawValue
            ?? names.filter { $0 != "pg_catalog" }.joined(separator: ".")
        return isArray ? scalar + "[]" : scalar
    }

    /// A plain scalar type of this name.
    private init(names: [String]) {
        self.names = names
        hasModifiers = false
        isArray = false
        isComposite = false
    }
}

extension ShardKeyType {
    /// Types whose values compare and hash alike: PostgreSQL's integer hash opfamily hashes
    /// equal `int2`, `int4` and `int8` values the same way, and `varchar` uses `text`'s hash.
    enum Family: Equatable {
        case integer, text, uuid, date, timestamp, timestamptz, numeric
    }

    var family: Family {
        switch self {
        case .smallint, .integer, .bigint: .integer
        case .text, .varchar: .text
        case .uuid: .uuid
        case .date: .date
        case .timestamp: .timestamp
        case .timestamptz: .timestamptz
        case .numeric: .numeric
        }
    }
}
