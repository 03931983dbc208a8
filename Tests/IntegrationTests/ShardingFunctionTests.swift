import Backend
import Sharding
import XCTest

/// The sharding functions against a live PostgreSQL (the reference server computes what the
/// formulas say), and rows inserted through pgshard under each function.
final class ShardingFunctionTests: XCTestCase {
    var cluster: TestCluster!
    var proxy: BlockingConnection!

    override func setUpWithError() throws {
        cluster = try TestCluster.shared()
        proxy = try cluster.proxyConnection()
    }

    func testModuloMD5MatchesPostgresMD5() throws {
        let reference = try cluster.referenceConnection()
        let function = ModuloMD5ShardingFunction(shardCount: 4)
        let rows = try reference.query("SELECT k::text, ('x' || substr(md5(k::text), 1, 8))::bit(32)::bigint % 4 FROM generate_series(-50, 250) k")
        for row in rows {
            XCTAssertEqual(function.shard(for: .integer(Int64(row[0]!)!)), Int(row[1]!), "key \(row[0]!)")
        }
        let texts = try reference.query("SELECT s, ('x' || substr(md5(s), 1, 8))::bit(32)::bigint % 4 FROM (VALUES ('alice'), (''), ('héllo wörld'), ('a''b')) v(s)")
        for row in texts {
            XCTAssertEqual(function.shard(for: .text(row[0]!)), Int(row[1]!), "key \(row[0]!)")
        }
        for id in 910_001...910_040 {
            try proxy.query("INSERT INTO legacy (id, note) VALUES (\(id), 'l')")
        }
        for (key, shard) in try cluster.placement(table: "legacy", column: "id") {
            XCTAssertEqual(shard, function.shard(for: .integer(Int64(key)!)), "legacy \(key)")
        }
    }

    func testConsistentRingPositionsArePostgresHashes() throws {
        let reference = try cluster.referenceConnection()
        let nodes = try reference.query("SELECT 's1#' || i, hashtextextended('s1#' || i, 0) FROM generate_series(0, 20) i")
        for row in nodes {
            XCTAssertEqual(PostgresHash.hashTextExtended(row[0]!, seed: 0), UInt64(bitPattern: Int64(row[1]!)!), row[0]!)
        }
        let keys = try reference.query("SELECT k, hashint8extended(k, 0) FROM generate_series(-20, 20) k")
        for row in keys {
            XCTAssertEqual(ShardKeyValue.integer(Int64(row[0]!)!).hashExtended(seed: 0), UInt64(bitPattern: Int64(row[1]!)!))
        }
        for id in 911_001...911_040 {
            try proxy.query("INSERT INTO ringed (id, note) VALUES (\(id), 'r')")
        }
        let ring = ConsistentShardingFunction(names: ["s0", "s1", "s2", "s3"], weights: [1, 1, 1, 1], vnodes: 64)
        for (key, shard) in try cluster.placement(table: "ringed", column: "id") {
            XCTAssertEqual(shard, ring.shard(for: .integer(Int64(key)!)), "ringed \(key)")
        }
    }

    /// date and timestamp keys hash as PostgreSQL's PARTITION BY HASH does; so do composite keys.
    func testDateTimestampAndCompositeHashesMatchPartitionByHash() throws {
        let reference = try cluster.referenceConnection()
        let hash = HashShardingFunction(shardCount: 4)
        for (type, values) in [
            ("date", ["2024-02-29", "1999-12-31", "2000-01-01", "2025-06-30", "1970-01-01"]),
            ("timestamp", ["2024-02-29 13:45:01.5", "1999-12-31 23:59:59.999999", "2000-01-01 00:00:00"]),
        ] {
            try reference.query("DROP TABLE IF EXISTS hashed CASCADE; CREATE TABLE hashed (k \(type)) PARTITION BY HASH (k)")
            for r in 0..<4 { try reference.query("CREATE TABLE hashed_\(r) PARTITION OF hashed FOR VALUES WITH (MODULUS 4, REMAINDER \(r))") }
            try reference.query("INSERT INTO hashed VALUES " + values.map { "('\($0)')" }.joined(separator: ", "))
            for row in try reference.query("SELECT k::text, tableoid::regclass::text FROM hashed") {
                let value = ShardKeyType(sqlName: type)!.parse(row[0]!)
                XCTAssertNotNil(value, row[0]!)
                XCTAssertEqual(hash.shardIndex(for: [value]), Int(row[1]!.split(separator: "_").last!)!, "\(type) \(row[0]!)")
            }
        }
        try reference.query("DROP TABLE IF EXISTS hashed2 CASCADE; CREATE TABLE hashed2 (a text, b bigint) PARTITION BY HASH (a, b)")
        for r in 0..<4 { try reference.query("CREATE TABLE hashed2_\(r) PARTITION OF hashed2 FOR VALUES WITH (MODULUS 4, REMAINDER \(r))") }
        try reference.query("INSERT INTO hashed2 SELECT 't' || (i % 7), i FROM generate_series(1, 60) i")
        try reference.query("INSERT INTO hashed2 VALUES (NULL, 5), ('t1', NULL)")
        for row in try reference.query("SELECT a, b::text, tableoid::regclass::text FROM hashed2") {
            let key: [ShardKeyValue?] = [row[0].map { .text($0) }, row[1].map { .integer(Int64($0)!) }]
            XCTAssertEqual(hash.shardIndex(for: key), Int(row[2]!.split(separator: "_").last!)!, "\(row)")
        }
        // Through pgshard: a composite key routes by both columns.
        for i in 1...30 { try proxy.query("INSERT INTO tenants (tenant, id, note) VALUES ('t\(i % 3)', \(912_000 + i), 'x')") }
        for shard in 0..<4 {
            for row in try cluster.shardConnection(shard).query("SELECT tenant, id::text FROM tenants") {
                XCTAssertEqual(hash.shardIndex(for: [.text(row[0]!), .integer(Int64(row[1]!)!)]), shard, "\(row)")
            }
        }
        let one = try proxy.query("SELECT note FROM tenants WHERE tenant = 't1' AND id = 912001")
        XCTAssertEqual(one, [["x"]])
    }

