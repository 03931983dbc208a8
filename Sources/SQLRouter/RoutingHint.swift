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
        guard sql.utf8.count >= 8, sql.contains("pgshard:") else { return nil }
        for body in CommentScanner.comments(in: Array(sql.utf8)) {
            let text = body.trimmingWhitespace
            guard text.hasPrefix("pgshard:") else { continue }
            return parse(String(text.dropFirst("pgshard:".count)), shardNames: shardNames)
        }
        return nil
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

/// Finds the comments of a SQL text the way PostgreSQL's scanner does: `--` to the end of the
/// line and nested `/* */`, never inside string constants (`'…'`, `E'…'` with backslash
/// escapes), quoted identifiers or dollar-quoted strings.
enum CommentScanner {
    static func comments(in bytes: [UInt8]) -> [Substring] {
        var result: [Substring] = []
        var index = 0
        let count = bytes.count
        func at(_ i: Int) -> UInt8 { i < count ? bytes[i] : 0 }
        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"):
                let escapes = index > 0 && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                    && (index < 2 || !isIdentifierByte(bytes[index - 2]))
                index += 1
                while index < count {
                    if escapes, bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
                    if bytes[index] == UInt8(ascii: "'") {
                        if at(index + 1) == UInt8(ascii: "'") { index += 2; continue }
                        break
                    }
                    index += 1
                }
                index += 1
            case UInt8(ascii: "\""):
                index += 1
                while index < count {
                    if bytes[index] == UInt8(ascii: "\"") {
                        if at(index + 1) == UInt8(ascii: "\"") { index += 2; continue }
                        break
                    }
                    index += 1
                }
                index += 1
            case UInt8(ascii: "$") where index == 0 || !isIdentifierByte(bytes[index - 1]):
                // $tag$ … $tag$ (tag: identifier characters, no digit first); `$1` is a parameter.
                var end = index + 1
                while end < count, isIdentifierByte(bytes[end]), bytes[end] != UInt8(ascii: "$") { end += 1 }
                guard end < count, bytes[end] == UInt8(ascii: "$"),
                      end == index + 1 || !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1])
                else { index += 1; continue }
                let tag = Array(bytes[index...end])
                var search = end + 1
                index = count
                while search + tag.count <= count {
                    if bytes[search] == UInt8(ascii: "$"), Array(bytes[search..<search + tag.count]) == tag {
                        index = search + tag.count
                        break
                    }
                    search += 1
                }
            case UInt8(ascii: "-") where at(index + 1) == UInt8(ascii: "-"):
                let start = index + 2
                index = start
                while index < count, bytes[index] != UInt8(ascii: "\n"), bytes[index] != UInt8(ascii: "\r") { index += 1 }
                result.append(Substring(String(decoding: bytes[start..<index], as: UTF8.self)))
            case UInt8(ascii: "/") where at(index + 1) == UInt8(ascii: "*"):
                let start = index + 2
                var depth = 1
                index += 2
                while index < count, depth > 0 {
                    if bytes[index] == UInt8(ascii: "/"), at(index + 1) == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "*"), at(index + 1) == UInt8(ascii: "/") {
                        depth -= 1
                        index += 2
                    } else {
                        index += 1
                    }
                }
                let end = depth == 0 ? index - 2 : count
                result.append(Substring(String(decoding: bytes[start..<max(start, end)], as: UTF8.self)))
            default:
                index += 1
            }
        }
        return result
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "$"), 0x80...0xFF:
            true
        default:
            false
        }
    }
}
