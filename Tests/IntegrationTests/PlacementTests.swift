import Backend
import XCTest

/// Rows inserted through pgshard land where PostgreSQL's own hash partitioning puts them.
final class PlacementTests: XCTestCase {
    /// For each key, the partition (0..<4) PostgreSQL's `PARTITION BY HASH` picks on the
    /// reference server, read back through `tableoid`.
    private func partitions(type: String, keys: [String], on reference: BlockingConnection, table: String) throws -> [String: Int] {
        try reference.query("DROP TABLE IF EXISTS \(table) CASCADE")
        try reference.query("CREATE TABLE \(table) (k \(type)) PARTITION BY HASH (k)")
        for r in 0..<4 {
            try reference.query("CREATE TABLE \(table)_\(r) PARTITION OF \(table) FOR VALUES WITH (MODULUS 4, REMAINDER \(r))")
        }
        try reference.query("INSERT INTO \(table) VALUES " + keys.map { "('\($0)')" }.joined(separator: ","))
        var result: [String: Int] = [:]
        for row in try reference.query("SELECT k::text, tableoid::regclass::text FROM \(table)") {
            result[row[0]!] = Int(row[1]!.split(separator: "_").last!)!
        }
        return result
    }

    func testThousandBigintUsersLandWherePartitionByHashPutsThem() throws {
        let cluster = try TestCluster.shared()
        let proxy = try cluster.proxyConnection()
        for id in 1...1000 {
            try proxy.query("INSERT INTO users (id, name) VALUES (\(id), 'user \(id)')")
        }
        let expected = try partitions(type: "bigint", keys: (1...1000).map(String.init), on: cluster.referenceConnection(), table: "placement_users")
        let actual = try cluster.placement(table: "users", column: "id").filter { Int($0.key)! <= 1000 }
        XCTAssertEqual(actual.count, 1000)
        XCTAssertEqual(actual, expected)
        // Every shard got some rows.
        XCTAssertEqual(Set(actual.values), [0, 1, 2, 3])
        // Point lookups through the proxy find each row.
        for id in [1, 2, 3, 500, 999, 1000] {
            XCTAssertEqual(try proxy.query("SELECT name FROM users WHERE id = \(id)"), [["user \(id)"]])
        }
    }

    func testTextAndUUIDKeysLandWherePartitionByHashPutsThem() throws {
        let cluster = try TestCluster.shared()
        let proxy = try cluster.proxyConnection()
        let names = (0..<200).map { "name-\($0)-é日本" } + ["", " ", "a'b"]
        for name in names {
            let literal = name.replacingOccurrences(of: "'", with: "''")
            try proxy.query("INSERT INTO accounts (name, balance) VALUES ('\(literal)', 1) ON CONFLICT DO NOTHING")
        }
        let expectedText = try partitions(type: "text", keys: names.map { $0.replacingOccurrences(of: "'", with: "''") },
                                          on: cluster.referenceConnection(), table: "placement_accounts")
        XCTAssertEqual(try cluster.placement(table: "accounts", column: "name"), expectedText)

        let uuids = (0..<200).map { _ in UUID().uuidString.lowercased() }
        for uid in uuids {
            try proxy.query("INSERT INTO devices (uid, label) VALUES ('\(uid)', 'd')")
        }
        let expectedUUID = try partitions(type: "uuid", keys: uuids, on: cluster.referenceConnection(), table: "placement_devices")
        let actualUUID = try cluster.placement(table: "devices", column: "uid").filter { uuids.contains($0.key) }
        XCTAssertEqual(actualUUID, expectedUUID)
    }
}
