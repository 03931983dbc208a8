import Foundation
import Sharding
import SQLRouter

/// The `tables:` section: sharded (with their functions), reference and pinned tables.
extension ConfigReader {
    static let tableSettings: Set<String> = ["key", "type", "function", "reference", "shard", "ranges", "lists", "default", "vnodes", "directory", "groups", "key_generator"]

    /// `shard_groups: { name: [shard, …] }`: every shard in at most one group.
    mutating func readShardGroups(_ value: Any?, shardNames: [String]) -> [String: [String]] {
        guard let entries = anyMap(value, "shard_groups") else { return [:] }
        var groups: [String: [String]] = [:]
        var seen = Set<String>()
        for name in entries.keys.sorted() {
            let path = "shard_groups.\(name)"
            guard let members = entries[name] as? [Any], !members.isEmpty else {
                problem(path, "expected a non-empty list of shard names")
                continue
            }
            var list: [String] = []
            for (i, member) in members.enumerated() {
                guard let shard = readShardName(member, path: "\(path)[\(i)]", shardNames: shardNames) else { continue }
                if !seen.insert(shard).inserted { problem("\(path)[\(i)]", "shard \"\(shard)\" is in two groups") }
                list.append(shard)
            }
            groups[name] = list
        }
        return groups
    }

    mutating func readTables(_ value: Any?, shardNames: [String], hasDirectory: Bool = true, groups: Set<String> = []) -> [String: ProxyConfig.Table] {
        guard let entries = anyMap(value, "tables") else { return [:] }
        var tables: [String: ProxyConfig.Table] = [:]
        for name in entries.keys.sorted() {
            let path = "tables.\(name)"
            guard let entry = map(entries[name], path, allowed: Self.tableSettings) else { continue }
            let lower = name.lowercased()
            if tables[lower] != nil { problem(path, "table \"\(lower)\" is configured twice (names are case-insensitive)") }
            let kinds = [entry["key"] != nil, entry["reference"] as? Bool == true, entry["shard"] != nil].filter { $0 }.count
            if kinds != 1 {
                problem(path, "give exactly one of key: (sharded), reference: true, or shard: (pinned)")
                continue
            }
            if let shard = string(entry["shard"], "\(path).shard") {
                if !shardNames.contains(shard) { problem("\(path).shard", "unknown shard \"\(shard)\"") }
                tables[lower] = .pinned(shard: shard)
            } else if entry["reference"] as? Bool == true {
                tables[lower] = .reference
            } else if let spec = readShardKey(entry, path: path, table: lower, shardNames: shardNames, groups: groups) {
                if case .directory = spec.function, !hasDirectory {
                    problem("\(path).function", "function directory needs a directory: { conninfo: ... } section")
                }
                tables[lower] = .sharded(spec)
            }
        }
        return tables
    }

