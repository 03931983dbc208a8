import Backend
import Dispatch
import Foundation
import Sharding
import Synchronization
import XCTest

/// Generated keys (`gen_items: { key: id, key_generator: global_id }`) and `pgshard.next_id`
/// against the real shards.
final class GlobalIDTests: XCTestCase {
    private func id(_ text: String??, file: StaticString = #filePath, line: UInt = #line) throws -> Int64 {
        try XCTUnwrap(Int64(XCTUnwrap(text ?? nil, file: file, line: line)), file: file, line: line)
    }

    func testInsertReturningGeneratesIncreasingKeysOnTheirShards() throws {
        let cluster = try TestCluster.shared()
        let connection = try cluster.proxyConnection()
        var ids: [Int64] = []
        for n in 0..<30 {
            let rows = try connection.query("INSERT INTO gen_items (name) VALUES ('single \(n)') RETURNING id")
            ids.append(try id(rows.first?.first))
        }
        XCTAssertTrue(ids.allSatisfy { $0 > 0 })
        XCTAssertEqual(ids, ids.sorted())
        XCTAssertEqual(Set(ids).count, ids.count)
        XCTAssertTrue(ids.allSatisfy { GlobalID(value: $0).node == 0 })
        let placement = try cluster.placement(table: "gen_items", column: "id")
        for id in ids {
            XCTAssertEqual(placement[String(id)], HashPlacement.shard(of: Int(id), shardCount: 4), "\(id)")
        }
        // Keys are spread: 30 ids on 4 shards do not all land on one.
        XCTAssertGreaterThan(Set(ids.compactMap { placement[String($0)] }).count, 1)
    }

    func testMultiRowDefaultAndDefaultValues() throws {
        let cluster = try TestCluster.shared()
        let connection = try cluster.proxyConnection()
        let rows = try connection.query("INSERT INTO gen_items (name) VALUES ('multi a'), ('multi b'), ('multi c') RETURNING id, name")
        XCTAssertEqual(rows.map { $0[1] }, ["multi a", "multi b", "multi c"])
        let multi = try rows.map { try id($0[0]) }
        XCTAssertEqual(multi, multi.sorted())
        let defaulted = try id(connection.query("INSERT INTO gen_items (id, name) VALUES (DEFAULT, 'default') RETURNING id").first?.first)
        let empty = try id(connection.query("INSERT INTO gen_items DEFAULT VALUES RETURNING id").first?.first)
        XCTAssertEqual(try connection.command("INSERT INTO gen_items (name) VALUES ('no returning 1'), ('no returning 2')"), "INSERT 0 2")
        let placement = try cluster.placement(table: "gen_items", column: "id")
        XCTAssertEqual(Set(multi.map { placement[String($0)] }).count, 1, "one statement's rows are on one shard")
        for id in multi + [defaulted, empty] {
            XCTAssertEqual(placement[String(id)], HashPlacement.shard(of: Int(id), shardCount: 4), "\(id)")
        }
        XCTAssertEqual(try connection.query("SELECT name FROM gen_items WHERE id = \(empty)").first?.first, .some(nil))
        // An explicit key is the client's.
        XCTAssertEqual(try connection.query("INSERT INTO gen_items (id, name) VALUES (77, 'explicit') RETURNING id").first?.first, "77")
        XCTAssertEqual(try cluster.placement(table: "gen_items", column: "id")["77"], HashPlacement.shard(of: 77, shardCount: 4))
    }

    func testInsertSelectWithoutTheKeyIsRefused() throws {
        let connection = try TestCluster.shared().proxyConnection()
        XCTAssertThrowsError(try connection.query("INSERT INTO gen_items (name) SELECT name FROM countries")) { error in
            XCTAssertTrue("\(error)".contains("pgshard generates keys only for VALUES rows"), "\(error)")
        }
    }

    func testExtendedProtocolInsertWithParameters() throws {
        let cluster = try TestCluster.shared()
        let connection = try cluster.proxyConnection()
        var ids: [Int64] = []
        for n in 0..<10 {
            let rows = try connection.query("INSERT INTO gen_items (name) VALUES ($1) RETURNING id, name", parameters: [Array("ext \(n)".utf8)])
            XCTAssertEqual(rows.first?[1], "ext \(n)")
            ids.append(try id(rows.first?.first))
        }
        // Binary parameters, declared types, two rows.
        let pair = try connection.query("INSERT INTO gen_items (name) VALUES ($1), ($2) RETURNING id", parameters: [Array("bin a".utf8), Array("bin b".utf8)],
                                        types: [25, 25], binary: true)
        XCTAssertEqual(pair.count, 2)
        ids += try pair.map { try id($0.first) }
        // A named statement: every execution gets a new key.
        try connection.prepare("gen_insert", "INSERT INTO gen_items (name) VALUES ($1) RETURNING id")
        let first = try id(connection.executePrepared("gen_insert", ["prepared 1"]).first?.first)
        let second = try id(connection.executePrepared("gen_insert", ["prepared 2"]).first?.first)
        XCTAssertGreaterThan(second, first)
        ids += [first, second]
        XCTAssertEqual(Set(ids).count, ids.count)
        let placement = try cluster.placement(table: "gen_items", column: "id")
        for id in ids {
            XCTAssertEqual(placement[String(id)], HashPlacement.shard(of: Int(id), shardCount: 4), "\(id)")
        }
        XCTAssertEqual(placement[String(pair[0][0]!)], placement[String(pair[1][0]!)])
    }

