import Merge
import SQLRouter

/// The client's portals by name. The unnamed portal, which nearly every Bind creates, has a
/// place of its own: no hashing, and no table storage to make again after each Sync. Its
/// object is kept when it closes, and the next Bind of the unnamed portal fills it again if
/// nothing else holds it by then (an owed answer of its batch, a merge): no object to free and
/// make per statement.
struct PortalTable {
    private var unnamed: ClientPortal?
    /// `unnamed` is open; when false it is a closed portal kept to be filled again.
    private var unnamedIsOpen = false
    private var named: [String: ClientPortal] = [:]

    subscript(name: String) -> ClientPortal? {
        // (Inlined: Describe and Execute look up the unnamed portal for every statement.)
        @inline(__always) get { name.isEmpty ? (unnamedIsOpen ? unnamed : nil) : named[name] }
        set {
            if name.isEmpty {
                if let newValue { unnamed = newValue }
                unnamedIsOpen = newValue != nil
            } else {
                named[name] = newValue
            }
        }
    }

    /// Opens the portal a Bind creates (replacing an unnamed one that is open).
    mutating func open(name: String, statement: ClientStatement, route: Route, links: [ShardLink], mode: FanOutMode) {
        if name.isEmpty, isKnownUniquelyReferenced(&unnamed), let portal = unnamed {
            portal.reopen(statement: statement, route: route, links: links, mode: mode)
            unnamedIsOpen = true
            return
        }
        self[name] = ClientPortal(name: name, statement: statement, route: route, links: links, mode: mode)
    }

    mutating func removeValue(forKey name: String) -> ClientPortal? {
        guard !name.isEmpty else {
            defer { unnamedIsOpen = false }
            return self[name]
        }
        return named.removeValue(forKey: name)
    }

    mutating func removeAll() {
        unnamedIsOpen = false
        if !named.isEmpty { named.removeAll() }
    }

    /// Closes every portal but the one named `kept`.
    mutating func removeAll(except kept: String) {
        let portal = self[kept]
        removeAll()
        self[kept] = portal
    }
}
