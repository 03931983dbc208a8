/// What the client told pgshard about where a statement goes, beyond its SQL.
public struct RoutingContext: Sendable, Equatable {
    /// Whether statements may need more than one shard.
    public enum CrossShard: String, Sendable, Equatable {
        /// Statements without a key (or with keys on several shards) run on several shards.
        case allow
        /// Such statements are refused (0A000): every statement must name its shard.
        case deny
    }

    public var crossShard: CrossShard
    /// The session's `SET pgshard.shard` / `SET pgshard.key`, if any. A hint comment in the
    /// statement takes precedence.
    public var hint: RoutingHint?

    public init(crossShard: CrossShard = .allow, hint: RoutingHint? = nil) {
        self.crossShard = crossShard
        self.hint = hint
    }
}

/// Manual routing for what SQL cannot say: `/* pgshard: shard=s1 */`, `/* pgshard: key=42 */`,
/// `SET pgshard.shard = 's1'`, `SET pgshard.key = '42'`.
public enum RoutingHint: Sendable, Equatable {
    /// Run on this shard (index into the configured shards).
    case shard(Int)
    /// Run where this key value lives, under the sharding function of the statement's sharded
    /// tables (read with their key type).
    case key(String)
}

extension RoutingHint {
    /// The session settings that carry a hint.
    public static let shardSetting = "pgshard.shard"
    public static let keySetting = "pgshard.key"

    /// The hint of a `pgshard:` comment in `sql`, nil when there is none. A comment outside
    /// string literals, quoted identifiers and dollar quotes whose text starts with `pgshard:`
    /// followed by `shard=NAME` or `key=VALUE` (VALUE optionally in single quotes).
    static func comment(in sql: String, shardNames: [String]) -> Result<RoutingHint, RoutingError>? {
        // Most statements carry no hint: one substring test keeps them cheap.
        guard mentionsPgshard(sql) else { return nil }
        for body in SQLScanner.comments(in: Array(sql.utf8)) {
            let text = body.trimmingWhitespace
            guard text.hasPrefix("pgshard:") else { continue }
            return parse(String(text.dropFirst("pgshard:".count)), shardNames: shardNames)
        }
        return nil
    }

    /// Whether `pgshard:` occurs in the text (a byte scan: most statements carry no hint).
    private static func mentionsPgshard(_ sql: String) -> Bool {
        let pattern: [UInt8] = Array("pgshard:".utf8)
        var matched = 0
        for byte in sql.utf8 {
            if byte == pattern[matched] {
                matched += 1
                if matched == pattern.count { return true }
            } else {
                matched = byte == pattern[0] ? 1 : 0
            }
        }
        return false
    }

    /// `shard=NAME` or `key=VALUE`.
    static func parse(_ assignment: String, shardNames: [String]) -> Result<RoutingHint, RoutingError> {
        let text = assignment.trimmingWhitespace
        guard let equals = text.firstIndex(of: "=") else { return .failure(.badHint(text)) }
        let name = text[..<equals].trimmingWhitespace.lowercased()
        var value = text[text.index(after: equals)...].trimmingWhitespace
        if value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") {
            // A quoted value: `''` stands for one quote.
            var unquoted = ""
            var previousWasQuote = false
            for character in value.dropFirst().dropLast() {
                if character == "'", previousWasQuote {
                    previousWasQuote = false
                    continue
                }
                previousWasQuote = character == "'"
                unquoted.append(character)
            }
            value = unquoted
        }
        switch name {
        case "shard": return shard(named: value, shardNames: shardNames)
        case "key": return value.isEmpty ? .failure(.badHint(text)) : .success(.key(value))
        default: return .failure(.badHint(text))
        }
    }

    static func shard(named name: String, shardNames: [String]) -> Result<RoutingHint, RoutingError> {
        guard let index = shardNames.firstIndex(of: name) else { return .failure(.unknownHintShard(name, known: shardNames)) }
        return .success(.shard(index))
    }
}

private extension StringProtocol {
    var trimmingWhitespace: String {
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, MessageText.isWhitespace(bytes[start]) { start += 1 }
        while end > start, MessageText.isWhitespace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