    func testDescribeHidesTheAppendedKeyParameter() throws {
        let client = try RawClient(port: TestCluster.shared().proxy.port)
        client.login()
        let parse = RawClient.cString("") + RawClient.cString("INSERT INTO gen_items (name) VALUES ($1) RETURNING id")
            + [0, 0]
        client.send(RawClient.message("P", parse) + RawClient.message("D", [UInt8(ascii: "S")] + RawClient.cString(""))
                    + RawClient.message("S", []))
        let messages = client.readUntilReady()
        XCTAssertEqual(messages.map(\.type), ["1", "t", "T", "Z"])
        let description = try XCTUnwrap(messages.first { $0.type == "t" })
        XCTAssertEqual(description.body, [0, 1, 0, 0, 0, 25], "one parameter, text")
    }

    func testNextID() throws {
        let cluster = try TestCluster.shared()
        let connection = try ResultConnection("host=127.0.0.1 port=\(cluster.proxy.port) dbname=\(TestCluster.database) user=app password=\(TestCluster.password)")
        var last: Int64 = 0
        for (extended, binary) in [(false, false), (true, false), (false, false), (true, true)] {
            guard case .rows(let result) = connection.run("SELECT pgshard.next_id('gen_items')", extended: extended, binary: binary) else {
                return XCTFail("no rows")
            }
            XCTAssertEqual(result.columns, ["next_id"])
            XCTAssertEqual(result.types, [20])
            XCTAssertEqual(result.rows.count, 1)
            let text = try XCTUnwrap(result.rows.first?.first ?? nil)
            let value = binary ? Int64(bitPattern: UInt64(text.dropFirst(2), radix: 16) ?? 0) : Int64(text) ?? 0
            XCTAssertGreaterThan(value, last)
            last = value
        }
        guard case .rows(let aliased) = connection.run("select pgshard.next_id('GEN_ITEMS') as new_key") else { return XCTFail() }
        XCTAssertEqual(aliased.columns, ["new_key"])
        guard case .error(let state, _) = connection.run("SELECT pgshard.next_id('users')") else { return XCTFail() }
        XCTAssertEqual(state, "55000")
        guard case .error(let unknown, _) = connection.run("SELECT pgshard.next_id('nope')") else { return XCTFail() }
        XCTAssertEqual(unknown, "42P01")
        guard case .error(let shape, _) = connection.run("SELECT pgshard.next_id('gen_items') + 1") else { return XCTFail() }
        XCTAssertEqual(shape, "0A000")
        // Inside a transaction block, as a statement of a several-statement message.
        XCTAssertEqual(try cluster.proxyConnection().query("BEGIN; SELECT pgshard.next_id('gen_items')").count, 1)
    }

    func testTwoProxiesWithDifferentNodeIDsNeverCollide() throws {
        let cluster = try TestCluster.shared()
        let proxies = try [1, 2].map { try cluster.startProxy(extra: "node_id: \($0)") }
        defer { for proxy in proxies { proxy.stop() } }
        let collected = Mutex<[Int64]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let proxy = proxies[worker % 2]
            do {
                let connection = try TestCluster.proxyConnection(port: proxy.port)
                var ids: [Int64] = []
                for n in 0..<25 {
                    let sql = n % 2 == 0 ? "SELECT pgshard.next_id('gen_items')"
                        : "INSERT INTO gen_items (name) VALUES ('node \(worker) \(n)') RETURNING id"
                    if let text = try connection.query(sql).first?.first ?? nil, let id = Int64(text) { ids.append(id) }
                }
                let node = worker % 2 + 1
                if !ids.allSatisfy({ GlobalID(value: $0).node == node }) { failures.withLock { $0.append("node bits of \(ids)") } }
                if ids != ids.sorted() { failures.withLock { $0.append("not increasing: \(ids)") } }
                collected.withLock { $0 += ids }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let ids = collected.withLock { $0 }
        XCTAssertEqual(ids.count, 100)
        XCTAssertEqual(Set(ids).count, ids.count)
    }
}
