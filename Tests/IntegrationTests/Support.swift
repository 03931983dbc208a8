import LocalCluster
import Sharding

enum LocalClusterPort {
    /// A port nothing listens on.
    static func unused() throws -> Int { try LocalCluster.freePort() }
}

enum HashPlacement {
    static func shard(of key: Int, shardCount: Int) -> Int {
        HashShardingFunction(shardCount: shardCount).shardIndex(for: [.integer(Int64(key))])
    }
}
