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
        XCTAssertEqual(merge.rowArrived(fromShard: 1).description, true)
        XCTAssertEqual(merge.rowArrived(fromShard: 0).description, false)
        XCTAssertEqual(merge.rowArrived(fromShard: 0).row, true)
        XCTAssertNil(merge.completed(fromShard: 0, tag: CommandTag("SELECT 2")))
        XCTAssertNil(merge.completed(fromShard: 1, tag: CommandTag("SELECT 1")))
        XCTAssertNil(merge.completed(fromShard: 2, tag: CommandTag("SELECT 0")))
        XCTAssertEqual(merge.finalTag().tag?.description, "SELECT 3")
    }

    func testFirstShardModeForwardsOnlyTheLeaderAndNoticesDisagreement() {
        var merge = FanOutMerge(mode: .firstShard, shards: [2, 0, 1])
        XCTAssertEqual(merge.rowArrived(fromShard: 1).row, false)
        XCTAssertEqual(merge.rowArrived(fromShard: 0).row, true)
        _ = merge.completed(fromShard: 0, tag: CommandTag("UPDATE 1"))
        _ = merge.completed(fromShard: 1, tag: CommandTag("UPDATE 1"))
        _ = merge.completed(fromShard: 2, tag: CommandTag("UPDATE 2"))
        XCTAssertEqual(merge.finalTag().tag?.description, "UPDATE 1")
        XCTAssertTrue(merge.finalTag().shardsDisagree)
    }

    func testSingleModeSendsADescriptionPerRowSetAndEveryTag() {
        var merge = FanOutMerge(mode: .single, shards: [3])
        XCTAssertEqual(merge.rowArrived(fromShard: 3).description, true)
        XCTAssertEqual(merge.rowArrived(fromShard: 3).description, false)
        XCTAssertEqual(merge.completed(fromShard: 3, tag: CommandTag("SELECT 2"))?.description, "SELECT 2")
        // The next statement of the message: a row set with no rows still gets its description.
        XCTAssertTrue(merge.owesRowDescription(fromShard: 3))
        merge.markRowDescriptionSent()
        XCTAssertEqual(merge.completed(fromShard: 3, tag: CommandTag("SELECT 0"))?.description, "SELECT 0")
        XCTAssertEqual(merge.rowArrived(fromShard: 3).description, true)
    }

    func testFirstErrorWinsAndStopsRows() {
        var merge = FanOutMerge(mode: .concatenate, shards: [0, 1])
        XCTAssertTrue(merge.errorArrived(fromShard: 1))
        XCTAssertFalse(merge.errorArrived(fromShard: 0))
        XCTAssertEqual(merge.rowArrived(fromShard: 0).row, false)
        XCTAssertTrue(merge.failed)
    }
}
