import Foundation

/// One result slot per parallel task, each written once under a lock.
///
/// `@unchecked Sendable`: `slots` is only touched while `lock` is held.
final class ResultSlots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, any Error>?]

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    subscript(index: Int) -> Result<Value, any Error>? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return slots[index]
        }
        set {
            lock.lock()
            defer { lock.unlock() }
            slots[index] = newValue
        }
    }

    /// Every slot; call after all tasks finished.
    var all: [Result<Value, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
