@testable import Proxy
import SQLRouter
import XCTest

/// The portal table keeps the unnamed portal's object when it closes and fills it again at the
/// next Bind: only when nothing else holds it, and with nothing left of its last use.
final class PortalTableTests: XCTestCase {
    private func statement(_ sql: String) -> ClientStatement {
        ClientStatement(sql: sql, parameterTypes: [], routed: nil, parameterized: nil, backendName: "", routingContext: RoutingContext())
    }

    func testClosedUnnamedPortalIsGoneButItsObjectIsFilledAgain() throws {
        var portals = PortalTable()
        let first = statement("SELECT 1"), second = statement("SELECT 2")
        portals.open(name: "", statement: first, route: .shard(1), links: [], mode: .single)
        let id: ObjectIdentifier
        do {
            let portal = try XCTUnwrap(portals[""])
            id = ObjectIdentifier(portal)
            portal.cursor = 2
            portal.rowsInCall = 5
            portal.mergeDescribed = true
            portal.mergeEnded = [0]
            portal.resultFormats = [1]
        }
        portals.removeAll()
        XCTAssertNil(portals[""])
        XCTAssertNil(portals.removeValue(forKey: ""))

        portals.open(name: "", statement: second, route: .shard(0), links: [], mode: .concatenate)
        let again = try XCTUnwrap(portals[""])
        XCTAssertEqual(ObjectIdentifier(again), id)
        XCTAssertTrue(again.statement === second)
        XCTAssertEqual(again.route, .shard(0))
        XCTAssertEqual(again.mode, .concatenate)
        XCTAssertEqual(again.cursor, 0)
        XCTAssertEqual(again.rowsInCall, 0)
        XCTAssertFalse(again.mergeDescribed)
        XCTAssertEqual(again.mergeEnded, [])
        XCTAssertEqual(again.resultFormats, [])
        XCTAssertNil(again.merger)
        XCTAssertNil(again.shardedFetch)
    }

    func testPortalHeldElsewhereIsNotReused() throws {
        var portals = PortalTable()
        portals.open(name: "", statement: statement("SELECT 1"), route: .shard(1), links: [], mode: .single)
        // An owed answer of the batch still holds it (an Execute not yet answered).
        let held = try XCTUnwrap(portals[""])
        held.cursor = 1
        portals.open(name: "", statement: statement("SELECT 2"), route: .shard(0), links: [], mode: .single)
        let replacement = try XCTUnwrap(portals[""])
        XCTAssertFalse(replacement === held)
        XCTAssertEqual(held.route, .shard(1))
        XCTAssertEqual(held.cursor, 1)
        XCTAssertEqual(replacement.route, .shard(0))
    }

    func testOpenUnnamedPortalNothingElseHoldsIsReplacedInPlace() throws {
        var portals = PortalTable()
        portals.open(name: "", statement: statement("SELECT 1"), route: .shard(1), links: [], mode: .single)
        let id = try ObjectIdentifier(XCTUnwrap(portals[""]))
        portals.open(name: "", statement: statement("SELECT 2"), route: .anyShard, links: [], mode: .single)
        XCTAssertEqual(try ObjectIdentifier(XCTUnwrap(portals[""])), id)
        XCTAssertEqual(portals[""]?.route, .anyShard)
    }

    func testClosingTheUnnamedPortalReturnsIt() throws {
        var portals = PortalTable()
        portals.open(name: "", statement: statement("SELECT 1"), route: .shard(1), links: [], mode: .single)
        let closed = try XCTUnwrap(portals.removeValue(forKey: ""))
        XCTAssertEqual(closed.route, .shard(1))
        XCTAssertNil(portals[""])
        portals[""] = ClientPortal(name: "", statement: statement("SELECT 3"), route: .anyShard, links: [], mode: .single)
        XCTAssertEqual(portals[""]?.route, .anyShard)
        portals[""] = nil
        XCTAssertNil(portals[""])
    }

    func testNamedPortalsAreAlwaysNew() throws {
        var portals = PortalTable()
        portals.open(name: "p", statement: statement("SELECT 1"), route: .shard(1), links: [], mode: .single)
        let first = try XCTUnwrap(portals["p"])
        XCTAssertNil(portals[""])
        XCTAssertTrue(portals.removeValue(forKey: "p") === first)
        portals.open(name: "p", statement: statement("SELECT 2"), route: .shard(0), links: [], mode: .single)
        XCTAssertFalse(try XCTUnwrap(portals["p"]) === first)
    }

    func testRemoveAllExceptKeepsTheUnnamedPortalOpen() throws {
        var portals = PortalTable()
        portals.open(name: "", statement: statement("CLOSE ALL"), route: .anyShard, links: [], mode: .single)
        portals.open(name: "p", statement: statement("SELECT 1"), route: .shard(1), links: [], mode: .single)
        portals.removeAll(except: "")
        XCTAssertNotNil(portals[""])
        XCTAssertNil(portals["p"])
    }
}
