import Backend
import PGWire
import SQLRouter

extension ClientSession {
    /// A shard's error as the client gets it: every field kept, the position shifted to the
    /// statement's place in the client's message (nil: the shard ran a rewritten text, so its
    /// position means nothing to the client and is left out).
    func clientError(from diagnostics: Diagnostics, positionOffset: Int?) -> ErrorFields {
        let fields: [(code: UInt8, value: String)] = diagnostics.fields.compactMap { field in
            guard field.code == UInt8(ascii: "P") else { return (field.code, field.value) }
            guard let positionOffset else { return nil }
            if positionOffset > 0, let position = Int(field.value) {
                return (field.code, String(position + positionOffset))
            }
            return (field.code, field.value)
        }
        return ErrorFields(fields: fields)
    }

    /// A router refusal or parse error as an ErrorResponse.
    func clientError(_ error: RoutingError) -> ErrorFields {
        .error(SQLState(rawValue: error.sqlState), error.message, hint: error.hint, position: error.position)
    }

    /// A shard that could not be reached or went away: 08001 / 08006 naming the shard.
    func shardFailure(_ error: BackendError, link: ShardLink) -> ErrorFields {
        if link.inTransaction {
            transaction?.failed = true
            transaction?.lostShard = true
        }
        switch error.kind {
        case .connectFailed, .connectTimeout:
            return .error(.sqlclientUnableToEstablishSQLConnection,
                          "could not connect to shard \"\(link.name)\": \(error.message)",
                          hint: "check that the shard's server is running and that its conninfo in the pgshard configuration is right")
        case .connectionLost:
            return .error(.connectionFailure, "connection to shard \"\(link.name)\" was lost: \(error.message)")
        case .poolTimeout:
            return .error(.tooManyConnections, error.message,
                          hint: "raise pool.size or pool.query_wait_timeout, or keep transactions shorter")
        case .misuse:
            return .error(.internalError, "shard \"\(link.name)\": \(error.message)")
        }
    }
}
