import Sharding
import XCTest

@testable import SQLRouter

/// `COPY … FROM STDIN`: the plan the router makes, and what it refuses before any data.
final class CopyInRoutingTests: XCTestCase {
    private func plan(_ sql: String, file: StaticString = #filePath, line: UInt = #line) -> CopyInPlan? {
        guard case .copyIn(let plan)? = Fixture.route(sql) else {
            XCTFail("no COPY FROM plan for \(sql): \(String(describing: Fixture.route(sql)))", file: file, line: line)
            return nil
        }
        return plan
    }

    func testPlacementAndColumns() throws {
        let users = try XCTUnwrap(plan("COPY users (id, name) FROM STDIN"))
        guard case .sharded(let key, let shards) = users.target else { return XCTFail("\(users.target)") }
        XCTAssertEqual(key.keyColumns, ["id"])
        XCTAssertEqual(shards, [0, 1, 2, 3])
        XCTAssertEqual(users.columns, ["id", "name"])
        XCTAssertEqual(users.table, "users")
        XCTAssertEqual(users.qualifiedName, "\"users\"")
        XCTAssertEqual(users.options, CopyOptions(format: .text))
        XCTAssertNil(try XCTUnwrap(plan("COPY public.users FROM STDIN")).columns)
        XCTAssertEqual(try XCTUnwrap(plan("COPY public.users FROM STDIN")).qualifiedName, "\"public\".\"users\"")
        XCTAssertEqual(try XCTUnwrap(plan("COPY countries FROM STDIN")).target, .reference(shardCount: 4))
        XCTAssertEqual(try XCTUnwrap(plan("COPY audit_log FROM STDIN")).target, .pinned(2))
        XCTAssertEqual(try XCTUnwrap(plan("COPY audit_log FROM STDIN")).shards, [2])
        XCTAssertTrue(try XCTUnwrap(plan("COPY users FROM STDIN WHERE id > 3")).hasWhere)
    }

    func testOptionsInBothSyntaxes() throws {
        var csv = CopyOptions(format: .csv)
        csv.header = true
        csv.delimiter = UInt8(ascii: ";")
        csv.null = Array("NULL".utf8)
        XCTAssertEqual(plan("COPY users FROM STDIN (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL')")?.options, csv)
        XCTAssertEqual(plan("COPY users FROM STDIN WITH CSV HEADER DELIMITER ';' NULL 'NULL'")?.options, csv)
        XCTAssertEqual(plan("COPY users FROM STDIN (FORMAT csv, HEADER true, DELIMITER ';', NULL 'NULL')")?.options, csv)
        XCTAssertEqual(plan("COPY users FROM STDIN (FORMAT csv, HEADER match, DELIMITER ';', NULL 'NULL')")?.options, csv)
        XCTAssertEqual(plan("COPY users FROM STDIN (FORMAT csv, HEADER false)")?.options.header, false)
        XCTAssertEqual(plan("COPY users FROM STDIN (FORMAT csv, HEADER 0)")?.options.header, false)
        let quoted = try XCTUnwrap(plan("COPY users FROM STDIN (FORMAT csv, QUOTE '''', ESCAPE '\\', FORCE_NOT_NULL (name), FORCE_NULL (id))"))
        XCTAssertEqual(quoted.options.quote, UInt8(ascii: "'"))
        XCTAssertEqual(quoted.options.escape, UInt8(ascii: "\\"))
        XCTAssertEqual(quoted.options.forceNotNull, ["name"])
        XCTAssertEqual(quoted.options.forceNull, ["id"])
        XCTAssertEqual(plan("COPY users FROM STDIN WITH CSV QUOTE AS '|'")?.options.escape, UInt8(ascii: "|"))
        XCTAssertEqual(plan("COPY users FROM STDIN (FORMAT binary)")?.options.format, .binary)
        XCTAssertEqual(plan("COPY BINARY users FROM STDIN")?.options.format, .binary)
        XCTAssertEqual(plan("COPY users FROM STDIN (ENCODING 'latin1')")?.options.encoding, "LATIN1")
        XCTAssertEqual(plan("COPY users FROM STDIN (FREEZE)")?.options, CopyOptions(format: .text))
    }

    func testRefusals() {
        assertRoute("COPY users (name) FROM STDIN", .refused("without its shard key column id"))
        assertRoute("COPY users FROM '/tmp/users'", .refused("a file on the server"))
        assertRoute("COPY users FROM PROGRAM 'cat'", .refused("a file on the server"))
        assertRoute("COPY nope FROM STDIN", .refused("table \"nope\" is not known"))
        assertRoute("COPY pg_class FROM STDIN", .refuse("0A000", "pg_class"))
        assertRoute("COPY users FROM STDIN (FORMAT xml)", .refuse("22023", "COPY format \"xml\" not recognized"))
        assertRoute("COPY users FROM STDIN (DELIMITER '||')", .refuse("0A000", "COPY delimiter must be a single one-byte character"))
        assertRoute("COPY users FROM STDIN (DELIMITER E'\\n')", .refuse("22023", "COPY delimiter cannot be newline or carriage return"))
        assertRoute("COPY users FROM STDIN (FORMAT binary, HEADER)", .refuse("0A000", "cannot specify HEADER in BINARY mode"))
        assertRoute("COPY users FROM STDIN (QUOTE '\"')", .refuse("0A000", "COPY quote available only in CSV mode"))
        assertRoute("COPY users FROM STDIN (FORMAT csv, DELIMITER '\"')", .refuse("22023", "COPY delimiter and quote must be different"))
    }

    /// A routing hint does not move COPY rows: each goes where its key says.
    func testHintsDoNotApply() {
        if case .copyIn = Fixture.route("/* pgshard: shard=s1 */ COPY users FROM STDIN") {} else {
            XCTFail("\(String(describing: Fixture.route("/* pgshard: shard=s1 */ COPY users FROM STDIN")))")
        }
    }
}
