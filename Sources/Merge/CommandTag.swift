/// A command tag as PostgreSQL writes it in CommandComplete: a verb, for INSERT an OID, and a
/// row count for the verbs that have one (`SELECT 3`, `INSERT 0 5`, `UPDATE 7`, `CREATE TABLE`).
public struct CommandTag: Equatable, Sendable, CustomStringConvertible {
    /// `SELECT`, `INSERT`, `UPDATE`, `CREATE TABLE`, ...
    public var verb: String
    /// The row count, for verbs that carry one.
    public var rows: Int?

    private static let countingVerbs: Set<String> = ["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "FETCH", "MOVE", "COPY"]

    public init(verb: String, rows: Int?) {
        self.verb = verb
        self.rows = rows
    }

    /// Parses a tag; tags without a count keep the whole text as their verb.
    public init(_ text: String) {
        let parts = text.split(separator: " ")
        if let last = parts.last, let count = Int(last), parts.count >= 2 {
            let verb = String(parts[0])
            if Self.countingVerbs.contains(verb) {
                self.verb = verb
                self.rows = count
                return
            }
        }
        self.verb = text
        self.rows = nil
    }

    public var description: String {
        guard let rows else { return verb }
        // INSERT keeps the OID field, always 0 since PostgreSQL 12.
        return verb == "INSERT" ? "INSERT 0 \(rows)" : "\(verb) \(rows)"
    }

    /// The tag of one statement that ran on several shards: counts add up (`UPDATE 7` = 3 + 4).
    /// `nil` when the shards disagree on the verb, which a correct route never produces.
    public static func sum(_ tags: [CommandTag]) -> CommandTag? {
        guard let first = tags.first else { return nil }
        var total = first
        for tag in tags.dropFirst() {
            guard tag.verb == total.verb else { return nil }
            if let rows = tag.rows { total.rows = (total.rows ?? 0) + rows }
        }
        return total
    }
}
