import Backend
import Foundation
import LocalCluster
import Logging
import Proxy
import XCTest

/// The real PostgreSQL servers every integration test uses: four shards and one unsharded
/// reference server, started once per test run in a temporary directory on free ports, and a
/// pgshard proxy in this process in front of the shards.
final class TestCluster: @unchecked Sendable {
    // Built once under `lock`; read-only afterwards.
    nonisolated(unsafe) private static var instance: TestCluster?
    private static let lock = NSLock()

    let cluster: LocalCluster
    let shards: [LocalServer]
    let reference: LocalServer
    let proxy: ProxyServer
    let config: ProxyConfig
    static let password = "secret"
    static let database = "app"

    /// The shared cluster, started on first use.
    static func shared() throws -> TestCluster {
        try lock.withLock {
            if let instance { return instance }
            let started = try TestCluster()
            instance = started
            XCTestObservationCenter.shared.addTestObserver(StopAtEnd())
            return started
        }
    }

    private init() throws {
        let root = NSTemporaryDirectory() + "pgshard-it-\(getpid())"
        cluster = LocalCluster(
            root: root, serverNames: ["shard0", "shard1", "shard2", "shard3", "reference"],
            binaries: try PostgresBinaries.locate(), durable: false, stopReused: true)
        try cluster.start()
        try cluster.createDatabase(Self.database)
        shards = Array(cluster.servers.prefix(4))
        reference = cluster.servers[4]
        config = try ProxyConfig.parse(yaml: Self.yaml(shards: shards, port: 0))
        var logger = Logger(label: "pgshard.test")
        logger.logLevel = .warning
        proxy = ProxyServer(config: config, logger: logger)
        try proxy.start()
        try Self.createSchema(through: proxy.port, reference: reference)
    }

    /// The configuration of a proxy in front of `shards`; `users` replaces the one user `app`.
    static func yaml(shards: [LocalServer], port: Int, users: String? = nil, extra: String = "") -> String {
        let list = shards.enumerated().map { "  - { name: s\($0.offset), primary: \"\($0.element.conninfo(database: database))\" }" }
        // Two loops unless a test says otherwise, whatever the machine's cores: clients then
        // land on different loops (cancel requests, the admin console and reloads reach
        // sessions across loops).
        let workers = extra.contains("workers:") ? "" : "workers: 2"
        return """
            listen: { host: 127.0.0.1, port: \(port) }
            \(workers)
            auth_failure_delay: 100ms
            users:
            \(users ?? "  - { name: app, password: \(password) }")
            shards:
            \(list.joined(separator: "\n"))
            directory: { conninfo: "\(shards[0].conninfo(database: database))", cache_size: 1000 }
            tables:
              users:     { key: id, type: bigint }
              orders:    { key: user_id, type: bigint }
              accounts:  { key: name, type: text }
              devices:   { key: uid, type: uuid }
              countries: { reference: true }
              audit_log: { shard: s2 }
              events:
                key: day
                type: date
                function: range
                ranges: [{ to: "2025-01-01", shard: s0 }, { from: "2025-01-01", to: "2025-07-01", shard: s1 }, { from: "2025-07-01", shard: s2 }]
              regions:
                key: code
                type: text
                function: list
                lists: [{ values: [eu, de], shard: s1 }, { values: [us], shard: s3 }]
              legacy:    { key: id, type: bigint, function: modulo-md5 }
              ringed:    { key: id, type: bigint, function: consistent, vnodes: 64 }
              tenants:   { key: [tenant, id], type: [text, bigint] }
              members:   { key: id, type: bigint, function: directory }
              member_notes: { key: member_id, type: bigint, function: directory, directory: members }
              d_users:   { key: id, type: bigint }
              d_orders:  { key: user_id, type: bigint }
              tpc_items: { key: id, type: bigint }
              gen_items: { key: id, type: bigint, key_generator: global_id }
              copy_rows: { key: id, type: bigint }
              copy_ref:  { reference: true }
              copy_pinned: { shard: s1 }
              pgbench_accounts: { key: aid, type: integer }
              pgbench_tellers:  { key: tid, type: integer }
              pgbench_branches: { key: bid, type: integer }
              pgbench_history:  { key: aid, type: integer }
            \(extra)
            """
    }

