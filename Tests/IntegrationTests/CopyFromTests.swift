import Backend
import Foundation
import LocalCluster
import PGWire
import XCTest

/// `COPY … FROM STDIN` through pgshard with psql and raw protocol messages: every row on the
/// shard its key places it on, the data the same as the reference server loads from the same
/// input, all or nothing across shards.
final class CopyFromTests: XCTestCase {
    private static let table = "CREATE TABLE IF NOT EXISTS copy_rows (id bigint PRIMARY KEY, name text, n int, at timestamptz)"

    private func cluster() throws -> TestCluster {
        let cluster = try TestCluster.shared()
        try cluster.proxyConnection().query(Self.table + "; CREATE TABLE IF NOT EXISTS copy_ref (code text PRIMARY KEY, name text)"
                                            + "; CREATE TABLE IF NOT EXISTS copy_pinned (id bigint, note text)")
        try cluster.referenceConnection().query(Self.table)
        return cluster
    }

    /// Empties the tables on every shard and on the reference server.
    private func empty(_ cluster: TestCluster) throws {
        let proxy = try cluster.proxyConnection()
        for table in ["copy_rows", "copy_ref", "copy_pinned"] { try proxy.query("TRUNCATE \(table)") }
        try cluster.referenceConnection().query("TRUNCATE copy_rows")
    }

    private func psql(_ cluster: TestCluster, _ arguments: [String], input: String = "") throws -> (status: Int32, out: String, err: String) {
        try Psql.run(["-h", "127.0.0.1", "-p", String(cluster.proxy.port), "-U", "app", "-d", TestCluster.database] + arguments, input: input)
    }

    private func reference(_ cluster: TestCluster, _ arguments: [String], input: String = "") throws -> (status: Int32, out: String, err: String) {
        try Psql.run([cluster.reference.conninfo(database: TestCluster.database)] + arguments, input: input)
    }

    /// The table's rows through pgshard and on the reference server, in id order.
    private func assertSameRows(_ cluster: TestCluster, file: StaticString = #filePath, line: UInt = #line) throws {
        let query = "SELECT id, name, n, at FROM copy_rows ORDER BY id"
        let through = try cluster.proxyConnection().query(query)
        let direct = try cluster.referenceConnection().query(query)
        XCTAssertEqual(through, direct, file: file, line: line)
        XCTAssertFalse(direct.isEmpty, file: file, line: line)
    }

    /// Every id on the shard the hash places it on.
    private func assertPlacement(_ cluster: TestCluster, count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let placement = try cluster.placement(table: "copy_rows", column: "id", file: file, line: line)
        XCTAssertEqual(placement.count, count, file: file, line: line)
        for (id, shard) in placement {
            XCTAssertEqual(shard, HashPlacement.shard(of: Int(id)!, shardCount: 4), "id \(id)", file: file, line: line)
        }
    }

    /// Nothing of the failed COPY on any shard.
    private func assertEmpty(_ cluster: TestCluster, file: StaticString = #filePath, line: UInt = #line) throws {
        for shard in 0..<4 {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT count(*) FROM copy_rows"), [["0"]], "shard \(shard)", file: file, line: line)
        }
    }

    func testTextRowsLandOnTheirShards() throws {
        let cluster = try cluster()
        try empty(cluster)
        var data = ""
        for id in 1...2000 { data += "\(id)\tname \(id)\\twith tab\t\(id % 7)\t2024-03-0\(id % 9 + 1) 10:00:00+00\n" }
        data += "-5\t\\N\t\\N\t\\N\n"
        let copy = "COPY copy_rows (id, name, n, at) FROM STDIN"
        let run = try psql(cluster, ["-c", copy], input: data + "\\.\n")
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertEqual(run.out.trimmingCharacters(in: .whitespacesAndNewlines), "COPY 2001")
        let direct = try reference(cluster, ["-c", copy], input: data + "\\.\n")
        XCTAssertEqual(direct.status, 0, direct.err)
        try assertPlacement(cluster, count: 2001)
        try assertSameRows(cluster)
    }

