import Foundation
import XCTest

/// psql, unchanged, through pgshard.
final class PsqlTests: XCTestCase {
    private func psql(_ port: Int, _ arguments: [String], input: String? = nil) throws -> (status: Int32, out: String, err: String) {
        let candidates = ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("psql is not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-X", "-h", "127.0.0.1", "-p", String(port), "-U", "app", "-d", TestCluster.database,
                             "-v", "ON_ERROR_STOP=1"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = TestCluster.password
        environment["PGCONNECT_TIMEOUT"] = "10"
        process.environment = environment
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    func testDescribeCommandsAndQueries() throws {
        let port = try TestCluster.shared().proxy.port
        let tables = try psql(port, ["-c", "\\dt"])
        XCTAssertEqual(tables.status, 0, tables.err)
        for name in ["users", "orders", "countries", "accounts"] {
            XCTAssertTrue(tables.out.contains(name), tables.out)
        }
        let describe = try psql(port, ["-c", "\\d users"])
        XCTAssertEqual(describe.status, 0, describe.err)
        XCTAssertTrue(describe.out.contains("users_pkey"), describe.out)
        let plus = try psql(port, ["-c", "\\dt+"])
        XCTAssertEqual(plus.status, 0, plus.err)
    }

    func testScriptWithInsertsLookupsAndARefusal() throws {
        let port = try TestCluster.shared().proxy.port
        let script = (4001...4050).map { "INSERT INTO users (id, name) VALUES (\($0), 'psql \($0)');" }.joined(separator: "\n")
            + "\nSELECT name FROM users WHERE id = 4042;\n"
        let run = try psql(port, ["-A", "-t"], input: script)
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains("psql 4042"), run.out)
        let refused = try psql(port, ["-c", "SELECT string_agg(name, ',') FROM users"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.err.contains("HINT"), refused.err)
    }
}
