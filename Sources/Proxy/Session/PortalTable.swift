/// The client's portals by name. The unnamed portal, which nearly every Bind creates, has a
/// place of its own: no hashing, and no table storage to make again after each Sync.
struct PortalTable {
    private var unnamed: ClientPortal?
    private var named: [String: ClientPortal] = [:]

    subscript(name: String) -> ClientPortal? {
        get { name.isEmpty ? unnamed : named[name] }
        set {
            if name.isEmpty {
                unnamed = newValue
            } else {
                named[name] = newValue
            }
        }
    }

    mutating func removeValue(forKey name: String) -> ClientPortal? {
        guard !name.isEmpty else {
            defer { unnamed = nil }
            return unnamed
        }
        return named.removeValue(forKey: name)
    }

    mutating func removeAll() {
        unnamed = nil
        if !named.isEmpty { named.removeAll() }
    }

    /// Closes every portal but the one named `kept`.
    mutating func removeAll(except kept: String) {
        let portal = self[kept]
        removeAll()
        self[kept] = portal
    }
}
