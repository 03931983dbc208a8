import Foundation
@testable import Merge
import PGWire
import XCTest

/// Expected values come from PostgreSQL 15 (`SELECT avg(x), sum(x) FROM (VALUES …)`).
final class NumericTests: XCTestCase {
    private func average(_ values: [String]) -> String {
        var sum = PGNumeric(values[0])!
        for value in values.dropFirst() { sum = sum + PGNumeric(value)! }
        return sum.divided(by: Int64(values.count)).text
    }

    func testAverageUsesPostgresDivisionScale() {
        XCTAssertEqual(average(["200.50", "100.50", "300.50"]), "200.5000000000000000")
        XCTAssertEqual(average(["1000040", "1000061"]), "1000050.500000000000")
        XCTAssertEqual(average(["0.001", "0.002"]), "0.00150000000000000000")
        XCTAssertEqual(average(["123456789012"]), "123456789012.00000000")
        XCTAssertEqual(average(["-7", "2"]), "-2.5000000000000000")
        XCTAssertEqual(average(["99999999", "1"]), "50000000.000000000000")
        XCTAssertEqual(average(["0.00001234", "3"]), "1.5000061700000000")
        XCTAssertEqual(average(["1", "2", "2"]), "1.6666666666666667")
        XCTAssertEqual(average(["-0.5", "-0.25"]), "-0.37500000000000000000")
    }

    func testSumKeepsTheLargerScale() {
        XCTAssertEqual((PGNumeric("601.5")! + PGNumeric("-0.25")!).text, "601.25")
        XCTAssertEqual((PGNumeric("-1.00")! + PGNumeric("1")!).text, "0.00")
        XCTAssertEqual((PGNumeric("NaN")! + PGNumeric("1")!).text, "NaN")
        XCTAssertEqual((PGNumeric("Infinity")! + PGNumeric("-Infinity")!).text, "NaN")
        XCTAssertEqual(PGNumeric.compare(PGNumeric("1.50")!, PGNumeric("1.5")!), 0)
        XCTAssertEqual(PGNumeric.compare(PGNumeric("-2")!, PGNumeric("1")!), -1)
        XCTAssertEqual(PGNumeric.compare(PGNumeric("NaN")!, PGNumeric("Infinity")!), 1)
    }

    func testFloatTextMatchesFloat8Out() {
        XCTAssertEqual(FloatText.format(1e20), "1e+20")
        XCTAssertEqual(FloatText.format(2.5e19), "2.5e+19")
        XCTAssertEqual(FloatText.format(1e15), "1e+15")
        XCTAssertEqual(FloatText.format(1e14), "100000000000000")
        XCTAssertEqual(FloatText.format(123456789012345.6), "123456789012345.6")
        XCTAssertEqual(FloatText.format(0.0001), "0.0001")
        XCTAssertEqual(FloatText.format(0.00001), "1e-05")
        XCTAssertEqual(FloatText.format(1.5e300), "1.5e+300")
        XCTAssertEqual(FloatText.format(-3.75), "-3.75")
        XCTAssertEqual(FloatText.format(.nan), "NaN")
        XCTAssertEqual(FloatText.format(100, float4: true), "100")
        XCTAssertEqual(FloatText.format(1_000_000, float4: true), "1e+06")
        XCTAssertEqual(FloatText.format(123456, float4: true), "123456")
    }
}

final class RowMergerTests: XCTestCase {
    private func field(_ name: String, _ oid: UInt32) -> FieldDescription {
        FieldDescription(name: name, tableOID: 0, columnAttributeNumber: 0, dataTypeOID: oid, dataTypeSize: -1, typeModifier: -1, format: 0)
    }

    private func add(_ merger: RowMerger, _ stream: Int, _ values: [String?]) throws {
        let body = dataRowBody(values.map { $0.map { Array($0.utf8) } }[...])
        try body.withUnsafeBytes { try merger.add(stream: stream, row: $0) }
    }

    private func drain(_ merger: RowMerger) throws -> [[String?]] {
        var rows: [[String?]] = []
        while let body = try merger.nextRow() {
            let row = try body.withUnsafeBytes { try ShardRow($0) }
            rows.append((0..<row.starts.count).map { row.value($0).map { String(decoding: $0, as: UTF8.self) } })
        }
        return rows
    }

