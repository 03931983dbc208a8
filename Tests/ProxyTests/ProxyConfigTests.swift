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
                "tables.users.type: unsupported key type \"float\"; use smallint, integer, bigint, text, varchar or uuid",
                "tables.orders: give exactly one of key: (sharded), reference: true, or shard: (pinned)",
                "tables.logs.shard: unknown shard \"s9\"",
                "colour: unknown setting",
            ] {
                XCTAssertTrue(lines.contains(expected), "missing \(expected) in \(lines)")
            }
        }
    }

    func testPasswordsAreRedacted() {
        XCTAssertEqual(ProxyConfig.redacted("host=a password=secret dbname=x"), "host=a password=*** dbname=x")
        XCTAssertEqual(ProxyConfig.redacted("host=a password='se cret' dbname=x"), "host=a password=*** dbname=x")
        XCTAssertEqual(ProxyConfig.redacted("postgresql://app:secret@h/db"), "postgresql://app:***@h/db")
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