    /// `key` (one column or a list), `type` (one or a list, default bigint), `function` and its
    /// settings.
    private mutating func readShardKey(_ entry: [String: Any], path: String, table: String, shardNames: [String], groups: Set<String>) -> ProxyConfig.ShardKeySpec? {
        guard let columns = stringList(entry["key"], "\(path).key"), !columns.isEmpty else { return nil }
        var types = Array(repeating: ShardKeyType.bigint, count: columns.count)
        if let typeNames = stringList(entry["type"], "\(path).type") {
            guard typeNames.count == columns.count else {
                problem("\(path).type", "give one type per key column (\(columns.count))")
                return nil
            }
            for (i, typeName) in typeNames.enumerated() {
                // A length modifier (varchar(64)) does not change placement.
                let base = typeName.split(separator: "(").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? typeName
                guard let type = ShardKeyType(sqlName: base) else {
                    problem("\(path).type", "unsupported key type \"\(typeName)\"; use smallint, integer, bigint, text, varchar, uuid, date, timestamp, timestamptz or numeric")
                    return nil
                }
                types[i] = type
            }
        }
        let functionName = string(entry["function"], "\(path).function") ?? "hash"
        let settings: [String: Set<String>] = [
            "hash": [], "range": ["ranges", "default"], "list": ["lists", "default"], "consistent": ["vnodes"], "modulo-md5": [],
            "directory": ["directory"], "group": ["groups"],
        ]
        guard let allowed = settings[functionName] else {
            problem("\(path).function", "unknown sharding function \"\(functionName)\"; use hash, range, list, consistent, modulo-md5 or directory")
            return nil
        }
        for setting in ["ranges", "lists", "default", "vnodes", "directory", "groups"] where entry[setting] != nil && !allowed.contains(setting) {
            problem("\(path).\(setting)", "not a setting of function \(functionName)")
        }
        if functionName == "group" {
            guard columns.count == 2 else {
                problem("\(path).key", "function group takes two key columns: [tenant, key]")
                return nil
            }
            guard !groups.isEmpty else {
                problem("\(path).function", "function group needs shard_groups: { name: [shards], … }")
                return nil
            }
        } else if functionName != "hash", columns.count > 1 {
            problem("\(path).key", "function \(functionName) takes one key column; only hash takes several")
            return nil
        }
        let generator = readKeyGenerator(entry["key_generator"], path: "\(path).key_generator", columns: columns, types: types, function: functionName)
        let spec = { (function: ProxyConfig.FunctionSpec) in
            ProxyConfig.ShardKeySpec(columns: columns.map { $0.lowercased() }, types: types, function: function, keyGenerator: generator)
        }
        switch functionName {
        case "hash":
            if let bad = types.first(where: { $0 == .numeric }) {
                problem("\(path).type", "hash placement of \(bad.rawValue) keys is not supported; use range or list, or a bigint key")
                return nil
            }
            return spec(.hash)
        case "range":
            guard [.smallint, .integer, .bigint, .numeric, .date, .timestamp, .timestamptz].contains(types[0]) else {
                problem("\(path).type", "range needs an ordered key type (integers, numeric, date, timestamp, timestamptz), not \(types[0].rawValue)")
                return nil
            }
            guard let rules = readRanges(entry["ranges"], path: "\(path).ranges", type: types[0], shardNames: shardNames) else { return nil }
            return spec(.range(rules: rules, default: readDefault(entry["default"], path: "\(path).default", shardNames: shardNames)))
        case "list":
            guard let rules = readLists(entry["lists"], path: "\(path).lists", type: types[0], shardNames: shardNames) else { return nil }
            return spec(.list(rules: rules, default: readDefault(entry["default"], path: "\(path).default", shardNames: shardNames)))
        case "consistent":
            guard types[0] != .numeric else {
                problem("\(path).type", "consistent hashing of numeric keys is not supported")
                return nil
            }
            return spec(.consistent(vnodes: integer(entry["vnodes"], "\(path).vnodes", range: 1...10_000) ?? 256))
        case "group":
            guard let settings = map(entry["groups"], "\(path).groups", allowed: ["lists", "default"]) else {
                return spec(.group(lists: nil, default: nil))
            }
            var rules: [ProxyConfig.GroupRule] = []
            for (i, item) in ((settings["lists"] as? [Any]) ?? []).enumerated() {
                let itemPath = "\(path).groups.lists[\(i)]"
                guard let rule = map(item, itemPath, allowed: ["values", "group"]),
                      let group = requiredString(rule["group"], "\(itemPath).group"), let values = rule["values"] as? [Any]
                else { return nil }
                guard groups.contains(group) else {
                    problem("\(itemPath).group", "unknown shard group \"\(group)\"")
                    return nil
                }
                var parsed: [ShardKeyValue] = []
                for value in values {
                    guard let key = keyValue(value, "\(itemPath).values", type: types[0]) else { return nil }
                    parsed.append(key)
                }
                rules.append(.init(values: parsed, group: group))
            }
            let defaultGroup = string(settings["default"], "\(path).groups.default")
            if let defaultGroup, !groups.contains(defaultGroup) {
                problem("\(path).groups.default", "unknown shard group \"\(defaultGroup)\"")
            }
            return spec(.group(lists: rules, default: defaultGroup))
        case "directory":
            // Tables naming the same directory are co-located (default: the table's own name).
            return spec(.directory(name: string(entry["directory"], "\(path).directory") ?? table))
        default:
            return spec(.moduloMD5)
        }
    }

    /// `key_generator: global_id`: pgshard makes the key of rows inserted without one. Only for
    /// one bigint column placed by a function that places a new key by itself.
    private mutating func readKeyGenerator(_ value: Any?, path: String, columns: [String], types: [ShardKeyType], function: String) -> KeyGenerator? {
        guard let name = string(value, path) else { return nil }
        guard let generator = KeyGenerator(rawValue: name) else {
            problem(path, "unknown key generator \"\(name)\"; use global_id")
            return nil
        }
        guard columns.count == 1 else {
            problem(path, "a generated key is one column; this key has \(columns.count)")
            return nil
        }
        guard types[0] == .bigint else {
            problem(path, "global_id makes 64-bit ids: the key type must be bigint, not \(types[0].rawValue)")
            return nil
        }
        guard !["directory", "group"].contains(function) else {
            problem(path, "global_id needs a function that places a new key by itself (hash, range, list, consistent or modulo-md5), not \(function)")
            return nil
        }
        return generator
    }

