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