    func testOrderedMergeWaitsForEveryStreamAndAppliesOffsetAndLimit() throws {
        let plan = MergePlan(sql: "", order: [SortKey(column: 0, descending: true)], limit: RowLimit(count: .constant(3), offset: .constant(1)))
        let merger = RowMerger(plan: plan, streams: 2, maxMemory: 1 << 20, textIsBytes: true)
        XCTAssertNotNil(try merger.describe(stream: 0, fields: [field("x", 23)]))
        XCTAssertNil(try merger.describe(stream: 1, fields: [field("x", 23)]))
        try add(merger, 0, ["10"])
        try add(merger, 0, ["7"])
        XCTAssertEqual(try drain(merger), [], "stream 1 may still send a larger row")
        try add(merger, 1, [nil])  // DESC sorts NULLs first: skipped by OFFSET 1
        XCTAssertEqual(try drain(merger), [])
        try add(merger, 1, ["9"])
        XCTAssertEqual(try drain(merger), [["10"], ["9"]])
        try merger.finish(stream: 1)
        XCTAssertEqual(try drain(merger), [["7"]])
        XCTAssertTrue(merger.isSatisfied)
        try add(merger, 0, ["1"])
        XCTAssertEqual(try drain(merger), [])
    }

    func testNumericAndFloatOrderByValueNotText() throws {
        let plan = MergePlan(sql: "", order: [SortKey(column: 0), SortKey(column: 1)])
        let merger = RowMerger(plan: plan, streams: 2, maxMemory: 1 << 20, textIsBytes: true)
        _ = try merger.describe(stream: 0, fields: [field("n", 1700), field("f", 701)])
        for row in [["9.5", "NaN"], ["10", "-Infinity"], ["10", "2"]] { try add(merger, 0, row) }
        for row in [["9.50", "1e-05"], ["10.0", "Infinity"]] { try add(merger, 1, row) }
        try merger.finish(stream: 0)
        try merger.finish(stream: 1)
        let expected: [[String]] = [["9.50", "1e-05"], ["9.5", "NaN"], ["10", "-Infinity"], ["10", "2"], ["10.0", "Infinity"]]
        XCTAssertEqual(try drain(merger).map { $0.compactMap { $0 } }, expected)
    }

    func testAggregationCombinesPartialsPerGroupAndHidesColumns() throws {
        // Shard columns: [hidden key g, count, sum(int8 partial), avg sum, avg count, min(text)]
        let plan = MergePlan(
            sql: "", hiddenColumns: 1,
            aggregation: Aggregation(partials: [1: .count, 2: .sum, 3: .sum, 4: .count, 5: .min],
                                     columns: [.column(0), .column(1), .column(2), .average(sum: 3, count: 4), .column(5)]),
            order: [SortKey(column: 1, descending: true)])
        let merger = RowMerger(plan: plan, streams: 2, maxMemory: 1 << 20, textIsBytes: true)
        let fields = [field("g", 25), field("count", 20), field("sum", 20), field("avg", 20), field("__pgshard_1", 20), field("min", 25)]
        let client = try merger.describe(stream: 0, fields: fields)
        XCTAssertEqual(client?.map(\.name), ["count", "sum", "avg", "min"])
        XCTAssertEqual(client?.map(\.dataTypeOID), [20, 20, 1700, 25])
        try add(merger, 0, ["a", "2", "10", "10", "2", "m"])
        try add(merger, 0, ["b", "1", nil, nil, "0", nil])
        try add(merger, 1, ["a", "1", "-3", "-3", "1", "k"])
        try merger.finish(stream: 0)
        XCTAssertEqual(try drain(merger), [])
        try merger.finish(stream: 1)
        XCTAssertEqual(try drain(merger), [["3", "7", "2.3333333333333333", "k"], ["1", nil, nil, nil]])
    }

    func testCountDistinctFoldsTheShardsSubgroups() throws {
        // Shard columns: [g, x (the DISTINCT argument), count(*)]
        let plan = MergePlan(sql: "", aggregation: Aggregation(partials: [2: .count], columns: [.column(0), .countDistinct(1, name: "count"), .column(2)]),
                             order: [SortKey(column: 0)])
        let merger = RowMerger(plan: plan, streams: 2, maxMemory: 1 << 20, textIsBytes: true)
        let client = try merger.describe(stream: 0, fields: [field("g", 25), field("x", 1700), field("count", 20)])
        XCTAssertEqual(client?.map(\.dataTypeOID), [25, 20, 20])
        try add(merger, 0, ["a", "1.0", "2"])
        try add(merger, 0, ["a", nil, "1"])
        try add(merger, 1, ["a", "1.00", "4"])  // the same value as 1.0
        try add(merger, 1, ["a", "2", "1"])
        try add(merger, 1, ["b", nil, "3"])
        try merger.finish(stream: 0)
        try merger.finish(stream: 1)
        XCTAssertEqual(try drain(merger), [["a", "2", "8"], ["b", "0", "3"]])
    }

