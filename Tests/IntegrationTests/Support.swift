import LocalCluster
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
