import Backend
import Foundation
import Logging
import Proxy
import XCTest

/// RELOAD and SIGHUP: a new configuration in force without dropping clients; an invalid one
/// rejected with the old one staying.
final class ReloadTests: XCTestCase {
    private static let table = "reload_items"

    /// The shared cluster, with `reload_items` created on every shard directly (pgshard does not
    /// know it yet).
    private func cluster() throws -> TestCluster {
        let cluster = try TestCluster.shared()
        for shard in 0..<cluster.shards.count {
            try cluster.shardConnection(shard).query("CREATE TABLE IF NOT EXISTS \(Self.table) (id bigint PRIMARY KEY, note text)")
        }
        return cluster
    }

    func testReloadPutsANewTableInForceForConnectedClients() throws {
        let cluster = try cluster()
        var logger = Logger(label: "pgshard.test.reload")
        logger.logLevel = .critical
        let before = TestCluster.yaml(shards: cluster.shards, port: 0, users: TestCluster.usersWithAdmin)
        let after = before + "\n  \(Self.table): { key: id, type: bigint }"
        let server = ProxyServer(config: try ProxyConfig.parse(yaml: before), logger: logger)
        try server.start()
        defer { server.stop() }
        // What the next reload reads.
        let source = Locked(before)
        server.reloadConfiguration { try ProxyConfig.parse(yaml: source.value) }

        let idle = try TestCluster.proxyConnection(port: server.port)
        let inTransaction = try TestCluster.proxyConnection(port: server.port)
        try idle.prepare("lookup", "SELECT name FROM users WHERE id = $1")
        XCTAssertSQLError("0A000") { try idle.query("INSERT INTO \(Self.table) (id, note) VALUES (1, 'x')") }
        try inTransaction.query("BEGIN")
        _ = try inTransaction.query("SELECT count(*) FROM users")
        let admin = try TestCluster.adminConnection(port: server.port)

        // An invalid configuration is refused; the old one stays.
        source.value = before + "\n  \(Self.table): { key: id, type: nonsense }"
        let refused = XCTAssertSQLError("F0000") { try admin.query("RELOAD") }
        XCTAssertTrue(refused?.message.contains("nonsense") == true, refused?.message ?? "")
        XCTAssertSQLError("0A000") { try idle.query("INSERT INTO \(Self.table) (id, note) VALUES (1, 'x')") }

        source.value = after
        XCTAssertEqual(try admin.query("RELOAD"), [["configuration reloaded"]])
        // A client between transactions routes by the new configuration at once.
        let ids = (9_400_001...9_400_008)
        for id in ids { try idle.query("INSERT INTO \(Self.table) (id, note) VALUES (\(id), 'r')") }
        let placement = try cluster.placement(table: Self.table, column: "id")
        for id in ids {
            XCTAssertEqual(placement[String(id)], HashPlacement.shard(of: id, shardCount: 4), "id \(id)")
        }
        // Statements prepared before the reload still run.
        XCTAssertEqual(try idle.executePrepared("lookup", ["1"]).count, try cluster.shardConnection(HashPlacement.shard(of: 1, shardCount: 4))
            .query("SELECT name FROM users WHERE id = 1").count)
        // A client in a transaction finishes it under the old configuration, then moves.
        XCTAssertEqual(try inTransaction.query("SELECT count(*) FROM users").count, 1)
        XCTAssertSQLError("0A000") { try inTransaction.query("SELECT * FROM \(Self.table) WHERE id = 9400001") }
        try inTransaction.query("ROLLBACK")
        XCTAssertEqual(try inTransaction.query("SELECT note FROM \(Self.table) WHERE id = 9400001"), [["r"]])
        // New clients too.
        XCTAssertEqual(try TestCluster.proxyConnection(port: server.port).query("SELECT count(*) FROM \(Self.table) WHERE id BETWEEN 9400001 AND 9400008"), [["8"]])
    }

    /// `pgshard run` re-reads its file on SIGHUP.
    func testSighupReloadsTheFile() throws {
        let cluster = try cluster()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = repository.appendingPathComponent(".build/debug/pgshard").path
        let port = try LocalClusterPort.unused()
        let file = NSTemporaryDirectory() + "pgshard-reload-\(getpid()).yaml"
        let before = TestCluster.yaml(shards: cluster.shards, port: port)
        try before.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", file]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var client: BlockingConnection?
        for _ in 0..<100 where client == nil {
            client = try? TestCluster.proxyConnection(port: port)
            if client == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        let connected = try XCTUnwrap(client, "pgshard run did not start")
        XCTAssertSQLError("0A000") { try connected.query("SELECT * FROM \(Self.table) WHERE id = 1") }
        try (before + "\n  \(Self.table): { key: id, type: bigint }").write(toFile: file, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        var answered = false
        for _ in 0..<100 where !answered {
            answered = (try? connected.query("SELECT * FROM \(Self.table) WHERE id = 1")) != nil
            if !answered { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertTrue(answered, "the table configured after SIGHUP is still unknown")
    }
}