    private mutating func readRanges(_ value: Any?, path: String, type: ShardKeyType, shardNames: [String]) -> [ProxyConfig.RangeRule]? {
        guard let list = value as? [Any], !list.isEmpty else {
            problem(path, "expected a list of { from, to, shard } (from inclusive, to exclusive; either may be left out)")
            return nil
        }
        var rules: [ProxyConfig.RangeRule] = []
        for (i, item) in list.enumerated() {
            let itemPath = "\(path)[\(i)]"
            guard let entry = map(item, itemPath, allowed: ["from", "to", "shard"]),
                  let shard = readShardName(entry["shard"], path: "\(itemPath).shard", shardNames: shardNames)
            else { return nil }
            let from = entry["from"].map { keyValue($0, "\(itemPath).from", type: type) }
            let to = entry["to"].map { keyValue($0, "\(itemPath).to", type: type) }
            if from == .some(nil) || to == .some(nil) { return nil }
            if let low = from ?? nil, let high = to ?? nil, (low.compare(high) ?? 1) >= 0 {
                problem(itemPath, "from must be below to")
                return nil
            }
            rules.append(.init(from: from ?? nil, to: to ?? nil, shard: shard))
        }
        // Overlaps: sorted by lower bound (open first), each must end where the next begins or before.
        let sorted = rules.sorted { a, b in
            guard let x = a.from else { return b.from != nil }
            guard let y = b.from else { return false }
            return (x.compare(y) ?? 0) < 0
        }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            guard let end = a.to, let start = b.from, (end.compare(start) ?? 1) <= 0 else {
                problem(path, "ranges overlap (for \(a.shard) and \(b.shard)); every key must belong to one range")
                return nil
            }
        }
        return rules
    }

    private mutating func readLists(_ value: Any?, path: String, type: ShardKeyType, shardNames: [String]) -> [ProxyConfig.ListRule]? {
        guard let list = value as? [Any], !list.isEmpty else {
            problem(path, "expected a list of { values: [...], shard }")
            return nil
        }
        var rules: [ProxyConfig.ListRule] = []
        var seen = Set<ShardKeyValue?>()
        for (i, item) in list.enumerated() {
            let itemPath = "\(path)[\(i)]"
            guard let entry = map(item, itemPath, allowed: ["values", "shard"]),
                  let shard = readShardName(entry["shard"], path: "\(itemPath).shard", shardNames: shardNames)
            else { return nil }
            guard let items = entry["values"] as? [Any], !items.isEmpty else {
                problem("\(itemPath).values", "expected a non-empty list of key values (null for NULL)")
                return nil
            }
            var values: [ShardKeyValue?] = []
            for item in items {
                var value: ShardKeyValue?
                if !(item is NSNull) {
                    guard let parsed = keyValue(item, "\(itemPath).values", type: type) else { return nil }
                    value = parsed
                }
                guard seen.insert(value).inserted else {
                    problem("\(itemPath).values", "\(value?.postgresText ?? "null") is listed twice; a value belongs to one shard")
                    return nil
                }
                values.append(value)
            }
            rules.append(.init(values: values, shard: shard))
        }
        return rules
    }

    private mutating func readDefault(_ value: Any?, path: String, shardNames: [String]) -> String? {
        guard value != nil else { return nil }
        return readShardName(value, path: path, shardNames: shardNames)
    }

    private mutating func readShardName(_ value: Any?, path: String, shardNames: [String]) -> String? {
        guard let name = requiredString(value, path) else { return nil }
        guard shardNames.contains(name) else {
            problem(path, "unknown shard \"\(name)\"")
            return nil
        }
        return name
    }

    /// A key value written in the configuration: a YAML scalar read as the key type's input
    /// function reads text. A timestamptz without an offset is taken as UTC.
    private mutating func keyValue(_ value: Any, _ path: String, type: ShardKeyType) -> ShardKeyValue? {
        let text: String
        switch value {
        case let string as String: text = string
        case let number as Int: text = String(number)
        case let number as Double: text = String(number)
        case let date as Date:
            // YAML reads an unquoted 2025-01-01 as a timestamp (UTC midnight).
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.formatOptions = type == .date ? [.withFullDate] : [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate, .withSpaceBetweenDateAndTime]
            text = formatter.string(from: date)
        default:
            problem(path, "expected a \(type.rawValue) value")
            return nil
        }
        if let parsed = type.parse(text) ?? (type == .timestamptz ? type.parse(text + "+00") : nil) {
            return parsed
        }
        problem(path, "\"\(text)\" is not a \(type.rawValue) value pgshard can read (use ISO 8601 for dates and times)")
        return nil
    }

    /// One string or a list of strings.
    private mutating func stringList(_ value: Any?, _ path: String) -> [String]? {
        switch value {
        case nil: return nil
        case let list as [Any]:
            var strings: [String] = []
            for (i, item) in list.enumerated() {
                guard let text = string(item, "\(path)[\(i)]") else { return nil }
                strings.append(text)
            }
            return strings
        default:
            return string(value, path).map { [$0] }
        }
    }
}
