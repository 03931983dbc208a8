import Sharding

/// Routes `COPY table [(columns)] FROM STDIN`: the table's placement, the column list and the
/// options that decide how the session finds rows and key fields in the client's data.
struct CopyInRouting {
    let schema: ShardingSchema

    /// The route of a `CopyStmt` node with `is_from` set.
    func route(_ copy: JSONValue) -> Route {
        guard copy["filename"] == nil, copy["is_program"]?.bool != true else {
            return .refuse(.unsupportedStatement("COPY to or from a file on the server", hint: "use COPY … FROM STDIN (psql: \\copy)"))
        }
        guard let relation = copy["relation"], let table = TableName(anyRangeVar: relation) else {
            return .refuse(.unsupportedStatement("this COPY", hint: "use COPY table [(columns)] FROM STDIN"))
        }
        let columns = copy["attlist"].map { $0.elements.compactMap { $0.node("String")?["sval"]?.string } }
        let options: CopyOptions
        switch Self.options(copy["options"]?.elements ?? []) {
        case .success(let parsed): options = parsed
        case .failure(let error): return .refuse(error)
        }
        let target: CopyTarget
        switch schema.placement(of: table) {
        case nil:
            return .refuse(.unknownTable(table.relname))
        case .catalog:
            return .refuse(.catalogWrite(table.relname))
        case .pinned(let shard):
            target = .pinned(shard)
        case .reference:
            target = .reference(shardCount: schema.shardCount)
        case .sharded(let key):
            if let columns, let missing = key.keyColumns.first(where: { !columns.contains($0) }) {
                return .refuse(.copyWithoutKey(table: table.relname, column: missing))
            }
            if options.format == .binary, key.keyTypes.contains(.numeric) {
                return .refuse(.copyBinaryNumericKey(table: table.relname))
            }
            let shards: [Int]
            switch key.function.shards(for: []) {
            case .success(let used): shards = used.sorted()
            case .failure: shards = Array(0..<schema.shardCount)
            }
            target = .sharded(key, shards: shards)
        }
        var qualified = Self.quoteIdentifier(table.relname)
        if let schemaName = table.schema { qualified = Self.quoteIdentifier(schemaName) + "." + qualified }
        return .copyIn(CopyInPlan(table: table.relname, qualifiedName: qualified, target: target, columns: columns,
                                  options: options, hasWhere: copy["whereClause"] != nil))
    }

    /// The options as PostgreSQL's `ProcessCopyOptions` reads them (old and new syntax reach
    /// the parse tree as the same `DefElem`s), with its errors for the ones that would keep
    /// pgshard from finding rows; anything else is left to the shards to check.
    static func options(_ elements: [JSONValue]) -> Result<CopyOptions, RoutingError> {
        let definitions = elements.compactMap { $0.node("DefElem") }
        func argument(_ name: String) -> JSONValue?? {
            guard let definition = definitions.last(where: { $0["defname"]?.string == name }) else { return nil }
            return .some(definition["arg"])
        }
        let formatName = argument("format").map { text($0) ?? "" }?.lowercased() ?? "text"
        guard let format = CopyFormat(rawValue: formatName) else {
            return .failure(.copyOption("22023", "COPY format \"\(formatName)\" not recognized"))
        }
        var options = CopyOptions(format: format)
        if let delimiter = argument("delimiter") {
            guard format != .binary else { return .failure(.copyOption("42601", "cannot specify DELIMITER in BINARY mode")) }
            guard let byte = singleByte(delimiter) else {
                return .failure(.copyOption("0A000", "COPY delimiter must be a single one-byte character"))
            }
            options.delimiter = byte
        }
        if let null = argument("null") {
            guard format != .binary else { return .failure(.copyOption("42601", "cannot specify NULL in BINARY mode")) }
            options.null = Array((text(null) ?? "").utf8)
        }
        if let header = argument("header") {
            guard format != .binary else { return .failure(.copyOption("0A000", "cannot specify HEADER in BINARY mode")) }
            options.header = boolean(header, allowMatch: true)
        }
        for (name, keyPath) in [("quote", \CopyOptions.quote), ("escape", \CopyOptions.escape)] {
            guard let value = argument(name) else { continue }
            guard format == .csv else { return .failure(.copyOption("0A000", "COPY \(name) available only in CSV mode")) }
            guard let byte = singleByte(value) else {
                return .failure(.copyOption("0A000", "COPY \(name) must be a single one-byte character"))
            }
            options[keyPath: keyPath] = byte
            if name == "quote", argument("escape") == nil { options.escape = byte }
        }
        options.forceNotNull = names(argument("force_not_null"))
        options.forceNull = names(argument("force_null"))
        if let encoding = argument("encoding") { options.encoding = text(encoding)?.uppercased() }
        let lineBreaks: Set<UInt8> = [UInt8(ascii: "\n"), UInt8(ascii: "\r")]
        if lineBreaks.contains(options.delimiter) {
            return .failure(.copyOption("22023", "COPY delimiter cannot be newline or carriage return"))
        }
        if options.null.contains(where: lineBreaks.contains) {
            return .failure(.copyOption("22023", "COPY null representation cannot use newline or carriage return"))
        }
        if format == .csv, options.delimiter == options.quote {
            return .failure(.copyOption("22023", "COPY delimiter and quote must be different"))
        }
        return .success(options)
    }

    private static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A string argument (also a bare word, which the grammar stores as a string too).
    private static func text(_ argument: JSONValue?) -> String? {
        argument?.node("String")?["sval"]?.string ?? (argument?.node("String") != nil ? "" : nil)
    }

    private static func singleByte(_ argument: JSONValue?) -> UInt8? {
        guard let value = text(argument), value.utf8.count == 1 else { return nil }
        return value.utf8.first
    }

    /// `defGetBoolean`: no argument is true; 1/0, true/false, on/off; `match` for HEADER.
    private static func boolean(_ argument: JSONValue?, allowMatch: Bool) -> Bool {
        guard let argument else { return true }
        if let integer = argument.node("Integer") { return (integer["ival"]?.integer ?? 0) != 0 }
        if let boolean = argument.node("Boolean") { return boolean["boolval"]?.bool == true }
        let word = text(argument)?.lowercased() ?? ""
        return ["true", "on", "1"].contains(word) || (allowMatch && word == "match")
    }

    /// A column list argument (`FORCE_NOT_NULL (a, b)`).
    private static func names(_ argument: JSONValue??) -> [String] {
        guard case .some(.some(let value)) = argument else { return [] }
        let elements = value.node("List")?["items"]?.elements ?? value.elements
        return elements.compactMap { $0.node("String")?["sval"]?.string }
    }
}
