import ArgumentParser
import Backend
import Foundation
import LocalCluster
import Logging
import Proxy

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a local sharded demo: PostgreSQL shards run by pgshard, a sample schema, the proxy.")

    @Option(help: "Where the demo keeps its shards and configuration (reused on the next run).")
    var dir: String = "pgshard-demo"
    @Option(help: "The port the proxy listens on.")
    var port: Int = 6432
    @Option(help: "How many shards the demo cluster has (fixed once the cluster exists).")
    var shards: Int = 4
    @Option(help: "When clients give shard connections back: session or transaction.")
    var poolMode: String = "transaction"

    func run() throws {
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        let names = (0..<shards).map { "s\($0)" }
        let logger = bootstrapLogging(level: "info")
        let cluster: LocalCluster
        do {
            let binaries = try PostgresBinaries.locate()
            cluster = LocalCluster(root: root + "/cluster", serverNames: names, binaries: binaries,
                                   stopReused: true, log: { say("demo: \($0)") })
            try cluster.start()
            try cluster.createDatabase("demo")
        } catch {
            printError("pgshard demo: \(error)")
            throw ExitCode(1)
        }
        let configPath = root + "/pgshard.yaml"
        do {
            try DemoConfig.yaml(servers: cluster.servers, port: port, poolMode: poolMode).write(toFile: configPath, atomically: true, encoding: .utf8)
            let config = try ProxyConfig.load(path: configPath)
            let server = ProxyServer(config: config, logger: logger)
            try server.start()
            try DemoConfig.seed(port: server.port)
            say("""

                pgshard demo is running: \(cluster.servers.count) PostgreSQL shards, proxy on 127.0.0.1:\(server.port)
                configuration: \(configPath)

                Connect with:
                    psql -h 127.0.0.1 -p \(server.port) -U demo demo

                Try:
                    SELECT * FROM users WHERE id = 1000001;          -- one shard
                    SELECT * FROM users;                             -- every shard, rows concatenated
                    INSERT INTO users (id, name) VALUES (42, 'Ada');
                    SELECT count(*) FROM users;                      -- every shard, counts merged
                    SELECT country, count(*) FROM users GROUP BY 1 ORDER BY 2 DESC LIMIT 3;

                Ctrl-C stops the proxy and the shards; running the demo again reuses them.
                """)
            waitForSignal {
                server.stop()
                cluster.stop()
            }
        } catch {
            printError("pgshard demo: \(error)")
            cluster.stop()
            throw ExitCode(1)
        }
    }
}

/// The demo's configuration and sample data.
enum DemoConfig {
    static func yaml(servers: [LocalServer], port: Int, poolMode: String = "transaction") -> String {
        let shards = servers.map { "  - name: \($0.name)\n    primary: \"\($0.conninfo(database: "demo"))\"" }.joined(separator: "\n")
        return """
            # Written by `pgshard demo`; see docs/configuration.md.
            listen: { host: 127.0.0.1, port: \(port) }
            auth: trust            # demo only: any user name, no password
            pool: { mode: \(poolMode), size: 20 }
            shards:
            \(shards)
            tables:
              users:     { key: id, type: bigint, function: hash }
              orders:    { key: user_id, type: bigint, function: hash }   # co-located with users
              countries: { reference: true }

            """
    }

    /// Creates the sample schema and data through the proxy itself, once.
    static func seed(port: Int) throws {
        let proxy = try BlockingConnection(conninfo: "host=127.0.0.1 port=\(port) dbname=demo user=demo")
        try proxy.query("""
            CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY, name text NOT NULL, email text,
                                              country text, created_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE IF NOT EXISTS orders (id bigint NOT NULL, user_id bigint NOT NULL, amount numeric(10,2) NOT NULL,
                                               status text NOT NULL DEFAULT 'new', PRIMARY KEY (user_id, id));
            CREATE TABLE IF NOT EXISTS countries (code text PRIMARY KEY, name text NOT NULL)
            """)
        guard try proxy.query("SELECT id FROM users WHERE id = 1000001").isEmpty else { return }
        try proxy.query("""
            INSERT INTO countries (code, name) VALUES ('de', 'Germany'), ('fr', 'France'), ('jp', 'Japan'),
                                                      ('br', 'Brazil'), ('us', 'United States')
            """)
        let countries = ["de", "fr", "jp", "br", "us"]
        for i in 1...100 {
            let id = 1_000_000 + i
            try proxy.query("INSERT INTO users (id, name, email, country) VALUES (\(id), 'user \(i)', 'user\(i)@example.com', '\(countries[i % 5])')")
            for j in 1...3 {
                try proxy.query("INSERT INTO orders (id, user_id, amount) VALUES (\(j), \(id), \(i * j).50)")
            }
        }
    }
}

/// Writes a line to standard output at once (print is block-buffered when stdout is a file).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
