import Foundation

/// A bounded least-recently-used map (plans by statement shape, directory entries), safe to
/// share between threads (one lock; a hit costs a hash lookup and two list links).
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private struct Entry {
        var key: Key
        var value: Value
        var newer: Int
        var older: Int
    }

    public let capacity: Int
    private let lock = NSLock()
    private var index: [Key: Int] = [:]
    private var entries: [Entry] = []
    private var newest = -1
    private var oldest = -1
    private(set) var hits = 0
    private(set) var misses = 0
    private(set) var evictions = 0

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The value for `key`, now the most recently used. `counting` false leaves the hit and
    /// miss counters to the caller (``countHit()``): a lookup that may be repeated by another
    /// path counts once.
    public func value(for key: Key, counting: Bool = true) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        guard let slot = index[key] else {
            if counting { misses += 1 }
            return nil
        }
        if counting { hits += 1 }
        moveToFront(slot)
        return entries[slot].value
    }

    public func insert(_ value: Value, for key: Key) {
        guard capacity > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        if let slot = index[key] {
            entries[slot].value = value
            moveToFront(slot)
            return
        }
        let slot: Int
        if entries.count < capacity {
            entries.append(Entry(key: key, value: value, newer: -1, older: -1))
            slot = entries.count - 1
        } else {
            // Reuse the least recently used entry.
            slot = oldest
            unlink(slot)
            index[entries[slot].key] = nil
            entries[slot].key = key
            entries[slot].value = value
            evictions += 1
        }
        index[key] = slot
        linkAtFront(slot)
    }

    /// Counts a hit found with `counting: false`.
    public func countHit() {
        lock.withLock { hits += 1 }
    }

    /// Counters for metrics: hits, misses, evictions, entries.
    public var statistics: (hits: Int, misses: Int, evictions: Int, count: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (hits, misses, evictions, index.count)
    }

    private func moveToFront(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    private func unlink(_ slot: Int) {
        let newer = entries[slot].newer, older = entries[slot].older
        if newer >= 0 { entries[newer].older = older } else { newest = older }
        if older >= 0 { entries[older].newer = newer } else { oldest = newer }
        entries[slot].newer = -1
        entries[slot].older = -1
    }

    private func linkAtFront(_ slot: Int) {
        entries[slot].older = newest
        entries[slot].newer = -1
        if newest >= 0 { entries[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