    /// The same tables through pgshard (on the shards) and directly on the reference server.
    private static func createSchema(through port: Int, reference: LocalServer) throws {
        let ddl = """
            CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, score int);
            CREATE TABLE orders (id bigint NOT NULL, user_id bigint NOT NULL, amount numeric(10,2), PRIMARY KEY (user_id, id));
            CREATE TABLE accounts (name text PRIMARY KEY, balance bigint);
            CREATE TABLE devices (uid uuid PRIMARY KEY, label text);
            CREATE TABLE countries (code text PRIMARY KEY, name text);
            CREATE TABLE audit_log (id bigint, note text);
            CREATE TABLE events (day date NOT NULL, note text);
            CREATE TABLE regions (code text, note text);
            CREATE TABLE legacy (id bigint PRIMARY KEY, note text);
            CREATE TABLE ringed (id bigint PRIMARY KEY, note text);
            CREATE TABLE tenants (tenant text, id bigint, note text, PRIMARY KEY (tenant, id));
            CREATE TABLE members (id bigint PRIMARY KEY, name text);
            CREATE TABLE member_notes (member_id bigint, note text);
            CREATE TABLE d_users (id bigint PRIMARY KEY, name text NOT NULL, city text, score int, rating float8,
                                  balance numeric(12,2), active bool, born date, created timestamptz);
            CREATE TABLE d_orders (id bigint NOT NULL, user_id bigint NOT NULL, amount numeric(10,2), qty int, status text,
                                   placed date, PRIMARY KEY (user_id, id));
            CREATE TABLE gen_items (id bigint PRIMARY KEY, name text)
            """
        try proxyConnection(port: port).query(ddl)
        try BlockingConnection(conninfo: reference.conninfo(database: database)).query(ddl)
    }

    /// A libpq connection to the proxy as the test user.
    static func proxyConnection(port: Int, user: String = "app", password: String = TestCluster.password,
                                extra: String = "") throws -> BlockingConnection {
        try BlockingConnection(conninfo: "host=127.0.0.1 port=\(port) dbname=\(database) user=\(user) password=\(password) \(extra)")
    }

    func proxyConnection(extra: String = "") throws -> BlockingConnection {
        try Self.proxyConnection(port: proxy.port, extra: extra)
    }

    /// A direct connection to shard `index`.
    func shardConnection(_ index: Int) throws -> BlockingConnection {
        try BlockingConnection(conninfo: shards[index].conninfo(database: Self.database))
    }

    func referenceConnection() throws -> BlockingConnection {
        try BlockingConnection(conninfo: reference.conninfo(database: Self.database))
    }

    /// Stops the proxy and the servers when the test bundle finishes.
    private final class StopAtEnd: NSObject, XCTestObservation {
        func testBundleDidFinish(_ testBundle: Bundle) {
            TestCluster.lock.withLock {
                TestCluster.instance?.proxy.stop()
                if let instance = TestCluster.instance {
                    instance.cluster.stop()
                    try? FileManager.default.removeItem(atPath: instance.cluster.root)
                }
                TestCluster.instance = nil
            }
        }
    }
}

/// Asserts that `body` fails with `sqlState`, and returns the error for more checks.
@discardableResult
func XCTAssertSQLError(_ sqlState: String, file: StaticString = #filePath, line: UInt = #line,
                       _ body: () throws -> Void) -> BlockingQueryError? {
    do {
        try body()
        XCTFail("expected SQLSTATE \(sqlState), but the statement succeeded", file: file, line: line)
    } catch let error as BlockingQueryError {
        XCTAssertEqual(error.sqlState, sqlState, "\(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
    return nil
}
