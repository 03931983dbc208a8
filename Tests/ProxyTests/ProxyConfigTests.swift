import Foundation
@testable import Proxy
import Sharding
import XCTest

final class ProxyConfigTests: XCTestCase {
    private var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testTheExampleConfigsParse() throws {
        for name in ["pgshard.yaml", "demo.yaml"] {
            let config = try ProxyConfig.load(path: repository.appendingPathComponent("config/\(name)").path)
            XCTAssertGreaterThanOrEqual(config.shards.count, 4, name)
            XCTAssertEqual(config.tables["users"], .sharded(key: "id", type: .bigint, function: .hash), name)
            XCTAssertEqual(config.tables["countries"], .reference, name)
        }
        let example = try ProxyConfig.load(path: repository.appendingPathComponent("config/pgshard.yaml").path)
        XCTAssertEqual(example.tables["audit_log"], .pinned(shard: "s0"))
        XCTAssertEqual(example.limits.maxMessageSize, 64 << 20)
        XCTAssertEqual(example.backend.connectTimeout, 5)
        XCTAssertEqual(example.auth, .scramSHA256)
        XCTAssertEqual(example.users.map(\.name), ["app", "report"])
        guard case .scram(let verifier) = example.users[0].credential else { return XCTFail("the example's verifier did not parse") }
        XCTAssertTrue(verifier.matches(passwordBytes: Array("pencil-42".utf8)))
    }

    func testEveryProblemIsReportedWithItsPath() {
        let yaml = """
            listen: { port: 99999 }
            auth: kerberos
            shards:
              - { name: s0, primary: "host=a" }
              - { name: s0 }
            tables:
              users: { key: id, type: float }
              orders: { key: user_id, reference: true }
              logs: { shard: s9 }
            colour: blue
            """
        XCTAssertThrowsError(try ProxyConfig.parse(yaml: yaml)) { error in
            let lines = (error as! ConfigError).problems.map(\.description)
            for expected in [
                "listen.port: must be between 0 and 65535, got 99999",
                "auth: unknown method \"kerberos\"; use scram-sha-256, md5, password or trust",
                "shards[1].primary: missing",
                "tables.users.type: unsupported key type \"float\"; use smallint, integer, bigint, text, varchar, uuid, date, timestamp, timestamptz or numeric",
                "tables.orders: give exactly one of key: (sharded), reference: true, or shard: (pinned)",
                "tables.logs.shard: unknown shard \"s9\"",
                "colour: unknown setting",
            ] {
                XCTAssertTrue(lines.contains(expected), "missing \(expected) in \(lines)")
            }
        }
    }

    func testNodeIDAndGeneratedKeys() throws {
        let yaml = """
            auth: trust
            node_id: 17
            shards: [{ name: s0, primary: "host=a" }, { name: s1, primary: "host=b" }]
            tables:
              users: { key: id, type: bigint, key_generator: global_id }
              events: { key: id, function: range, ranges: [{ to: 100, shard: s0 }, { from: 100, shard: s1 }], key_generator: global_id }
              orders: { key: user_id }
            """
        let config = try ProxyConfig.parse(yaml: yaml)
        XCTAssertEqual(config.nodeID, 17)
        XCTAssertEqual(config.tables["users"], .sharded(.init(columns: ["id"], types: [.bigint], function: .hash, keyGenerator: .globalID)))
        guard case .sharded(let users)? = config.shardingSchema.tables["users"], case .sharded(let orders)? = config.shardingSchema.tables["orders"] else {
            return XCTFail("not sharded")
        }
        XCTAssertEqual(users.keyGenerator, .globalID)
        XCTAssertNil(orders.keyGenerator)
        XCTAssertEqual(try ProxyConfig.parse(yaml: "auth: trust\nshards: [{ name: s0, primary: a }]").nodeID, 0)
        XCTAssertEqual(try ProxyConfig.parse(yaml: "auth: trust\nshards: [{ name: s0, primary: a }]", environment: ["PGSHARD_NODE_ID": "1023"]).nodeID, 1023)

        let bad = """
            auth: trust
            node_id: 1024
            shards: [{ name: s0, primary: "host=a" }]
            tables:
              a: { key: id, type: integer, key_generator: global_id }
              b: { key: [x, y], key_generator: global_id }
              c: { key: id, key_generator: snowflake }
              d: { key: id, function: directory, key_generator: global_id }
            directory: { conninfo: "host=d" }
            """
        XCTAssertThrowsError(try ProxyConfig.parse(yaml: bad)) { error in
            XCTAssertEqual((error as! ConfigError).problems.map(\.description).sorted(), [
                "node_id: must be between 0 and 1023 (global ids keep 10 bits for it), got 1024",
                "tables.a.key_generator: global_id makes 64-bit ids: the key type must be bigint, not integer",
                "tables.b.key_generator: a generated key is one column; this key has 2",
                "tables.c.key_generator: unknown key generator \"snowflake\"; use global_id",
                "tables.d.key_generator: global_id needs a function that places a new key by itself (hash, range, list, consistent or modulo-md5), not directory",
            ])
        }
        XCTAssertThrowsError(try ProxyConfig.parse(yaml: "auth: trust\nshards: [{ name: s0, primary: a }]", environment: ["PGSHARD_NODE_ID": "-1"])) { error in
            XCTAssertEqual((error as! ConfigError).problems.map(\.description), ["node_id: must be between 0 and 1023 (global ids keep 10 bits for it), got -1"])
        }
        XCTAssertThrowsError(try ProxyConfig.parse(yaml: "auth: trust\nnode_id: two\nshards: [{ name: s0, primary: a }]")) { error in
            XCTAssertEqual((error as! ConfigError).problems.map(\.description), ["node_id: expected a whole number from 0 to 1023"])
        }
    }

