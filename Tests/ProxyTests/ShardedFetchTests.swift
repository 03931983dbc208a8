@testable import Proxy
import SQLRouter
import XCTest

/// FETCH across shards: which shard is asked for how many rows, step after step.
final class ShardedFetchTests: XCTestCase {
    func testCountStraddlingShardsContinuesOnTheNext() {
        var fetch = ShardedFetch(count: .rows(10), shardCount: 3, position: 0)
        XCTAssertEqual(fetch.statement(cursor: "c", isMove: false), "FETCH FORWARD 10 FROM \"c\"")
        XCTAssertTrue(fetch.shardAnswered(rows: 4))   // shard 0 had only 4 left
        XCTAssertEqual(fetch.position, 1)
        XCTAssertEqual(fetch.request, .rows(6))
        XCTAssertEqual(fetch.statement(cursor: "My \"C\"", isMove: true), "MOVE FORWARD 6 FROM \"My \"\"C\"\"\"")
        XCTAssertFalse(fetch.shardAnswered(rows: 6))  // shard 1 gave all: done, stays there
        XCTAssertEqual(fetch.position, 1)
        XCTAssertEqual(fetch.tag(isMove: false), "FETCH 10")
    }

    func testExactCountStaysOnTheShard() {
        var fetch = ShardedFetch(count: .rows(5), shardCount: 2, position: 0)
        XCTAssertFalse(fetch.shardAnswered(rows: 5))
        XCTAssertEqual(fetch.position, 0)
        // The next FETCH finds shard 0 empty and goes on.
        var next = ShardedFetch(count: .rows(5), shardCount: 2, position: fetch.position)
        XCTAssertTrue(next.shardAnswered(rows: 0))
        XCTAssertFalse(next.shardAnswered(rows: 3))
        XCTAssertEqual(next.tag(isMove: true), "MOVE 3")
    }

    func testAllReadsEveryShardLeft() {
        var fetch = ShardedFetch(count: .all, shardCount: 4, position: 1)
        XCTAssertEqual(fetch.statement(cursor: "c", isMove: false), "FETCH FORWARD ALL FROM \"c\"")
        XCTAssertTrue(fetch.shardAnswered(rows: 7))
        XCTAssertTrue(fetch.shardAnswered(rows: 0))
        XCTAssertFalse(fetch.shardAnswered(rows: 2))
        XCTAssertEqual(fetch.position, 3)
        XCTAssertEqual(fetch.tag(isMove: false), "FETCH 9")
    }

    func testAtTheEndAnswersNothing() {
        var fetch = ShardedFetch(count: .rows(3), shardCount: 2, position: 1)
        XCTAssertFalse(fetch.shardAnswered(rows: 0))
        XCTAssertEqual(fetch.tag(isMove: false), "FETCH 0")
        // A position past the end reads the last shard.
        XCTAssertEqual(ShardedFetch(count: .all, shardCount: 2, position: 5).position, 1)
    }
}
