import Backend
import LocalCluster
import Logging
import Proxy
import Sharding
import XCTest

enum LocalClusterPort {
    /// A port nothing listens on.
    static func unused() throws -> Int { try LocalCluster.freePort() }
}

enum HashPlacement {
    static func shard(of key: Int, shardCount: Int) -> Int {
        HashShardingFunction(shardCount: shardCount).shardIndex(for: [.integer(Int64(key))])
    }
}

extension TestCluster {
    /// Which shard holds each key of `table` (as text), asked of every shard directly; a key on
    /// two shards fails the test.
    func placement(table: String, column: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for shard in 0..<shards.count {
            for row in try shardConnection(shard).query("SELECT \(column)::text FROM \(table)") {
                XCTAssertNil(result[row[0]!], "\(row[0]!) is on two shards", file: file, line: line)
                result[row[0]!] = shard
            }
        }
        return result
    }
}

extension TestCluster {
    /// A proxy of its own in front of the shared shards (quiet logs), started; `users` and
    /// `extra` as in ``yaml(shards:port:users:extra:)``. Stop it when done.
    func startProxy(users: String? = nil, extra: String = "") throws -> ProxyServer {
        var logger = Logger(label: "pgshard.test.proxy")
        logger.logLevel = .critical
        let server = ProxyServer(config: try ProxyConfig.parse(yaml: Self.yaml(shards: shards, port: 0, users: users, extra: extra)), logger: logger)
        try server.start()
        return server
    }

    /// The app user and an admin user `ops`.
    static let usersWithAdmin = """
          - { name: app, password: \(password) }
          - { name: ops, password: \(password), admin: true }
        """

    /// A connection to the admin console of a proxy as `ops`.
    static func adminConnection(port: Int) throws -> BlockingConnection {
        try BlockingConnection(conninfo: "host=127.0.0.1 port=\(port) dbname=pgshard user=ops password=\(password) connect_timeout=2")
    }
}

/// A value read and written from several threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }

    /// Changes the value under the lock (a read followed by a write could lose another's).
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