    func testPasswordsAreRedacted() {
        XCTAssertEqual(ProxyConfig.redacted("host=a password=secret dbname=x"), "host=a password=*** dbname=x")
        XCTAssertEqual(ProxyConfig.redacted("host=a password='se cret' dbname=x"), "host=a password=*** dbname=x")
        XCTAssertEqual(ProxyConfig.redacted("postgresql://app:secret@h/db"), "postgresql://app:***@h/db")
    }

    func testShardingFunctionsParse() throws {
        let config = try ProxyConfig.parse(yaml: """
            auth: trust
            shards: [{ name: a, primary: x }, { name: b, primary: y, weight: 3 }, { name: c, primary: z }]
            tables:
              events: { key: day, type: date, function: range, ranges: [{ to: 2025-01-01, shard: a }, { from: "2025-01-01", shard: b }], default: c }
              amounts: { key: n, type: numeric, function: range, ranges: [{ from: -1.5, to: 10, shard: c }] }
              regions: { key: code, type: text, function: list, lists: [{ values: [eu, de, null], shard: b }] }
              ring: { key: id, function: consistent, vnodes: 32 }
              legacy: { key: id, function: modulo-md5 }
              tenants: { key: [tenant, id], type: [text, bigint] }
              items: { key: [tenant, id], type: [text, bigint], function: group, groups: { lists: [{ values: [acme], group: east }], default: west } }
            shard_groups: { east: [a], west: [b, c] }
            """)
        XCTAssertEqual(config.shardGroups, ["east": ["a"], "west": ["b", "c"]])
        XCTAssertEqual(config.tables["items"], .sharded(ProxyConfig.ShardKeySpec(columns: ["tenant", "id"], types: [.text, .bigint],
            function: .group(lists: [.init(values: [.text("acme")], group: "east")], default: "west"))))
        XCTAssertEqual(config.shards[1].weight, 3)
        XCTAssertEqual(config.tables["events"], .sharded(key: "day", type: .date, function: .range(rules: [
            .init(from: nil, to: ShardKeyType.date.parse("2025-01-01"), shard: "a"), .init(from: ShardKeyType.date.parse("2025-01-01"), to: nil, shard: "b"),
        ], default: "c")))
        XCTAssertEqual(config.tables["regions"], .sharded(key: "code", type: .text, function: .list(rules: [.init(values: [.text("eu"), .text("de"), nil], shard: "b")], default: nil)))
        XCTAssertEqual(config.tables["tenants"], .sharded(ProxyConfig.ShardKeySpec(columns: ["tenant", "id"], types: [.text, .bigint], function: .hash)))
        let schema = config.shardingSchema
        guard case .sharded(let ring)? = schema.tables["ring"], case .consistent(let function) = ring.function.kind else { return XCTFail() }
        XCTAssertEqual(function.weights, [1, 3, 1])
        XCTAssertEqual(function.vnodes, 32)
        guard case .sharded(let events)? = schema.tables["events"] else { return XCTFail() }
        XCTAssertEqual(try events.function.shard(for: [ShardKeyType.date.parse("2030-05-05")]).get(), 1)
        XCTAssertEqual(try events.function.shard(for: [nil]).get(), 2)
        guard case .sharded(let amounts)? = schema.tables["amounts"] else { return XCTFail() }
        XCTAssertEqual(try amounts.function.shard(for: [.numeric(DecimalValue("-1.5")!)]).get(), 2)
    }

