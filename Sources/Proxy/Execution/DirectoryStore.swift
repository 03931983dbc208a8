import Backend
import Foundation
import Sharding
import SQLRouter

/// The `directory` sharding function's store: `pgshard_directory (directory, key, shard)` in a
/// PostgreSQL database, with a bounded cache of known keys in front.
///
/// Lookups run on the caller's thread (a session's event loop) and take one round trip on a
/// miss; one connection serves all, under a lock. A new key (written by an INSERT) goes to the
/// shard with the fewest keys per unit of weight (counts read once per directory, then kept up
/// to date here) and is recorded with `INSERT … ON CONFLICT DO NOTHING`, so concurrent pgshard
/// instances agree on the first assignment.
final class DirectoryStore: DirectoryLookup, @unchecked Sendable {
    private let conninfo: String
    private let shardNames: [String]
    private let weights: [Int]
    private let timeout: Int
    private let cache: LRUCache<String, Int>
    private let lock = NSLock()
    private var connection: BlockingConnection?
    private var prepared = false
    /// Keys per shard, by directory, once loaded.
    private var counts: [String: [Int]] = [:]

    init(conninfo: String, shardNames: [String], weights: [Int], cacheSize: Int, timeout: Int) {
        self.conninfo = conninfo
        self.shardNames = shardNames
        self.weights = weights
        self.cache = LRUCache(capacity: cacheSize)
        self.timeout = timeout
    }

    func shard(directory: String, key: String, assign: Bool) throws(DirectoryError) -> Int? {
        let cacheKey = directory + "\u{0}" + key
        if let shard = cache.value(for: cacheKey) { return shard }
        lock.lock()
        defer { lock.unlock() }
        do {
            let connection = try open()
            var shard = try lookup(directory, key, connection)
            if shard == nil, assign {
                shard = try record(directory, key, connection)
            }
            if let shard { cache.insert(shard, for: cacheKey) }
            return shard
        } catch {
            // The next call reconnects.
            self.connection = nil
            throw error
        }
    }

    private func open() throws(DirectoryError) -> BlockingConnection {
        if let connection { return connection }
        let opened: BlockingConnection
        do {
            opened = try BlockingConnection(conninfo: conninfo, timeout: timeout)
        } catch {
            throw DirectoryError("cannot connect: \(error)")
        }
        if !prepared {
            try run(opened, """
                CREATE TABLE IF NOT EXISTS pgshard_directory (
                    directory text NOT NULL, key text NOT NULL, shard text NOT NULL, PRIMARY KEY (directory, key))
                """)
            prepared = true
        }
        connection = opened
        return opened
    }

    private func lookup(_ directory: String, _ key: String, _ connection: BlockingConnection) throws(DirectoryError) -> Int? {
        let rows = try run(connection, "SELECT shard FROM pgshard_directory WHERE directory = $1 AND key = $2", [directory, key])
        return try rows.first.map { row throws(DirectoryError) in try index(of: row[0]) }
    }

    private func record(_ directory: String, _ key: String, _ connection: BlockingConnection) throws(DirectoryError) -> Int {
        var loads: [Int]
        if let known = counts[directory] {
            loads = known
        } else {
            loads = Array(repeating: 0, count: shardNames.count)
            for row in try run(connection, "SELECT shard, count(*) FROM pgshard_directory WHERE directory = $1 GROUP BY shard", [directory]) {
                if let name = row[0], let position = shardNames.firstIndex(of: name) { loads[position] = Int(row[1] ?? "0") ?? 0 }
            }
        }
        // Fewest keys per unit of weight; ties to the first shard.
        let chosen = loads.indices.min { a, b in
            loads[a] * max(1, weights[b]) < loads[b] * max(1, weights[a])
        } ?? 0
        let inserted = try run(connection, """
            INSERT INTO pgshard_directory (directory, key, shard) VALUES ($1, $2, $3)
            ON CONFLICT (directory, key) DO NOTHING RETURNING shard
            """, [directory, key, shardNames[chosen]])
        let shard: Int
        if inserted.isEmpty {
            // Another pgshard recorded it first: its choice stands.
            guard let existing = try lookup(directory, key, connection) else { throw DirectoryError("key vanished from the directory") }
            shard = existing
        } else {
            shard = chosen
        }
        loads[shard] += 1
        counts[directory] = loads
        return shard
    }

    private func index(of name: String?) throws(DirectoryError) -> Int {
        guard let name, let position = shardNames.firstIndex(of: name) else {
            throw DirectoryError("the directory names shard \"\(name ?? "NULL")\", which is not in the configuration")
        }
        return position
    }

    @discardableResult
    private func run(_ connection: BlockingConnection, _ sql: String, _ parameters: [String] = []) throws(DirectoryError) -> [[String?]] {
        do {
            return try connection.query(sql, parameters: parameters.map { Array($0.utf8) })
        } catch {
            throw DirectoryError("\(error)")
        }
    }
}