    func testNoRowAtAllStillAnswersOneRowWithoutGroupBy() throws {
        let plan = MergePlan(sql: "", aggregation: Aggregation(partials: [1: .count, 2: .sum], columns: [.countDistinct(0, name: "count"), .column(1), .column(2)],
                                                               implicitGroup: true))
        let merger = RowMerger(plan: plan, streams: 1, maxMemory: 1 << 20, textIsBytes: true)
        _ = try merger.describe(stream: 0, fields: [field("x", 23), field("count", 20), field("sum", 20)])
        try merger.finish(stream: 0)
        XCTAssertEqual(try drain(merger), [["0", "0", nil]])
    }

    func testDistinctTreatsEqualNumericsAsOneAndCountsMemory() throws {
        let merger = RowMerger(plan: MergePlan(sql: "", distinct: true), streams: 2, maxMemory: 1 << 20, textIsBytes: true)
        _ = try merger.describe(stream: 0, fields: [field("n", 1700)])
        try add(merger, 0, ["1.0"])
        try add(merger, 1, ["1.00"])
        try add(merger, 1, ["2"])
        XCTAssertEqual(try drain(merger).count, 2)

        let small = RowMerger(plan: MergePlan(sql: "", distinct: true), streams: 1, maxMemory: 200, textIsBytes: true)
        _ = try small.describe(stream: 0, fields: [field("n", 23)])
        XCTAssertThrowsError(try {
            for i in 0..<100 { try self.add(small, 0, [String(i)]) }
            _ = try self.drain(small)
        }()) { XCTAssertEqual($0 as? MergeError, .outOfMemory(limit: 200)) }
    }

    func testTextOrderNeedsByteOrderCollation() {
        let merger = RowMerger(plan: MergePlan(sql: "", order: [SortKey(column: 0)]), streams: 2, maxMemory: 1 << 20, textIsBytes: false)
        XCTAssertThrowsError(try merger.describe(stream: 0, fields: [field("name", 25)])) {
            XCTAssertEqual($0 as? MergeError, .collationOrder(column: "name"))
        }
    }

    func testCollateCOrdersTextAsBytesUnderAnyCollation() throws {
        let merger = RowMerger(plan: MergePlan(sql: "", order: [SortKey(column: 0, bytewise: true)]), streams: 2, maxMemory: 1 << 20, textIsBytes: false)
        XCTAssertNotNil(try merger.describe(stream: 0, fields: [field("name", 25)]))
        try add(merger, 0, ["B"])
        try add(merger, 1, ["a"])
        try merger.finish(stream: 0)
        try merger.finish(stream: 1)
        XCTAssertEqual(try drain(merger), [["B"], ["a"]])
    }

    func testExpressionsFollowPostgresTypesAndHavingFilters() throws {
        // Shard columns: [g, count, sum(int4 partial → int8), CASE placeholder int8, CASE placeholder numeric]
        let plan = MergePlan(
            sql: "", hiddenColumns: 2,
            aggregation: Aggregation(
                partials: [1: .count, 2: .sum],
                columns: [.column(1), .column(2), .column(0),
                          .expression(.arithmetic(.divide, .column(1), .column(0)), typeFrom: 3),
                          .expression(.round(.arithmetic(.divide, .cast(.column(1), to: .numeric), .column(0)), places: .constant(.integer(2))), typeFrom: 4)],
                having: .compare(.greater, .column(0), .constant(.integer(1)))),
            order: [SortKey(column: 2)])
        let merger = RowMerger(plan: plan, streams: 2, maxMemory: 1 << 20, textIsBytes: true)
        let fields = [field("g", 25), field("count", 20), field("sum", 20), field("?column?", 20), field("round", 1700)]
        XCTAssertEqual(try merger.describe(stream: 0, fields: fields)?.map(\.name), ["g", "?column?", "round"])
        try add(merger, 0, ["a", "2", "7", nil, nil])
        try add(merger, 1, ["a", "1", "3", nil, nil])
        try add(merger, 1, ["b", "1", "5", nil, nil])  // left out by HAVING count > 1
        try merger.finish(stream: 0)
        try merger.finish(stream: 1)
        XCTAssertEqual(try drain(merger), [["a", "3", "3.33"]])

        // An inferred type that is not the shard's: refused before any row.
        let wrong = RowMerger(plan: plan, streams: 1, maxMemory: 1 << 20, textIsBytes: true)
        XCTAssertThrowsError(try wrong.describe(stream: 0, fields: [field("g", 25), field("count", 20), field("sum", 20), field("?column?", 1700), field("round", 1700)]))
    }

