import Merge
import XCTest

final class CommandTagTests: XCTestCase {
    func testParseAndPrint() {
        XCTAssertEqual(CommandTag("SELECT 3"), CommandTag(verb: "SELECT", rows: 3))
        XCTAssertEqual(CommandTag("INSERT 0 5").description, "INSERT 0 5")
        XCTAssertEqual(CommandTag("CREATE TABLE"), CommandTag(verb: "CREATE TABLE", rows: nil))
        XCTAssertEqual(CommandTag("UPDATE 0").description, "UPDATE 0")
    }

    func testSumsCountsOfOneVerb() {
        XCTAssertEqual(CommandTag.sum([CommandTag("UPDATE 3"), CommandTag("UPDATE 4")])?.description, "UPDATE 7")
        XCTAssertEqual(CommandTag.sum([CommandTag("INSERT 0 1"), CommandTag("INSERT 0 2")])?.description, "INSERT 0 3")
        XCTAssertNil(CommandTag.sum([CommandTag("UPDATE 3"), CommandTag("DELETE 4")]))
        XCTAssertNil(CommandTag.sum([]))
    }

    func testFanOutForwardsOneDescriptionAndSumsTags() {
        var merge = FanOutMerge(mode: .concatenate, shards: [0, 1, 2])
        XCTAssertTrue(merge.descriptionArrived(fromShard: 1))
        XCTAssertFalse(merge.descriptionArrived(fromShard: 0))
        XCTAssertTrue(merge.rowArrived(fromShard: 0))
        XCTAssertNil(merge.completed(fromShard: 0, tag: CommandTag("SELECT 2")))
        XCTAssertNil(merge.completed(fromShard: 1, tag: CommandTag("SELECT 1")))
        XCTAssertNil(merge.completed(fromShard: 2, tag: CommandTag("SELECT 0")))
        XCTAssertEqual(merge.finalTag().tag?.description, "SELECT 3")
    }

    func testFirstShardModeForwardsOnlyTheLeaderAndNoticesDisagreement() {
        var merge = FanOutMerge(mode: .firstShard, shards: [2, 0, 1])
        XCTAssertFalse(merge.descriptionArrived(fromShard: 1))
        XCTAssertTrue(merge.descriptionArrived(fromShard: 0))
        XCTAssertFalse(merge.rowArrived(fromShard: 1))
        XCTAssertTrue(merge.rowArrived(fromShard: 0))
        _ = merge.completed(fromShard: 0, tag: CommandTag("UPDATE 1"))
        _ = merge.completed(fromShard: 1, tag: CommandTag("UPDATE 1"))
        _ = merge.completed(fromShard: 2, tag: CommandTag("UPDATE 2"))
        XCTAssertEqual(merge.finalTag().tag?.description, "UPDATE 1")
        XCTAssertTrue(merge.finalTag().shardsDisagree)
    }

    func testSingleModeSendsADescriptionPerRowSetAndEveryTag() {
        var merge = FanOutMerge(mode: .single, shards: [3])
        XCTAssertTrue(merge.descriptionArrived(fromShard: 3))
        XCTAssertEqual(merge.completed(fromShard: 3, tag: CommandTag("SELECT 2"))?.description, "SELECT 2")
        // The next statement of the message has a row set of its own.
        XCTAssertTrue(merge.descriptionArrived(fromShard: 3))
    }

    func testFirstErrorWinsAndStopsRows() {
        var merge = FanOutMerge(mode: .concatenate, shards: [0, 1])
        XCTAssertTrue(merge.errorArrived(fromShard: 1))
        XCTAssertFalse(merge.errorArrived(fromShard: 0))
        XCTAssertFalse(merge.rowArrived(fromShard: 0))
        XCTAssertTrue(merge.failed)
    }
}