    func testCSVHeaderQuotesDelimiterAndNullString() throws {
        let cluster = try cluster()
        try empty(cluster)
        let data = #"""
            id;name;n;at
            1;"semi;colon";NULL;2024-01-01 00:00:00+00
            2;"two
            lines";2;NULL
            3;"say ""hi""";3;2024-01-03 00:00:00+00
            4;;4;2024-01-04 00:00:00+00
            5;"NULL";5;2024-01-05 00:00:00+00

            """#
        let copy = "COPY copy_rows FROM STDIN WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL')"
        let run = try psql(cluster, ["-c", copy], input: data)
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains("COPY 5"), run.out)
        XCTAssertEqual(try reference(cluster, ["-c", copy], input: data).status, 0)
        try assertPlacement(cluster, count: 5)
        try assertSameRows(cluster)
        // psql's \copy from a file, in the old syntax.
        try empty(cluster)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("copy-\(UUID().uuidString).csv")
        try Data("10,\"a,b\",1,\n11,c,2,\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try psql(cluster, ["-c", "\\copy copy_rows FROM '\(file.path)' WITH CSV"])
        XCTAssertEqual(fromFile.status, 0, fromFile.err)
        try assertPlacement(cluster, count: 2)
    }

    /// Binary data as PostgreSQL writes it (COPY TO STDOUT on the reference server), fed back
    /// through pgshard.
    func testBinaryFromPostgreSQLsOwnOutput() throws {
        let cluster = try cluster()
        try empty(cluster)
        let rows = "INSERT INTO copy_rows SELECT s, 'n' || s, s % 5, timestamptz '2024-01-01' + s * interval '1 hour' FROM generate_series(1, 500) s"
        try cluster.referenceConnection().query(rows + "; INSERT INTO copy_rows VALUES (-1, NULL, NULL, NULL)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("copy-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: file) }
        let out = try reference(cluster, ["-c", "\\copy copy_rows TO '\(file.path)' WITH (FORMAT binary)"])
        XCTAssertEqual(out.status, 0, out.err)
        let run = try psql(cluster, ["-c", "\\copy copy_rows FROM '\(file.path)' WITH (FORMAT binary)"])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains("COPY 501"), run.out)
        try assertPlacement(cluster, count: 501)
        try assertSameRows(cluster)
    }

    func testReferenceAndPinnedTables() throws {
        let cluster = try cluster()
        try empty(cluster)
        let run = try psql(cluster, ["-c", "COPY copy_ref FROM STDIN", "-c", "COPY copy_pinned FROM STDIN WITH (FORMAT csv)"],
                           input: "de\tGermany\nfr\tFrance\n\\.\n1,one\n2,two\n3,three\n\\.\n")
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertTrue(run.out.contains("COPY 2"), "a reference table's rows are counted once: \(run.out)")
        XCTAssertTrue(run.out.contains("COPY 3"), run.out)
        for shard in 0..<4 {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT code FROM copy_ref ORDER BY code"), [["de"], ["fr"]])
        }
        // A pinned table lives on its shard only.
        XCTAssertEqual(try cluster.shardConnection(1).query("SELECT count(*) FROM copy_pinned"), [["3"]])
    }

    func testInsideATransaction() throws {
        let cluster = try cluster()
        try empty(cluster)
        let rolledBack = try psql(cluster, [], input: "BEGIN;\nCOPY copy_rows (id) FROM STDIN;\n1\n2\n3\n\\.\nROLLBACK;\n")
        XCTAssertEqual(rolledBack.status, 0, rolledBack.err)
        try assertEmpty(cluster)
        let committed = try psql(cluster, [], input: "BEGIN;\nINSERT INTO copy_rows (id) VALUES (100);\nCOPY copy_rows (id) FROM STDIN;\n1\n2\n3\n\\.\nCOMMIT;\n")
        XCTAssertEqual(committed.status, 0, committed.err)
        try assertPlacement(cluster, count: 4)
        // An error fails the client's transaction; nothing of it stays.
        try empty(cluster)
        let failed = try Psql.run(["-h", "127.0.0.1", "-p", String(cluster.proxy.port), "-U", "app", "-d", TestCluster.database, "-v", "ON_ERROR_STOP=0"],
                                  input: "BEGIN;\nINSERT INTO copy_rows (id) VALUES (100);\nCOPY copy_rows (id) FROM STDIN;\n1\nx\n\\.\nSELECT 1;\nCOMMIT;\n")
        XCTAssertTrue(failed.err.contains("current transaction is aborted"), failed.err)
        XCTAssertTrue(failed.out.contains("ROLLBACK"), failed.out)
        try assertEmpty(cluster)
    }

    /// Bad rows fail the whole COPY with the client's line number, and no shard keeps a row.
    func testBadRowsLeaveNothingAnywhere() throws {
        let cluster = try cluster()
        let good = (1...300).map { "\($0)\tok\t1\t2024-01-01 00:00:00+00\n" }.joined()
        let cases: [(data: String, sqlState: String, message: String, context: String)] = [
            (good + "301\tshort\n", "22P04", "missing data for column \"n\"", "COPY copy_rows, line 301: \"301\tshort\""),
            (good + "301\ta\t1\t\\N\textra\n", "22P04", "extra data after last expected column", "line 301"),
            (good + "\\N\tnull key\t1\t\\N\n", "23502", "null value in column \"id\" of relation \"copy_rows\" violates not-null constraint", "line 301"),
            (good + "3O1\tletter O\t1\t\\N\n", "22P02", "invalid input syntax for type bigint: \"3O1\"", "COPY copy_rows, line 301, column id: \"3O1\""),
            (good + "301\tbad \u{FFFD}\t1\t\\N\n", "22021", "invalid byte sequence for encoding \"UTF8\": 0xff", "COPY copy_rows, line 301"),
            (good + "1\tduplicate\t1\t\\N\n", "23505", "duplicate key value violates unique constraint", "on shard \"s\(HashPlacement.shard(of: 1, shardCount: 4))\""),
            (good + "301\tbad n\tx\t\\N\n", "22P02", "invalid input syntax for type integer: \"x\"", "COPY copy_rows, line"),
        ]
        for (data, sqlState, message, context) in cases {
            try empty(cluster)
            // U+FFFD stands for a byte that is not UTF-8.
            var bytes = Array(data.utf8)
            if let mark = data.utf8.firstRange(of: "\u{FFFD}".utf8) {
                bytes.replaceSubrange(mark.lowerBound.utf16Offset(in: data)..<(mark.lowerBound.utf16Offset(in: data) + 3), with: [0xFF])
            }
            let connection = try cluster.proxyConnection()
            XCTAssertThrowsError(try connection.copyIn("COPY copy_rows FROM STDIN", data: bytes)) { error in
                guard let error = error as? BlockingQueryError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.sqlState, sqlState, "\(error)")
                XCTAssertTrue(error.message.contains(message), "\(error)")
                XCTAssertTrue(error.context?.contains(context) == true, "\(message): \(error.context ?? "no context")")
            }
            try assertEmpty(cluster)
            XCTAssertEqual(try connection.query("SELECT 1"), [["1"]], "the session goes on")
        }
    }

    /// CopyFail from the client, a message that does not belong in COPY, and a client that
    /// disconnects in the middle: nothing stays, the session (or the next one) goes on.
    func testClientAbortsLeaveNothing() throws {
        let cluster = try cluster()
        try empty(cluster)
        let rows = RawClient.message("d", Array((1...500).map { "\($0)\tx\t1\t\\N\n" }.joined().utf8))
        for ending in [RawClient.message("f", RawClient.cString("client gave up")), RawClient.message("Q", RawClient.cString("SELECT 1"))] {
            let client = try RawClient(port: cluster.proxy.port)
            client.login()
            client.send(RawClient.message("Q", RawClient.cString("COPY copy_rows FROM STDIN")))
            XCTAssertEqual(client.readMessage()?.type, "G")
            client.send(rows + RawClient.message("H", []) + ending)
            let answer = client.readUntilReady()
            let error = answer.first { $0.type == "E" }.map { RawClient.fields($0.body) }
            XCTAssertEqual(error?["C"], ending[0] == UInt8(ascii: "f") ? "57014" : "08P01", "\(answer)")
            XCTAssertEqual(answer.last?.type, "Z")
            try assertEmpty(cluster)
            // Data the client still sends after the error is ignored, as PostgreSQL does.
            client.send(rows + RawClient.message("c", []) + RawClient.message("Q", RawClient.cString("SELECT 42")))
            XCTAssertTrue(client.readUntilReady().contains { $0.type == "D" }, "the session goes on")
            try assertEmpty(cluster)
        }
        do {
            let client = try RawClient(port: cluster.proxy.port)
            client.login()
            client.send(RawClient.message("Q", RawClient.cString("COPY copy_rows FROM STDIN")))
            XCTAssertEqual(client.readMessage()?.type, "G")
            client.send(rows)
        }
        // The shards roll back when their connections close.
        let deadline = Date().addingTimeInterval(10)
        var locked = true
        while locked, Date() < deadline {
            locked = try (0..<4).contains { shard in
                try cluster.shardConnection(shard).query("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'copy_rows'") != [["0"]]
            }
            if locked { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertFalse(locked, "a shard still holds the abandoned COPY")
        try assertEmpty(cluster)
    }

    /// `pgbench -i` (drop, create, truncate, inserts and COPY in one transaction, vacuum,
    /// primary keys) through pgshard, then a short select-only run.
    func testPgbenchInitializeAndSelect() throws {
        let cluster = try cluster()
        let pgbench = try PostgresBinaries.locate().directory + "/pgbench"
        func run(_ arguments: [String]) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: pgbench)
            process.arguments = arguments + ["-h", "127.0.0.1", "-p", String(cluster.proxy.port), "-U", "app", TestCluster.database]
            process.environment = ["PGPASSWORD": TestCluster.password, "PATH": "/usr/bin:/bin"]
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("pgbench-\(UUID().uuidString)")
            FileManager.default.createFile(atPath: output.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: output) }
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = process.standardOutput
            try process.run()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
        }
        let initialize = try run(["-i", "-s", "1"])
        XCTAssertEqual(initialize.0, 0, initialize.1)
        let proxy = try cluster.proxyConnection()
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM pgbench_accounts"), [["100000"]])
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM pgbench_tellers"), [["10"]])
        XCTAssertEqual(try proxy.query("SELECT count(*) FROM pgbench_branches"), [["1"]])
        let accounts = try cluster.placement(table: "pgbench_accounts", column: "aid")
        XCTAssertEqual(accounts.count, 100_000)
        XCTAssertTrue(accounts.allSatisfy { $0.value == HashPlacement.shard(of: Int($0.key)!, shardCount: 4) })
        let select = try run(["-S", "-n", "-t", "50"])
        XCTAssertEqual(select.0, 0, select.1)
        XCTAssertTrue(select.1.contains("number of transactions actually processed: 50/50"), select.1)
    }
}
