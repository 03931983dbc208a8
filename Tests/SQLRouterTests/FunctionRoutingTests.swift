import Sharding
import XCTest

@testable import SQLRouter

/// Routing under the sharding functions other than hash, and composite keys.
final class FunctionRoutingTests: XCTestCase {
    private static let months = RangeShardingFunction(rules: [
        .init(lower: nil, upper: ShardKeyType.date.parse("2025-01-01"), shard: 0),
        .init(lower: ShardKeyType.date.parse("2025-01-01"), upper: ShardKeyType.date.parse("2025-07-01"), shard: 1),
        .init(lower: ShardKeyType.date.parse("2025-07-01"), upper: nil, shard: 2),
    ], defaultShard: nil)
    private static let regions = ListShardingFunction(shardOf: [.text("eu"): 1, .text("us"): 3], defaultShard: nil)
    /// eu = s0, s1; us = s2, s3; acme in eu, others by default in us.
    private static let groups = GroupShardingFunction(groups: [[0, 1], [2, 3]], groupOf: [.text("acme"): 0], defaultGroup: 1)
    private static let router = Router(schema: ShardingSchema(shardCount: 4, tables: [
        "events": .sharded(keyColumn: "day", keyType: .date, function: ShardingFunction(.range(months), shardCount: 4)),
        "visits": .sharded(keyColumn: "day", keyType: .date, function: ShardingFunction(.range(months), shardCount: 4)),
        "amounts": .sharded(keyColumn: "amount", keyType: .numeric, function: ShardingFunction(.range(RangeShardingFunction(rules: [
            .init(lower: nil, upper: .numeric(DecimalValue("10.5")!), shard: 0), .init(lower: .numeric(DecimalValue("10.5")!), upper: nil, shard: 3),
        ], defaultShard: nil)), shardCount: 4)),
        "regions": .sharded(keyColumn: "code", keyType: .text, function: ShardingFunction(.list(regions), shardCount: 4)),
        "tenants": .sharded(ShardedTable(keyColumns: ["tenant", "id"], keyTypes: [.text, .bigint], function: .hash(shardCount: 4))),
        "legacy": .sharded(keyColumn: "id", keyType: .bigint, function: ShardingFunction(.moduloMD5(ModuloMD5ShardingFunction(shardCount: 4)), shardCount: 4)),
        "items": .sharded(ShardedTable(keyColumns: ["tenant", "id"], keyTypes: [.text, .bigint], function: ShardingFunction(.group(groups), shardCount: 4))),
    ]))

    private func route(_ sql: String) -> Route? { Fixture.route(sql, router: Self.router) }

    func testRangeConditionsNarrowToIntersectingShards() {
        let cases: [(String, Route)] = [
            ("SELECT * FROM events WHERE day = '2025-03-01'", .shard(1)),
            ("SELECT * FROM events WHERE day = DATE '2025-08-01'", .shard(2)),
            ("SELECT * FROM events WHERE day BETWEEN '2025-02-01' AND '2025-06-30'", .shard(1)),
            ("SELECT * FROM events WHERE day BETWEEN '2024-12-01' AND '2025-01-01'", .scatter([0, 1], .read)),
            ("SELECT * FROM events WHERE day >= '2025-07-01'", .shard(2)),
            ("SELECT * FROM events WHERE day < '2025-01-01'", .shard(0)),
            ("SELECT * FROM events WHERE day <= '2025-01-01'", .scatter([0, 1], .read)),
            ("SELECT * FROM events WHERE '2025-07-01' > day AND day > '2025-01-01'", .shard(1)),
            ("SELECT * FROM events WHERE day > '2025-03-01' OR day = '2024-05-05'", .scatter([0, 1, 2], .read)),
            ("SELECT * FROM events WHERE day >= '2025-03-01' AND day < '2025-02-01'", .shard(1)),
            ("SELECT * FROM events WHERE day > now()", .scatter([0, 1, 2], .read)),
            ("INSERT INTO events (day) VALUES ('2024-01-01')", .shard(0)),
            ("UPDATE events SET note = 'x' WHERE day BETWEEN '2025-01-01' AND '2025-12-31'", .scatter([1, 2], .write)),
            // Co-located range tables join on the key.
            ("SELECT * FROM events e JOIN visits v ON v.day = e.day WHERE e.day = '2025-09-09'", .shard(2)),
            ("SELECT * FROM amounts WHERE amount < 10.5", .shard(0)),
            ("SELECT * FROM amounts WHERE amount >= 10.50", .shard(3)),
            ("SELECT * FROM amounts WHERE amount = 7", .shard(0)),
        ]
        for (sql, expected) in cases { XCTAssertEqual(route(sql), expected, sql) }
    }