    func testExpressionErrorsAreThePostgresErrors() throws {
        let evaluator = ExpressionEvaluator(columnTypes: [.int4, .int8, .numeric], textIsBytes: true)
        XCTAssertThrowsError(try evaluator.evaluate(.arithmetic(.divide, .column(1), .constant(.integer(0))), [nil, Array("5".utf8), nil])) {
            XCTAssertEqual($0 as? MergeError, .divisionByZero)
        }
        XCTAssertThrowsError(try evaluator.evaluate(.arithmetic(.multiply, .column(0), .column(0)), [Array("100000".utf8), nil, nil])) {
            XCTAssertEqual($0 as? MergeError, .outOfRange("integer"))
        }
        let value = try evaluator.evaluate(.arithmetic(.multiply, .column(2), .constant(.numeric("1.50"))), [nil, nil, Array("2.5".utf8)])
        XCTAssertEqual(ExpressionEvaluator.text(value).map { String(decoding: $0, as: UTF8.self) }, "3.750")
        let quotient = try evaluator.evaluate(.arithmetic(.divide, .constant(.numeric("10")), .constant(.numeric("3"))), [nil, nil, nil])
        XCTAssertEqual(ExpressionEvaluator.text(quotient).map { String(decoding: $0, as: UTF8.self) }, "3.3333333333333333")
        let typed = try evaluator.evaluate(.numericCast(.column(2), precision: 5, scale: 2), [nil, nil, Array("123.456".utf8)])
        XCTAssertEqual(ExpressionEvaluator.text(typed).map { String(decoding: $0, as: UTF8.self) }, "123.46")
        XCTAssertThrowsError(try evaluator.evaluate(.numericCast(.column(2), precision: 4, scale: 2), [nil, nil, Array("123.456".utf8)])) {
            XCTAssertEqual($0 as? MergeError, .numericFieldOverflow(precision: 4, scale: 2))
        }
        let null = try evaluator.evaluate(.and([.constant(.null), .constant(.bool(false))]), [nil, nil, nil])
        guard case .bool(false) = null else { return XCTFail("NULL AND false is false") }
    }

    func testIntervalsCompareByTheirSpan() throws {
        func span(_ text: String) -> Int128? { ValueOrder.interval(Array(text.utf8)[...]) }
        XCTAssertEqual(span("1 mon"), span("30 days"))
        XCTAssertEqual(span("1 day"), span("24:00:00"))
        XCTAssertEqual(span("1 year 2 mons -3 days +04:05:06.5"), Int128(((12 + 2) * 30 - 3) * 86_400) * 1_000_000 + Int128(4 * 3600 + 5 * 60 + 6) * 1_000_000 + 500_000)
        XCTAssertEqual(span("-00:00:01"), -1_000_000)
        XCTAssertNil(span("@ 1 hour"))
        let merger = RowMerger(plan: MergePlan(sql: "", order: [SortKey(column: 0)]), streams: 1, maxMemory: 1 << 20, textIsBytes: true,
                               intervalStylePostgres: false)
        XCTAssertThrowsError(try merger.describe(stream: 0, fields: [field("span", 1186)]))
        let dates = RowMerger(plan: MergePlan(sql: "", order: [SortKey(column: 0)]), streams: 1, maxMemory: 1 << 20, textIsBytes: true,
                              dateStyleISO: false)
        XCTAssertThrowsError(try dates.describe(stream: 0, fields: [field("day", 1082)])) {
            XCTAssertEqual($0 as? MergeError, .dateStyle(column: "day", setting: "DateStyle = ISO"))
        }
    }

    func testNumericBinaryIsNumericSend() {
        func words(_ text: String) -> [Int] {
            let bytes = BinaryFormat.numeric(PGNumeric(text)!)
            return stride(from: 0, to: bytes.count, by: 2).map { Int(Int16(bitPattern: UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]))) }
        }
        // ndigits, weight, sign, dscale, digits (base 10000)
        XCTAssertEqual(words("123.45"), [2, 0, 0, 2, 123, 4500])
        XCTAssertEqual(words("0.001"), [1, -1, 0, 3, 10])
        XCTAssertEqual(words("10000"), [1, 1, 0, 0, 1])
        XCTAssertEqual(words("-5"), [1, 0, 0x4000, 0, 5])
        XCTAssertEqual(words("0.00"), [0, 0, 0, 2])
        XCTAssertEqual(words("NaN"), [0, 0, Int(Int16(bitPattern: 0xC000)), 0])
    }

    func testSumOverflowIsAnError() throws {
        let plan = MergePlan(sql: "", aggregation: Aggregation(partials: [0: .sum], columns: [.column(0)]))
        let merger = RowMerger(plan: plan, streams: 2, maxMemory: 1 << 20, textIsBytes: true)
        _ = try merger.describe(stream: 0, fields: [field("sum", 20)])
        try add(merger, 0, ["9223372036854775807"])
        XCTAssertThrowsError(try add(merger, 1, ["1"])) { XCTAssertEqual($0 as? MergeError, .bigintOverflow) }
    }
}
