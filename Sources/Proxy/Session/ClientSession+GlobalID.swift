import PGWire
import Sharding
import SQLRouter

// Global ids: `SELECT pgshard.next_id('t')` answered by pgshard, and extended-protocol INSERTs
// whose generated keys pgshard appends to every Bind as parameters.

extension ClientSession {
    /// `SELECT pgshard.next_id('t')` in a Query message: RowDescription, one DataRow, `SELECT 1`.
    func answerNextID(column: String, completion: (Bool) -> Void) {
        let id = context.router.nextID()
        connection.output.rowDescription([Self.nextIDField(column, format: 0)])
        connection.output.dataRow([Self.nextIDValue(id, format: 0)])
        connection.output.commandComplete("SELECT 1")
        completion(true)
    }

    /// The one column of `pgshard.next_id`: a bigint named `column`.
    static func nextIDField(_ column: String, format: Int16) -> FieldDescription {
        FieldDescription(name: column, tableOID: 0, columnAttributeNumber: 0, dataTypeOID: 20, dataTypeSize: 8, typeModifier: -1,
                         format: format)
    }

    /// An id as a bigint value: decimal text, or 8 bytes big-endian (int8send).
    static func nextIDValue(_ id: GlobalID, format: Int16) -> [UInt8] {
        guard format == 1 else { return Array(id.description.utf8) }
        return (0..<8).map { UInt8(truncatingIfNeeded: id.value >> (56 - 8 * $0)) }
    }

    /// The result format of a portal's first column (Bind's none / one / each rule).
    static func firstResultFormat(_ formats: [Int16]) -> Int16 { formats.first ?? 0 }

    /// The Parse the shards get for an INSERT with generated keys: the text with `$first…` where
    /// the keys go, and the client's parameter types padded to `first - 1` then int8 per key.
    static func generatedKeyParse(_ generated: GeneratedKeyParameters, types: [UInt32]) -> (sql: String, types: [UInt32]) {
        var padded = types
        if padded.count < generated.first - 1 { padded += Array(repeating: 0, count: generated.first - 1 - padded.count) }
        return (generated.sql, padded + Array(repeating: 20, count: generated.count))
    }

    /// The client's Bind with the generated keys appended as text parameters (a single binary
    /// format code is spread over the client's parameters first).
    static func appendingKeys(_ keys: [GlobalID], to bind: Bind) -> Bind {
        var result = bind
        if !(bind.parameterFormats.isEmpty || bind.parameterFormats == [0]) {
            if bind.parameterFormats.count == 1 {
                result.parameterFormats = Array(repeating: bind.parameterFormats[0], count: bind.parameters.count)
            }
            result.parameterFormats += Array(repeating: 0, count: keys.count)
        }
        result.parameters += keys.map { Array($0.description.utf8) }
        return result
    }

    /// Describe of a statement pgshard answers itself (`pgshard.next_id`), or nil.
    func describeLocalStatement(_ statement: ClientStatement) -> Bool {
        guard case .session(.nextID(let column))? = statement.routed?.route else { return false }
        owe(.local(.parameterDescription([])))
        owe(.local(.rowDescription([Self.nextIDField(column, format: 0)])))
        return true
    }

    /// Describe and Execute of a `pgshard.next_id` portal; false for other portals.
    func answerNextIDPortal(_ portal: ClientPortal, execute: Bool) -> Bool {
        // A session portal has no links: the usual portal is told apart without copying its route.
        guard portal.links.isEmpty, case .session(.nextID(let column)) = portal.route else { return false }
        let format = Self.firstResultFormat(portal.resultFormats)
        guard execute else {
            owe(.local(.rowDescription([Self.nextIDField(column, format: format)])))
            return true
        }
        // A portal runs once: executing it again returns no row, as in PostgreSQL.
        guard portal.cursor == 0 else {
            owe(.local(.commandComplete("SELECT 0")))
            return true
        }
        portal.cursor = 1
        owe(.local(.dataRow([Self.nextIDValue(context.router.nextID(), format: format)])))
        owe(.local(.commandComplete("SELECT 1")))
        return true
    }
}
