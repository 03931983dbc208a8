import Backend
import Foundation

/// Whether each shard's database collation orders text as bytes ("C", "POSIX", "C.UTF-8"):
/// only then can the merge order text the way the shards do. Read once per shard, in the
/// background (at start, and again when a merge finds a shard not known yet).
final class ShardCollations: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var byteOrder: [Int: Bool] = [:]
    private var probing = false
    private let conninfos: [String]
    private let timeout: Int

    init(conninfos: [String], timeout: Int) {
        self.conninfos = conninfos
        self.timeout = timeout
    }

    /// True when every shard of `shards` is known to sort text as bytes. Unknown shards count
    /// as not (the merge then refuses to order text) and are probed.
    func textIsBytes(_ shards: [Int]) -> Bool {
        textOrder(shards) == .bytes
    }

    enum TextOrder { case bytes, other, unknown }

    /// How the shards of `shards` order text: all as bytes, some not, or not known yet (then
    /// probed).
    func textOrder(_ shards: [Int]) -> TextOrder {
        let known = lock.withLock { shards.map { byteOrder[$0] } }
        if known.contains(where: { $0 == nil }) { probe() }
        if known.allSatisfy({ $0 == true }) { return .bytes }
        return known.contains { $0 == false } ? .other : .unknown
    }

    /// Reads the collation of every shard not known yet, on a background thread.
    func probe() {
        let start = lock.withLock { () -> Bool in
            guard !probing else { return false }
            probing = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in
            read()
            lock.withLock { probing = false }
        }
        thread.start()
    }

    /// Reads the collation of every shard not known yet, on the caller's thread (at start,
    /// before clients are accepted, so that their first ordered merges need not wait).
    func read() {
        for (index, conninfo) in conninfos.enumerated() where lock.withLock({ byteOrder[index] == nil }) {
            guard let connection = try? BlockingConnection(conninfo: conninfo, timeout: timeout),
                  let rows = try? connection.query("SELECT datcollate FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()"),
                  let collation = rows.first?.first ?? nil
            else { continue }
            lock.withLock { byteOrder[index] = Self.isByteOrder(collation) }
        }
    }

    static func isByteOrder(_ collation: String) -> Bool {
        ["c", "posix", "c.utf-8", "c.utf8"].contains(collation.lowercased())
    }
}