    /// The directory function: new keys to the least-loaded shard, recorded; lookups route to
    /// the recorded shard; tables naming the same directory are co-located.
    func testDirectoryAssignsLeastLoadedShardsAndRoutesByTheRecord() throws {
        let ids = Array(913_001...913_020)
        for id in ids { try proxy.query("INSERT INTO members (id, name) VALUES (\(id), 'm\(id)')") }
        let placed = try cluster.placement(table: "members", column: "id")
        XCTAssertEqual(placed.count, 20)
        XCTAssertEqual(Dictionary(grouping: placed.values, by: { $0 }).mapValues(\.count), [0: 5, 1: 5, 2: 5, 3: 5])
        let recorded = try cluster.shardConnection(0).query("SELECT key, shard FROM pgshard_directory WHERE directory = 'members'")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: recorded.map { ($0[0]!, $0[1]!) }), placed.mapValues { "s\($0)" })
        for id in ids.prefix(5) {
            XCTAssertEqual(try proxy.query("SELECT name FROM members WHERE id = \(id)"), [["m\(id)"]])
            try proxy.query("INSERT INTO member_notes (member_id, note) VALUES (\(id), 'n')")
        }
        XCTAssertEqual(try cluster.placement(table: "member_notes", column: "member_id").mapValues { $0 },
                       placed.filter { ids.prefix(5).map(String.init).contains($0.key) })
        // Co-located: the join runs on the member's shard.
        let joined = try proxy.query("SELECT m.name, n.note FROM members m JOIN member_notes n ON n.member_id = m.id WHERE m.id = \(ids[0])")
        XCTAssertEqual(joined, [["m\(ids[0])", "n"]])
        // A key the directory does not know has no rows anywhere (and is not assigned by a read).
        XCTAssertEqual(try proxy.query("SELECT * FROM members WHERE id = 913999"), [])
        XCTAssertEqual(try cluster.shardConnection(0).query("SELECT count(*) FROM pgshard_directory WHERE key = '913999'"), [["0"]])
    }

    func testRangeAndListTablesPlaceAndNarrow() throws {
        for (day, note) in [("2024-12-31", "old"), ("2025-01-01", "h1"), ("2025-06-30", "h1"), ("2025-07-01", "h2"), ("2031-01-01", "h2")] {
            try proxy.query("INSERT INTO events (day, note) VALUES ('\(day)', '\(note)')")
        }
        let placed = try cluster.placement(table: "events", column: "day")
        XCTAssertEqual(placed, ["2024-12-31": 0, "2025-01-01": 1, "2025-06-30": 1, "2025-07-01": 2, "2031-01-01": 2])
        // BETWEEN reads only the shards whose ranges intersect.
        XCTAssertEqual(try proxy.query("SELECT note FROM events WHERE day BETWEEN '2025-02-01' AND '2025-06-30'"), [["h1"]])
        let explain = try proxy.query("EXPLAIN SELECT * FROM events WHERE day >= '2025-03-01' AND day < '2025-09-01'").map { $0[0] ?? "" }
        XCTAssertEqual(explain.first, "pgshard: runs on 2 of 4 shards (s1, s2) as a read", "\(explain)")

        try proxy.query("INSERT INTO regions (code, note) VALUES ('de', 'x'), ('us', 'y'), ('eu', 'z')")
        XCTAssertEqual(try cluster.placement(table: "regions", column: "code"), ["de": 1, "eu": 1, "us": 3])
        XCTAssertEqual(try proxy.query("SELECT note FROM regions WHERE code = 'us'"), [["y"]])
        // No rule and no default: an error naming table and value, never a broadcast.
        let error = XCTAssertSQLError("23514") { try proxy.query("INSERT INTO regions (code, note) VALUES ('jp', 'n')") }
        XCTAssertTrue(error?.message.contains("regions") == true && error?.message.contains("'jp'") == true, "\(String(describing: error))")
        XCTAssertSQLError("23514") { try proxy.query("SELECT * FROM regions WHERE code = 'jp'") }
    }
}
