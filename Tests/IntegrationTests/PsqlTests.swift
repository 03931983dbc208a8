import Foundation
import XCTest

/// psql, unchanged, through pgshard.
final class PsqlTests: XCTestCase {
    private func psql(_ port: Int, _ arguments: [String], input: String? = nil) throws -> (status: Int32, out: String, err: String) {
        try psql(["-h", "127.0.0.1", "-p", String(port), "-U", "app", "-d", TestCluster.database] + arguments, input: input)
    }

    /// psql with `arguments` after the common ones (`-X`, stop on the first error).
    private func psql(_ arguments: [String], input: String? = nil) throws -> (status: Int32, out: String, err: String) {
        try Psql.run(arguments, input: input)
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

    /// COPY … TO STDOUT reads every shard (or the one the key fixes); the data is what one
    /// server would write, in some order; a CSV header comes once.
    func testCopyToStdoutAcrossShards() throws {
        let cluster = try TestCluster.shared()
        try DifferentialData.loadOnce(into: cluster)
        let port = cluster.proxy.port
        let reference = cluster.reference.conninfo(database: TestCluster.database)
        func lines(_ run: (status: Int32, out: String, err: String)) -> [Substring] {
            XCTAssertEqual(run.status, 0, run.err)
            return run.out.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        }
        for copy in ["COPY d_users TO STDOUT", "COPY (SELECT id, name, balance FROM d_users WHERE score > 900) TO STDOUT WITH (FORMAT csv)",
                     "COPY d_orders (user_id, amount) TO STDOUT"] {
            let through = lines(try psql(port, ["-q", "-c", copy]))
            let direct = lines(try psql([reference, "-q", "-c", copy]))
            XCTAssertEqual(through.count, direct.count, copy)
            XCTAssertEqual(through.sorted(), direct.sorted(), copy)
        }
        let headed = "COPY (SELECT id, city FROM d_users WHERE id < -8000) TO STDOUT WITH (FORMAT csv, HEADER)"
        let through = lines(try psql(port, ["-q", "-c", headed]))
        let direct = lines(try psql([reference, "-q", "-c", headed]))
        XCTAssertEqual(through.first, "id,city")
        XCTAssertEqual(through.filter { $0 == "id,city" }.count, 1, "one header line")
        XCTAssertEqual(through.dropFirst().sorted(), direct.dropFirst().sorted())
        // One shard by its key; refusals with a hint.
        let one = lines(try psql(port, ["-q", "-c", "COPY (SELECT name FROM d_users WHERE id = \(DifferentialData.userID(3))) TO STDOUT"]))
        XCTAssertEqual(one.count, 1)
        for refused in ["COPY d_users TO STDOUT WITH (FORMAT binary)", "COPY (SELECT id FROM d_users ORDER BY id LIMIT 3) TO STDOUT",
                        "COPY d_users FROM '/tmp/x'", "COPY d_users TO '/tmp/x'"] {
            let run = try psql(port, ["-c", refused])
            XCTAssertNotEqual(run.status, 0, refused)
            XCTAssertTrue(run.err.contains("HINT"), refused + ": " + run.err)
        }
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
