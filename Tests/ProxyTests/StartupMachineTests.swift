import PGWire
@testable import Proxy
import XCTest

final class StartupMachineTests: XCTestCase {
    private func startup(_ user: String?, database: String? = nil) -> StartupMessage {
        var parameters: [(name: String, value: String)] = []
        if let user { parameters.append(("user", user)) }
        if let database { parameters.append(("database", database)) }
        return StartupMessage(protocolMajor: 3, protocolMinor: 0, parameters: parameters)
    }

    private let users = [ProxyConfig.User(name: "app", password: "pw")]

    func testSSLThenStartupThenPassword() {
        var machine = StartupMachine(auth: .password, users: users, database: nil)
        XCTAssertEqual(machine.received(.sslRequest), .refuseEncryption)
        XCTAssertEqual(machine.received(.gssEncRequest), .refuseEncryption)
        XCTAssertEqual(machine.received(.startup(startup("app"))), .requestPassword)
        XCTAssertEqual(machine.received(.password(Array("pw".utf8) + [0])), .authenticated(startup("app")))
        XCTAssertEqual(machine.state, .finished)
    }

    func testWrongPasswordAndUnknownUserReadTheSame() {
        var wrong = StartupMachine(auth: .password, users: users, database: nil)
        _ = wrong.received(.startup(startup("app")))
        guard case .reject(let e1) = wrong.received(.password(Array("nope".utf8) + [0])) else { return XCTFail() }
        var unknown = StartupMachine(auth: .password, users: users, database: nil)
        _ = unknown.received(.startup(startup("eve")))
        guard case .reject(let e2) = unknown.received(.password(Array("pw".utf8) + [0])) else { return XCTFail() }
        XCTAssertEqual(e1.sqlState, "28P01")
        XCTAssertEqual(e2.sqlState, "28P01")
        XCTAssertEqual(e1.message, "password authentication failed for user \"app\"")
    }

    func testTrustDatabaseAndProtocolChecks() {
        var trust = StartupMachine(auth: .trust, users: [], database: "app")
        XCTAssertEqual(trust.received(.startup(startup("anyone", database: "app"))), .authenticated(startup("anyone", database: "app")))
        var wrongDatabase = StartupMachine(auth: .trust, users: [], database: "app")
        guard case .reject(let e) = wrongDatabase.received(.startup(startup("x", database: "other"))) else { return XCTFail() }
        XCTAssertEqual(e.sqlState, "3D000")
        var noUser = StartupMachine(auth: .trust, users: [], database: nil)
        guard case .reject(let e2) = noUser.received(.startup(startup(nil))) else { return XCTFail() }
        XCTAssertEqual(e2.sqlState, "28000")
        var early = StartupMachine(auth: .trust, users: [], database: nil)
        guard case .reject(let e3) = early.received(.query("SELECT 1")) else { return XCTFail() }
        XCTAssertEqual(e3.sqlState, "08P01")
        var cancel = StartupMachine(auth: .password, users: users, database: nil)
        XCTAssertEqual(cancel.received(.cancelRequest(CancelRequest(processID: 7, secretKey: 9))),
                       .cancel(CancelRequest(processID: 7, secretKey: 9)))
    }
}
