import Sharding
import XCTest

@testable import SQLRouter

/// The sharding schema of the router tests: 4 shards.
enum Fixture {
    static let shardCount = 4
    static let hash = HashShardingFunction(shardCount: shardCount)

    static let schema = ShardingSchema(shardCount: shardCount, tables: [
        "users": .sharded(keyColumn: "id", keyType: .bigint, function: ShardingFunction(.hash(hash))),
        "orders": .sharded(keyColumn: "user_id", keyType: .bigint, function: ShardingFunction(.hash(hash))),
        "accounts": .sharded(keyColumn: "name", keyType: .text, function: ShardingFunction(.hash(hash))),
        "devices": .sharded(keyColumn: "uid", keyType: .uuid, function: ShardingFunction(.hash(hash))),
        "countries": .reference,
        "audit_log": .pinned(shard: 2),
    ])

    static let router = Router(schema: schema)

    /// The shard of an integer key, computed with the real hash function.
    static func shard(_ key: Int64) -> Int { hash.shardIndex(for: [.integer(key)]) }

    /// The shard of a text key.
    static func shard(text key: String) -> Int { hash.shardIndex(for: [.text(key)]) }

    /// The shard of a uuid key.
    static func shard(uuid key: String) -> Int {
        hash.shardIndex(for: [ShardKeyType.uuid.parse(key)!])
    }

    /// The smallest positive integer key (above `after`) that lives on `shard`.
    static func key(onShard shard: Int, after: Int64 = 0) -> Int64 {
        var key = after + 1
        while self.shard(key) != shard { key += 1 }
        return key
    }

    /// A positive integer key on a different shard than `key`.
    static func key(awayFrom key: Int64) -> Int64 {
        var other = key + 1
        while shard(other) == shard(key) { other += 1 }
        return other
    }

    /// A positive integer key other than `key` on the same shard.
    static func key(besides key: Int64) -> Int64 {
        self.key(onShard: shard(key), after: key)
    }

    static func route(_ sql: String, router: Router = router) -> Route? {
        guard case .statements(let statements) = router.route(sql), statements.count == 1 else { return nil }
        return statements[0].route
    }
}

/// What a routing test expects of one statement.
enum Expected {
    case route(Route)
    /// A refusal with this SQLSTATE whose message contains the text.
    case refuse(String, String)

    static func refused(_ messagePart: String) -> Expected { .refuse("0A000", messagePart) }
}

/// Routes `sql` (one statement) and checks the outcome.
func assertRoute(_ sql: String, _ expected: Expected, router: Router = Fixture.router, file: StaticString = #filePath, line: UInt = #line) {
    let outcome = router.route(sql)
    guard case .statements(let statements) = outcome, statements.count == 1 else {
        XCTFail("expected one statement, got \(outcome) for: \(sql)", file: file, line: line)
        return
    }
    let route = statements[0].route
    switch expected {
    case .route(let want):
        XCTAssertEqual(route, want, "for: \(sql)", file: file, line: line)
    case .refuse(let state, let messagePart):
        guard case .refuse(let error) = route else {
            XCTFail("expected refusal containing \"\(messagePart)\", got \(route) for: \(sql)", file: file, line: line)
            return
        }
        XCTAssertEqual(error.sqlState, state, "for: \(sql)", file: file, line: line)
        XCTAssertTrue(error.message.contains(messagePart), "message \"\(error.message)\" lacks \"\(messagePart)\" for: \(sql)", file: file, line: line)
        XCTAssertNotNil(error.hint, "refusal without hint for: \(sql)", file: file, line: line)
    }
}