    func testListAndNoRuleErrors() {
        XCTAssertEqual(route("SELECT * FROM regions WHERE code IN ('eu', 'us')"), .scatter([1, 3], .read))
        XCTAssertEqual(route("SELECT * FROM regions"), .scatter([1, 3], .read))
        guard case .refuse(let error)? = route("INSERT INTO regions (code) VALUES ('jp')") else { return XCTFail() }
        XCTAssertEqual(error.sqlState, "23514")
        XCTAssertEqual(error.message, "no shard of table regions accepts code = 'jp' (sharding function list)")
        XCTAssertNotNil(error.hint)
        guard case .refuse(let missing)? = route("INSERT INTO events (day) VALUES (NULL)") else { return XCTFail() }
        XCTAssertEqual(missing.sqlState, "23514")
        // An unreadable date form (PostgreSQL may accept it) is not an error: it does not narrow.
        XCTAssertEqual(route("SELECT * FROM events WHERE day = 'today'"), .scatter([0, 1, 2], .read))
    }

    func testCompositeKeysNeedEveryColumn() {
        let hash = HashShardingFunction(shardCount: 4)
        let a = hash.shardIndex(for: [.text("acme"), .integer(7)])
        XCTAssertEqual(route("SELECT * FROM tenants WHERE tenant = 'acme' AND id = 7"), .shard(a))
        XCTAssertEqual(route("INSERT INTO tenants (id, tenant) VALUES (7, 'acme')"), .shard(a))
        XCTAssertEqual(route("SELECT * FROM tenants WHERE tenant = 'acme'"), .scatter([0, 1, 2, 3], .read))
        let b = hash.shardIndex(for: [.text("acme"), .integer(8)])
        XCTAssertEqual(route("SELECT * FROM tenants WHERE tenant = 'acme' AND id IN (7, 8)"), a == b ? .shard(a) : .scatter([a, b].sorted(), .read))
        guard case .refuse(let error)? = route("INSERT INTO tenants (tenant) VALUES ('acme')") else { return XCTFail() }
        XCTAssertTrue(error.message.contains("\"id\""), error.message)
        guard case .refuse(let update)? = route("UPDATE tenants SET id = 1 WHERE tenant = 'a' AND id = 2") else { return XCTFail() }
        XCTAssertTrue(update.message.contains("shard key \"id\""), update.message)
    }

    func testShardGroupsKeepATenantInsideItsGroup() {
        let inside = HashShardingFunction(shardCount: 2)
        XCTAssertEqual(route("SELECT * FROM items WHERE tenant = 'acme'"), .scatter([0, 1], .read))
        XCTAssertEqual(route("SELECT * FROM items WHERE tenant = 'globex'"), .scatter([2, 3], .read))
        XCTAssertEqual(route("SELECT * FROM items WHERE tenant = 'acme' AND id = 5"), .shard(inside.shardIndex(for: [.integer(5)])))
        XCTAssertEqual(route("SELECT * FROM items WHERE tenant = 'globex' AND id = 5"), .shard(2 + inside.shardIndex(for: [.integer(5)])))
        XCTAssertEqual(route("INSERT INTO items (tenant, id) VALUES ('acme', 7)"), .shard(inside.shardIndex(for: [.integer(7)])))
        XCTAssertEqual(route("SELECT * FROM items WHERE id = 5"), .scatter([0, 1, 2, 3], .read))
        let hashed = GroupShardingFunction(groups: [[0], [1, 2]], groupOf: nil, defaultGroup: nil)
        let function = ShardingFunction(.group(hashed), shardCount: 3)
        let group = HashShardingFunction(shardCount: 2).shardIndex(for: [.text("t1")])
        XCTAssertEqual(try function.shards(for: [.values([.text("t1")])]).get(), Set(hashed.groups[group]))
    }

    func testModuloMD5Keys() {
        XCTAssertEqual(route("SELECT * FROM legacy WHERE id = 42"), .shard(0))
        XCTAssertEqual(route("SELECT * FROM legacy WHERE id BETWEEN 1 AND 2"), .scatter([0, 1, 2, 3], .read))
    }
}
