import PGWire
@testable import Proxy

/// Startup messages, settings and `p` bodies for the startup machine's tests.
enum StartupFixtures {
    static func startup(_ user: String?, database: String? = nil) -> StartupMessage {
        var parameters: [(name: String, value: String)] = []
        if let user { parameters.append(("user", user)) }
        if let database { parameters.append(("database", database)) }
        return StartupMessage(protocolMajor: 3, protocolMinor: 0, parameters: parameters)
    }

    /// Settings for `method` with the users given as (name, password as configured).
    static func settings(_ method: ProxyConfig.AuthMethod, _ users: [(String, String)] = [("app", "pw")],
                         database: String? = nil) throws -> AuthenticationSettings {
        var config = ProxyConfig()
        config.auth = method
        config.database = database
        config.users = try users.map { try ProxyConfig.User(name: $0.0, password: $0.1, method: method) }
        return AuthenticationSettings(config: config)
    }

    static func passwordMessage(_ password: String) -> FrontendMessage {
        .password(Array(password.utf8) + [0])
    }

    static func saslInitialResponse(_ data: [UInt8]?, mechanism: String = "SCRAM-SHA-256") -> FrontendMessage {
        var body = Array(mechanism.utf8) + [0]
        let length = Int32(data?.count ?? -1)
        body += withUnsafeBytes(of: length.bigEndian) { Array($0) }
        body += data ?? []
        return .password(body)
    }

    static func passwordFailed(_ user: String) -> StartupMachine.Action {
        .rejectAfterDelay(.error(.invalidPassword, "password authentication failed for user \"\(user)\"", severity: "FATAL"))
    }
}
