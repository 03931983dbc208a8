import Backend
import Logging
import Proxy
import XCTest

/// At debug level every routing decision is one log line naming table, key and shard.
final class LogTests: XCTestCase {
    private final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    func testRoutingDecisionsAreLoggedAtDebugLevel() throws {
        let cluster = try TestCluster.shared()
        let collected = Lines()
        var logger = Logger(label: "pgshard.test.log") { label in LineLogHandler(label: label, format: .json) { collected.append($0) } }
        logger.logLevel = .debug
        let server = ProxyServer(config: try ProxyConfig.parse(yaml: TestCluster.yaml(shards: cluster.shards, port: 0)), logger: logger)
        try server.start()
        defer { server.stop() }
        let proxy = try TestCluster.proxyConnection(port: server.port)
        _ = try proxy.query("SELECT * FROM users WHERE id = 123")
        let shard = HashPlacement.shard(of: 123, shardCount: 4)
        let decision = collected.all.first { $0.contains("\"statement routed\"") && $0.contains("id = 123") }
        XCTAssertNotNil(decision, collected.all.joined(separator: "\n"))
        XCTAssertTrue(decision?.contains("users.id (hash): id = 123 → s\(shard)") == true, decision ?? "")
    }
}

/// SIGTERM's drain: clients between transactions leave at once, open transactions may finish,
/// the rest is cut off at the timeout.
final class ShutdownTests: XCTestCase {
    func testDrainLetsOpenTransactionsFinish() throws {
        let cluster = try TestCluster.shared()
        var logger = Logger(label: "pgshard.test.drain")
        logger.logLevel = .critical
        let server = ProxyServer(config: try ProxyConfig.parse(yaml: TestCluster.yaml(shards: cluster.shards, port: 0)), logger: logger)
        try server.start()
        defer { server.stop() }
        let idle = try TestCluster.proxyConnection(port: server.port)
        let working = try TestCluster.proxyConnection(port: server.port)
        _ = try idle.query("SELECT 1")
        _ = try working.query("BEGIN")
        _ = try working.query("SELECT * FROM users WHERE id = 1")
        let drained = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var cut = -1
        Thread.detachNewThread {
            cut = server.drain(timeout: 10)
            drained.signal()
        }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertThrowsError(try idle.query("SELECT 1"), "a client between transactions is disconnected")
        XCTAssertEqual(try working.query("SELECT 2"), [["2"]])
        _ = try working.query("COMMIT")
        XCTAssertEqual(drained.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(cut, 0)
        XCTAssertThrowsError(try working.query("SELECT 1"))

        // A transaction that does not end is cut off at the timeout.
        let second = ProxyServer(config: try ProxyConfig.parse(yaml: TestCluster.yaml(shards: cluster.shards, port: 0)), logger: logger)
        try second.start()
        let stuck = try TestCluster.proxyConnection(port: second.port)
        _ = try stuck.query("BEGIN")
        XCTAssertEqual(second.drain(timeout: 0.3), 1)
        XCTAssertThrowsError(try stuck.query("SELECT 1"))
    }
}