    func testShardingFunctionProblems() {
        let yaml = """
            auth: trust
            shards: [{ name: a, primary: x }, { name: b, primary: y }]
            tables:
              t1: { key: id, function: range, ranges: [{ to: 10, shard: a }, { from: 5, shard: b }] }
              t2: { key: id, function: range, ranges: [{ from: 10, to: 5, shard: a }] }
              t3: { key: code, type: text, function: list, lists: [{ values: [x], shard: a }, { values: [x], shard: b }] }
              t4: { key: id, function: list, lists: [{ values: [1], shard: z }] }
              t5: { key: id, function: directory }
              t6: { key: [a, b], function: range, ranges: [{ shard: a }] }
              t7: { key: name, type: text, function: range, ranges: [{ shard: a }] }
              t8: { key: n, type: numeric }
              t9: { key: id, function: hash, vnodes: 3 }
              t10: { key: [a, b], type: [text] }
              t11: { key: day, type: date, function: range, ranges: [{ to: "yesterday", shard: a }] }
            """
        XCTAssertThrowsError(try ProxyConfig.parse(yaml: yaml)) { error in
            let lines = (error as! ConfigError).problems.map(\.description)
            for expected in [
                "tables.t1.ranges: ranges overlap (for a and b); every key must belong to one range",
                "tables.t2.ranges[0]: from must be below to",
                "tables.t3.lists[1].values: x is listed twice; a value belongs to one shard",
                "tables.t4.lists[0].shard: unknown shard \"z\"",
                "tables.t5.function: function directory needs a directory: { conninfo: ... } section",
                "tables.t6.key: function range takes one key column; only hash takes several",
                "tables.t7.type: range needs an ordered key type (integers, numeric, date, timestamp, timestamptz), not text",
                "tables.t8.type: hash placement of numeric keys is not supported; use range or list, or a bigint key",
                "tables.t9.vnodes: not a setting of function hash",
                "tables.t10.type: give one type per key column (2)",
                "tables.t11.ranges[0].to: \"yesterday\" is not a date value pgshard can read (use ISO 8601 for dates and times)",
            ] {
                XCTAssertTrue(lines.contains(expected), "missing \(expected) in \(lines)")
            }
        }
    }

    func testEnvironmentReferencesAndOverrides() throws {
        let yaml = """
            auth: trust
            shards: [{ name: a, primary: "host=${SHARD_HOST} port=${SHARD_PORT:-5432} dbname=app" }]
            pool: { size: 5 }
            """
        let config = try ProxyConfig.parse(yaml: yaml, environment: [
            "SHARD_HOST": "10.1.2.3", "PGSHARD_LISTEN_PORT": "7000", "PGSHARD_POOL_QUERY_WAIT_TIMEOUT": "2s",
            "PGSHARD_LOG_LEVEL": "debug", "PGSHARD_CROSS_SHARD": "deny", "PGSHARD_UNRELATED": "x",
        ])
        XCTAssertEqual(config.shards[0].primary, "host=10.1.2.3 port=5432 dbname=app")
        XCTAssertEqual(config.listen.port, 7000)
        XCTAssertEqual(config.pool.queryWaitTimeout, 2)
        XCTAssertEqual(config.pool.size, 5)
        XCTAssertEqual(config.log.level, "debug")
        XCTAssertEqual(config.crossShard, .deny)
        XCTAssertThrowsError(try ProxyConfig.parse(yaml: yaml, environment: [:])) { error in
            XCTAssertEqual((error as! ConfigError).problems.map(\.description), ["environment variable SHARD_HOST is not set (referenced as ${SHARD_HOST})"])
        }
        XCTAssertThrowsError(try ProxyConfig.parse(yaml: yaml, environment: ["SHARD_HOST": "h", "PGSHARD_LISTEN_PORT": "seventy"])) { error in
            XCTAssertTrue((error as! ConfigError).problems.map(\.description).contains { $0.hasPrefix("listen.port") })
        }
    }

    func testCrossShardPolicyGlobalAndPerUser() throws {
        let config = try ProxyConfig.parse(yaml: """
            auth: password
            cross_shard: deny
            users: [{ name: app, password: x }, { name: report, password: y, cross_shard: allow }]
            shards: [{ name: a, primary: x }]
            """)
        XCTAssertEqual(config.crossShard, .deny)
        XCTAssertNil(config.users[0].crossShard)
        XCTAssertEqual(config.users[1].crossShard, .allow)
        XCTAssertEqual(config.shardingSchema.shardNames, ["a"])
        XCTAssertThrowsError(try ProxyConfig.parse(yaml: "auth: trust\ncross_shard: maybe\nshards: [{ name: a, primary: x }]")) { error in
            XCTAssertEqual((error as! ConfigError).problems.map(\.description), ["cross_shard: unknown value \"maybe\"; use allow or deny"])
        }
    }

    func testSchemaNumbersShardsInOrder() throws {
        let config = try ProxyConfig.parse(yaml: """
            auth: trust
            shards: [{ name: a, primary: x }, { name: b, primary: y }, { name: c, primary: z }]
            tables: { logs: { shard: c }, Users: { key: ID } }
            """)
        let schema = config.shardingSchema
        XCTAssertEqual(schema.shardCount, 3)
        XCTAssertEqual(schema.tables["logs"], .pinned(shard: 2))
        XCTAssertEqual(schema.tables["users"], .sharded(keyColumn: "id", keyType: .bigint, function: .hash(shardCount: 3)))
    }
}
