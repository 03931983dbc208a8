import Backend
import Foundation
import LocalCluster
import Proxy
import XCTest

/// COPY in the extended query protocol, at message level: Parse, Describe, Bind, Execute and
/// Sync (postgres-nio's `copyFrom`, libpq's PQexecParams), then the client's CopyData, CopyDone
/// or CopyFail and its second Sync. Rows land on the shards their keys place them on, the batch
/// around the COPY stays one implicit transaction, errors skip to Sync, and the session goes on,
/// under transaction and session pooling.
final class ExtendedCopyTests: XCTestCase {
    private var cluster: TestCluster!
    private var sessionPooled: ProxyServer?
    private typealias Message = (type: Character, body: [UInt8])

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
        try cluster.proxyConnection().query(
            "CREATE TABLE IF NOT EXISTS copy_rows (id bigint PRIMARY KEY, name text, n int, at timestamptz)"
                + "; CREATE TABLE IF NOT EXISTS copy_ref (code text PRIMARY KEY, name text)"
                + "; CREATE TABLE IF NOT EXISTS copy_pinned (id bigint, note text)")
        try cluster.referenceConnection().query("CREATE TABLE IF NOT EXISTS copy_rows (id bigint PRIMARY KEY, name text, n int, at timestamptz)")
        try empty()
    }

    override func tearDown() {
        sessionPooled?.stop()
        sessionPooled = nil
    }

    /// The shared proxy (transaction pooling) and one with session pooling.
    private func ports() throws -> [Int] {
        if sessionPooled == nil { sessionPooled = try cluster.startProxy(extra: "pool: { mode: session }") }
        return [cluster.proxy.port, sessionPooled!.port]
    }

    private func client(_ port: Int) throws -> RawClient {
        let client = try RawClient(port: port)
        client.login()
        return client
    }

    private func empty() throws {
        let proxy = try cluster.proxyConnection()
        for table in ["copy_rows", "copy_ref", "copy_pinned"] { try proxy.query("TRUNCATE \(table)") }
        try cluster.referenceConnection().query("TRUNCATE copy_rows")
    }

    private func rows(_ ids: ClosedRange<Int>) -> String {
        ids.map { "\($0)\tname \($0)\\twith tab\t\($0 % 7)\t2024-03-0\($0 % 9 + 1) 10:00:00+00\n" }.joined()
    }

    /// postgres-nio's `copyFrom`: Parse, Describe(statement), Bind, Execute, Sync in one write.
    private func startCopy(_ client: RawClient, _ sql: String, file: StaticString = #filePath, line: UInt = #line) -> [Message] {
        client.send(RawClient.parse("", sql) + RawClient.describe(statement: "") + RawClient.bind("", "") + RawClient.execute("") + RawClient.sync)
        return client.readUntil("G")
    }

    private func types(_ messages: [Message]) -> [Character] { messages.map(\.type) }

    private func error(_ messages: [Message]) -> [Character: String]? {
        messages.first { $0.type == "E" }.map { RawClient.fields($0.body) }
    }

    private func tag(_ messages: [Message]) -> String? {
        messages.first { $0.type == "C" }.map { RawClient.tag($0.body) }
    }

    /// Every id on the shard the hash places it on.
    private func assertPlacement(count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let placement = try cluster.placement(table: "copy_rows", column: "id", file: file, line: line)
        XCTAssertEqual(placement.count, count, file: file, line: line)
        for (id, shard) in placement {
            XCTAssertEqual(shard, HashPlacement.shard(of: Int(id)!, shardCount: 4), "id \(id)", file: file, line: line)
        }
    }

    private func assertEmpty(file: StaticString = #filePath, line: UInt = #line) throws {
        for shard in 0..<4 {
            XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT count(*) FROM copy_rows"), [["0"]], "shard \(shard)", file: file, line: line)
        }
    }

    /// No shard connection is left inside a transaction once the client got ReadyForQuery idle.
    private func assertNoOpenTransaction(file: StaticString = #filePath, line: UInt = #line) throws {
        for shard in 0..<4 {
            let open = try cluster.shardConnection(shard).query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND state LIKE 'idle in transaction%'")
            XCTAssertEqual(open, [["0"]], "shard \(shard)", file: file, line: line)
        }
    }

    /// The session answers both protocols after the COPY.
    private func assertSessionGoesOn(_ client: RawClient, file: StaticString = #filePath, line: UInt = #line) {
        client.send(RawClient.parse("", "SELECT 42") + RawClient.bind("", "") + RawClient.execute("") + RawClient.sync)
        XCTAssertEqual(types(client.readUntilReady()), ["1", "2", "D", "C", "Z"], file: file, line: line)
        client.send(RawClient.query("SELECT 43"))
        XCTAssertEqual(types(client.readUntilReady()), ["T", "D", "C", "Z"], file: file, line: line)
    }

    // MARK: - COPY FROM STDIN

    func testTextRowsLandOnTheirShardsAsPostgresNIOSendsThem() throws {
        let data = rows(1...1500) + "-5\t\\N\t\\N\t\\N\n"
        let copy = "COPY copy_rows (id, name, n, at) FROM STDIN"
        for port in try ports() {
            try empty()
            let client = try client(port)
            let start = startCopy(client, copy)
            // PostgreSQL's answers: no parameters, no rows, then CopyInResponse (text, 4 columns).
            XCTAssertEqual(types(start), ["1", "t", "n", "2", "G"])
            XCTAssertEqual(start.last?.body, [0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0])
            // The data in pieces that cut rows in two, then CopyDone and the second Sync.
            let bytes = Array(data.utf8)
            var batch: [UInt8] = []
            for offset in stride(from: 0, to: bytes.count, by: 7000) {
                batch += RawClient.copyData(Array(bytes[offset..<min(offset + 7000, bytes.count)]))
            }
            client.send(batch + RawClient.copyDone + RawClient.sync)
            let end = client.readUntilReady()
            XCTAssertEqual(types(end), ["C", "Z"], "\(end)")
            XCTAssertEqual(tag(end), "COPY 1501")
            XCTAssertEqual(end.last?.body, [UInt8(ascii: "I")])
            try assertPlacement(count: 1501)
            try assertNoOpenTransaction()
            assertSessionGoesOn(client)
        }
        // The same data loaded by PostgreSQL itself.
        let direct = try Psql.run([cluster.reference.conninfo(database: TestCluster.database), "-c", copy], input: data + "\\.\n")
        XCTAssertEqual(direct.status, 0, direct.err)
        let query = "SELECT id, name, n, at FROM copy_rows ORDER BY id"
        XCTAssertEqual(try cluster.proxyConnection().query(query), try cluster.referenceConnection().query(query))
    }

    func testCSVHeaderAndBinaryFormats() throws {
        let client = try client(cluster.proxy.port)
        let csv = "id;name;n;at\n1;\"semi;colon\";NULL;2024-01-01 00:00:00+00\n2;\"two\nlines\";2;NULL\n3;\"say \"\"hi\"\"\";3;NULL\n"
        XCTAssertEqual(types(startCopy(client, "COPY copy_rows FROM STDIN WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL')")).last, "G")
        client.send(RawClient.copyData(csv) + RawClient.copyDone + RawClient.sync)
        let end = client.readUntilReady()
        XCTAssertEqual(tag(end), "COPY 3", "\(end)")
        try assertPlacement(count: 3)
        XCTAssertEqual(try cluster.proxyConnection().query("SELECT name FROM copy_rows WHERE id = 2"), [["two\nlines"]])

        // Binary data as PostgreSQL writes it.
        try empty()
        try cluster.referenceConnection().query(
            "INSERT INTO copy_rows SELECT s, 'n' || s, s % 5, timestamptz '2024-01-01' + s * interval '1 hour' FROM generate_series(1, 300) s")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("xcopy-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: file) }
        let out = try Psql.run([cluster.reference.conninfo(database: TestCluster.database), "-c", "\\copy copy_rows TO '\(file.path)' WITH (FORMAT binary)"])
        XCTAssertEqual(out.status, 0, out.err)
        let binary = try [UInt8](Data(contentsOf: file))
        let start = startCopy(client, "COPY copy_rows FROM STDIN WITH (FORMAT binary)")
        XCTAssertEqual(start.last?.body.first, 1, "binary CopyInResponse")
        client.send(RawClient.copyData(Array(binary.prefix(1000))) + RawClient.copyData(Array(binary.dropFirst(1000))) + RawClient.copyDone + RawClient.sync)
        XCTAssertEqual(tag(client.readUntilReady()), "COPY 300")
        try assertPlacement(count: 300)
        let query = "SELECT id, name, n, at FROM copy_rows ORDER BY id"
        XCTAssertEqual(try cluster.proxyConnection().query(query), try cluster.referenceConnection().query(query))
    }

    func testReferenceAndPinnedTables() throws {
        for port in try ports() {
            try empty()
            let client = try client(port)
            XCTAssertEqual(types(startCopy(client, "COPY copy_ref FROM STDIN")).last, "G")
            client.send(RawClient.copyData("de\tGermany\nfr\tFrance\n") + RawClient.copyDone + RawClient.sync)
            XCTAssertEqual(tag(client.readUntilReady()), "COPY 2", "a reference table's rows are counted once")
            XCTAssertEqual(types(startCopy(client, "COPY copy_pinned FROM STDIN WITH (FORMAT csv)")).last, "G")
            client.send(RawClient.copyData("1,one\n2,two\n3,three\n") + RawClient.copyDone + RawClient.sync)
            XCTAssertEqual(tag(client.readUntilReady()), "COPY 3")
            for shard in 0..<4 {
                XCTAssertEqual(try cluster.shardConnection(shard).query("SELECT code FROM copy_ref ORDER BY code"), [["de"], ["fr"]])
            }
            // A pinned table lives on its shard only.
            XCTAssertEqual(try cluster.shardConnection(1).query("SELECT id FROM copy_pinned ORDER BY id"), [["1"], ["2"], ["3"]])
            try assertNoOpenTransaction()
            assertSessionGoesOn(client)
        }
    }

    /// libpq's flow: the data follows CopyInResponse, then CopyDone and Sync; Flush and Sync in
    /// the middle of the data are ignored, as PostgreSQL ignores them.
    func testFlushAndSyncDuringCopyAreIgnored() throws {
        let client = try client(cluster.proxy.port)
        client.send(RawClient.parse("c", "COPY copy_rows (id) FROM STDIN") + RawClient.bind("p", "c") + RawClient.describe(portal: "p")
                    + RawClient.execute("p") + RawClient.flush)
        XCTAssertEqual(types(client.readUntil("G")), ["1", "2", "n", "G"])
        client.send(RawClient.copyData("1\n2\n") + RawClient.flush + RawClient.sync + RawClient.copyData("3\n4\n") + RawClient.copyDone
                    + RawClient.describe(portal: "p") + RawClient.execute("p") + RawClient.sync)
        let end = client.readUntilReady()
        // A COPY portal runs once: executing it again is PostgreSQL's 55000.
        XCTAssertEqual(types(end), ["C", "n", "E", "Z"], "\(end)")
        XCTAssertEqual(tag(end), "COPY 4")
        XCTAssertEqual(error(end)?["C"], "55000")
        try assertEmpty()
        try assertNoOpenTransaction()
        assertSessionGoesOn(client)
    }

    /// A bad row fails the COPY with the client's line number and leaves nothing on any shard.
    /// libpq sends the data, CopyDone and Sync at once; postgres-nio stops at the error and sends
    /// only Sync (errors pgshard finds itself come before CopyDone; a shard's duplicate key may
    /// only show when its rows are flushed, at CopyDone).
    func testBadRowsLeaveNothingAnywhere() throws {
        let good = (1...300).map { "\($0)\tok\t1\t\\N\n" }.joined()
        let cases: [(data: String, sqlState: String, context: String, beforeCopyDone: Bool)] = [
            (good + "3O1\tletter O\t1\t\\N\n", "22P02", "COPY copy_rows, line 301, column id: \"3O1\"", true),
            (good + "301\tshort\n", "22P04", "COPY copy_rows, line 301: \"301\tshort\"", true),
            (good + "1\tduplicate\t1\t\\N\n", "23505", "on shard \"s\(HashPlacement.shard(of: 1, shardCount: 4))\"", false),
        ]
        for port in try ports() {
            for (data, sqlState, context, beforeCopyDone) in cases {
                for waitsForTheError in beforeCopyDone ? [false, true] : [false] {
                    let client = try client(port)
                    XCTAssertEqual(types(startCopy(client, "COPY copy_rows FROM STDIN")).last, "G")
                    let end: [Message]
                    if waitsForTheError {
                        client.send(RawClient.copyData(data))
                        let failed = client.readUntil("E")
                        XCTAssertEqual(types(failed), ["E"], "\(failed)")
                        client.send(RawClient.sync)
                        end = failed + client.readUntilReady()
                    } else {
                        client.send(RawClient.copyData(data) + RawClient.copyData("9999\tlate\t1\t\\N\n") + RawClient.copyDone + RawClient.sync)
                        end = client.readUntilReady()
                    }
                    XCTAssertEqual(types(end), ["E", "Z"], "\(end)")
                    XCTAssertEqual(error(end)?["C"], sqlState)
                    XCTAssertTrue(error(end)?["W"]?.contains(context) == true, "\(error(end) ?? [:])")
                    XCTAssertEqual(end.last?.body, [UInt8(ascii: "I")])
                    try assertEmpty()
                    try assertNoOpenTransaction()
                    assertSessionGoesOn(client)
                }
            }
        }
    }

    func testCopyFailFromTheClient() throws {
        for port in try ports() {
            let client = try client(port)
            XCTAssertEqual(types(startCopy(client, "COPY copy_rows FROM STDIN")).last, "G")
            client.send(RawClient.copyData(rows(1...400)) + RawClient.copyFail("client gave up"))
            let failed = client.readUntil("E")
            XCTAssertEqual(error(failed)?["C"], "57014")
            XCTAssertEqual(error(failed)?["M"], "COPY from stdin failed: client gave up")
            client.send(RawClient.sync)
            XCTAssertEqual(types(client.readUntilReady()), ["Z"])
            try assertEmpty()
            try assertNoOpenTransaction()
            assertSessionGoesOn(client)
        }
    }

    /// A client that disconnects in the middle of the data: its shard connections are closed,
    /// so the shards roll back and release the table.
    func testClientLeavesDuringCopy() throws {
        do {
            let client = try client(cluster.proxy.port)
            XCTAssertEqual(types(startCopy(client, "COPY copy_rows FROM STDIN")).last, "G")
            client.send(RawClient.copyData(rows(1...400)))
        }
        let deadline = Date().addingTimeInterval(10)
        var locked = true
        while locked, Date() < deadline {
            locked = try (0..<4).contains { shard in
                try cluster.shardConnection(shard).query(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'copy_rows'") != [["0"]]
            }
            if locked { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertFalse(locked, "a shard still holds the abandoned COPY")
        try assertEmpty()
    }

    /// A COPY that cannot start fails at once; the Sync after Execute ends the batch, and data
    /// the client sent anyway is ignored until its next Sync, as PostgreSQL does.
    func testCopyThatCannotStart() throws {
        let client = try client(cluster.proxy.port)
        // The key column missing from the column list: refused by pgshard before any shard.
        client.send(RawClient.parse("", "COPY copy_rows (name) FROM STDIN") + RawClient.bind("", "") + RawClient.execute("") + RawClient.sync)
        let refused = client.readUntilReady()
        XCTAssertEqual(types(refused), ["1", "E", "Z"], "\(refused)")
        XCTAssertEqual(error(refused)?["C"], "0A000")
        // A column the table lacks: the shards' error.
        client.send(RawClient.parse("", "COPY copy_rows (id, nope) FROM STDIN") + RawClient.describe(statement: "")
                    + RawClient.bind("", "") + RawClient.execute("") + RawClient.sync
                    + RawClient.copyData("1\tx\n") + RawClient.copyDone + RawClient.sync)
        let failed = client.readUntilReady()
        XCTAssertEqual(types(failed), ["1", "t", "n", "2", "E", "Z"], "\(failed)")
        XCTAssertEqual(error(failed)?["C"], "42703")
        XCTAssertEqual(types(client.readUntilReady()), ["Z"])
        // Parameters PostgreSQL's Bind would refuse.
        client.send(RawClient.parse("", "COPY copy_rows FROM STDIN") + RawClient.bind("", "", ["1"]) + RawClient.sync)
        let parameters = client.readUntilReady()
        XCTAssertEqual(error(parameters)?["C"], "08P01")
        try assertEmpty()
        try assertNoOpenTransaction()
        assertSessionGoesOn(client)
    }

    // MARK: - The batch around the COPY

    /// Outside a transaction block the batch is one implicit transaction: a later error rolls
    /// the COPY back, and the rest of the batch is skipped until Sync.
    func testLaterErrorInTheBatchRollsTheCopyBack() throws {
        for port in try ports() {
            let client = try client(port)
            client.send(RawClient.parse("", "INSERT INTO copy_pinned VALUES (99, 'before')") + RawClient.bind("", "") + RawClient.execute("")
                        + RawClient.parse("c", "COPY copy_rows (id) FROM STDIN") + RawClient.bind("", "c") + RawClient.execute("") + RawClient.sync)
            XCTAssertEqual(types(client.readUntil("G")), ["1", "2", "C", "1", "2", "G"])
            client.send(RawClient.copyData("1\n2\n3\n4\n5\n") + RawClient.copyDone
                        + RawClient.parse("", "SELECT 1/0") + RawClient.bind("", "") + RawClient.execute("")
                        + RawClient.parse("", "INSERT INTO copy_pinned VALUES (100, 'skipped')") + RawClient.bind("", "") + RawClient.execute("")
                        + RawClient.sync)
            let end = client.readUntilReady()
            // `1/0` fails when the shard plans it, at Bind.
            XCTAssertEqual(types(end), ["C", "1", "E", "Z"], "\(end)")
            XCTAssertEqual(tag(end), "COPY 5")
            XCTAssertEqual(error(end)?["C"], "22012")
            try assertEmpty()
            XCTAssertEqual(try cluster.shardConnection(1).query("SELECT count(*) FROM copy_pinned"), [["0"]])
            try assertNoOpenTransaction()
            assertSessionGoesOn(client)
            client.send(RawClient.query("SELECT 1"))
            XCTAssertEqual(client.readUntilReady().last?.body, [UInt8(ascii: "I")])
        }
    }

    /// Writes before and after the COPY, on other shards, commit with it at Sync; two COPYs in
    /// one batch.
    func testBatchCommitsTogetherAtSync() throws {
        for port in try ports() {
            try empty()
            let client = try client(port)
            client.send(RawClient.parse("ins", "INSERT INTO copy_pinned VALUES ($1, 'batch')") + RawClient.bind("", "ins", ["1"]) + RawClient.execute("")
                        + RawClient.parse("c", "COPY copy_rows (id, name) FROM STDIN") + RawClient.bind("", "c") + RawClient.execute("") + RawClient.sync)
            XCTAssertEqual(types(client.readUntil("G")), ["1", "2", "C", "1", "2", "G"])
            client.send(RawClient.copyData((1...40).map { "\($0)\tfirst\n" }.joined())
                        + RawClient.copyDone + RawClient.bind("", "c") + RawClient.execute("") + RawClient.sync)
            let first = client.readUntil("G")
            XCTAssertEqual(types(first), ["C", "2", "G"], "\(first)")
            client.send(RawClient.copyData("41\tsecond\n42\tsecond\n") + RawClient.copyDone
                        + RawClient.bind("", "ins", ["2"]) + RawClient.execute("") + RawClient.sync)
            let end = client.readUntilReady()
            XCTAssertEqual(types(end), ["C", "2", "C", "Z"], "\(end)")
            XCTAssertEqual(end.last?.body, [UInt8(ascii: "I")])
            try assertPlacement(count: 42)
            XCTAssertEqual(try cluster.shardConnection(1).query("SELECT id FROM copy_pinned ORDER BY id"), [["1"], ["2"]])
            try assertNoOpenTransaction()
            assertSessionGoesOn(client)
        }
    }

    /// In a transaction block the COPY joins the client's transaction: ROLLBACK undoes it,
    /// COMMIT keeps it, an error fails the transaction.
    func testInsideATransactionBlock() throws {
        for port in try ports() {
            try empty()
            let client = try client(port)
            for ending in ["ROLLBACK", "COMMIT"] {
                client.send(RawClient.query("BEGIN"))
                XCTAssertEqual(client.readUntilReady().last?.body, [UInt8(ascii: "T")])
                XCTAssertEqual(types(startCopy(client, "COPY copy_rows (id) FROM STDIN")).last, "G")
                client.send(RawClient.copyData("1\n2\n3\n4\n5\n6\n") + RawClient.copyDone + RawClient.sync)
                let copied = client.readUntilReady()
                XCTAssertEqual(tag(copied), "COPY 6")
                XCTAssertEqual(copied.last?.body, [UInt8(ascii: "T")])
                client.send(RawClient.query(ending))
                XCTAssertEqual(client.readUntilReady().last?.body, [UInt8(ascii: "I")])
                if ending == "ROLLBACK" { try assertEmpty() } else { try assertPlacement(count: 6) }
            }
            client.send(RawClient.query("BEGIN"))
            _ = client.readUntilReady()
            XCTAssertEqual(types(startCopy(client, "COPY copy_rows (id) FROM STDIN")).last, "G")
            client.send(RawClient.copyData("100\n1\n") + RawClient.copyDone + RawClient.sync)
            let failed = client.readUntilReady()
            XCTAssertEqual(error(failed)?["C"], "23505")
            XCTAssertEqual(failed.last?.body, [UInt8(ascii: "E")])
            client.send(RawClient.query("COMMIT"))
            let commit = client.readUntilReady()
            XCTAssertEqual(tag(commit), "ROLLBACK")
            try assertPlacement(count: 6)
            try assertNoOpenTransaction()
            assertSessionGoesOn(client)
        }
    }

    /// BEGIN or ROLLBACK in the same batch after the COPY, as PostgreSQL treats them inside a
    /// batch's implicit transaction: BEGIN keeps what the batch did in the new transaction,
    /// ROLLBACK (no transaction block: a warning) undoes it.
    func testTransactionControlAfterTheCopyInTheSameBatch() throws {
        let client = try client(cluster.proxy.port)
        XCTAssertEqual(types(startCopy(client, "COPY copy_rows (id) FROM STDIN")).last, "G")
        client.send(RawClient.copyData("1\n2\n") + RawClient.copyDone
                    + RawClient.parse("", "ROLLBACK") + RawClient.bind("", "") + RawClient.execute("") + RawClient.sync)
        let rolledBack = client.readUntilReady()
        XCTAssertEqual(types(rolledBack), ["C", "1", "2", "N", "C", "Z"], "\(rolledBack)")
        try assertEmpty()

        XCTAssertEqual(types(startCopy(client, "COPY copy_rows (id) FROM STDIN")).last, "G")
        client.send(RawClient.copyData("1\n2\n") + RawClient.copyDone
                    + RawClient.parse("", "BEGIN") + RawClient.bind("", "") + RawClient.execute("") + RawClient.sync)
        let begun = client.readUntilReady()
        XCTAssertEqual(types(begun), ["C", "1", "2", "C", "Z"], "\(begun)")
        XCTAssertEqual(begun.last?.body, [UInt8(ascii: "T")])
        client.send(RawClient.query("ROLLBACK"))
        XCTAssertEqual(client.readUntilReady().last?.body, [UInt8(ascii: "I")])
        try assertEmpty()
        try assertNoOpenTransaction()
        assertSessionGoesOn(client)
    }

    // MARK: - COPY TO STDOUT

    func testCopyToStdoutAcrossShards() throws {
        try cluster.proxyConnection().query("INSERT INTO copy_rows (id, name) VALUES " + (1...50).map { "(\($0), 'out \($0)')" }.joined(separator: ", "))
        for port in try ports() {
            let client = try client(port)
            client.send(RawClient.parse("", "COPY copy_rows (id, name) TO STDOUT WITH (FORMAT csv, HEADER)") + RawClient.describe(statement: "")
                        + RawClient.bind("", "") + RawClient.describe(portal: "") + RawClient.execute("", rows: 5) + RawClient.execute("")
                        + RawClient.sync)
            let replies = client.readUntilReady()
            let data = replies.filter { $0.type == "d" }.map { String(decoding: $0.body, as: UTF8.self) }
            // Every row, one header line, the row limit ignored as PostgreSQL ignores it for COPY.
            XCTAssertEqual(types(replies).filter { $0 != "d" }, ["1", "t", "n", "2", "n", "H", "c", "C", "E", "Z"], "\(types(replies))")
            XCTAssertEqual(data.first, "id,name\n")
            XCTAssertEqual(Set(data.dropFirst()), Set((1...50).map { "\($0),out \($0)\n" }))
            XCTAssertEqual(data.count, 51)
            XCTAssertEqual(tag(replies), "COPY 50")
            XCTAssertEqual(error(replies)?["C"], "55000", "a COPY portal runs once")
            try assertNoOpenTransaction()
            assertSessionGoesOn(client)
        }
        // One shard: the shard's own answer, as before.
        let client = try client(cluster.proxy.port)
        client.send(RawClient.parse("", "COPY (SELECT name FROM copy_rows WHERE id = 7) TO STDOUT") + RawClient.bind("", "")
                    + RawClient.execute("") + RawClient.sync)
        let one = client.readUntilReady()
        XCTAssertEqual(types(one), ["1", "2", "H", "d", "c", "C", "Z"])
        XCTAssertEqual(tag(one), "COPY 1")
    }
}
