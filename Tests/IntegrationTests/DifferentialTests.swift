import XCTest

/// The same SELECT statements through pgshard (four shards) and on the unsharded reference
/// server, over 100,000 seeded rows of `d_users` and `d_orders`: every answer must be the
/// reference's, or a refusal (SQLSTATE 0A000).
final class DifferentialTests: XCTestCase {
    static let generatedCount = 180
    static let grammarSeed: UInt64 = 0xD1FF_E4E7_7141_0001

    func testSelectsAnswerLikeOneServer() throws {
        let cluster = try TestCluster.shared()
        try DifferentialData.loadOnce(into: cluster)
        let proxyConninfo = "host=127.0.0.1 port=\(cluster.proxy.port) dbname=\(TestCluster.database) user=app password=\(TestCluster.password)"
        var proxy = try ResultConnection(proxyConninfo)
        let reference = try ResultConnection(cluster.reference.conninfo(database: TestCluster.database))

        let handWritten = DifferentialQueries.handWritten
        let generated = DifferentialGrammar.queries(count: Self.generatedCount, seed: Self.grammarSeed)
        // DIFFERENTIAL_VERBOSE=1 prints every statement's verdict (and pgshard's refusal message).
        let verbose = ProcessInfo.processInfo.environment["DIFFERENTIAL_VERBOSE"] == "1"
        var failures: [(sql: String, detail: String)] = []
        let total = handWritten.count + generated.count
        print("differential: \(total) queries (\(handWritten.count) hand-written, \(generated.count) generated)")
        // Each statement through pgshard in the simple protocol, then in the extended one with
        // text results, then with binary results.
        for mode in ["simple", "extended", "binary"] {
            let extended = mode != "simple", binary = mode == "binary"
            var passed = 0, refused = 0, failed = 0
            for query in handWritten + generated {
                let expected = reference.run(query.sql, binary: binary)
                let answer = proxy.run(query.sql, extended: extended, binary: binary)
                let verdict = DifferentialComparison.verdict(query, pgshard: answer, reference: expected)
                switch verdict {
                case .passed: passed += 1
                case .refused: refused += 1
                case .failed(let detail):
                    failed += 1
                    failures.append(((extended ? "[\(mode)] " : "") + query.sql, detail))
                }
                if verbose {
                    let refusal = if case .error(_, let message) = answer, verdict == .refused { ": \(message)" } else { "" }
                    print("differential\(extended ? " (\(mode))" : ""): \(verdict)\(refusal): \(query.sql)")
                }
                // The one connection must take the next statement normally.
                if let problem = proxy.problem {
                    failures.append((query.sql, "after this statement the pgshard connection is not usable: \(problem)"))
                    proxy = try ResultConnection(proxyConninfo)
                }
            }
            let label = binary ? " (extended protocol, binary results)" : extended ? " (extended protocol)" : ""
            print("differential\(label): \(passed) passed, \(failed) failed, \(refused) refused (0A000)")
        }
        for failure in failures.prefix(20) {
            print("--- \(failure.sql)\n\(failure.detail)")
        }
        XCTAssertGreaterThanOrEqual(total, 200)
        XCTAssertEqual(failures.count, 0, "differential: \(failures.count) statements answered differently through pgshard (see the output)")
    }

    /// The comparison itself, without servers: it must notice what it is there to notice.
    func testComparisonNoticesDifferences() {
        typealias Result = ResultConnection.ResultSet
        let float8: UInt32 = 701, numeric: UInt32 = 1700
        func verdict(_ check: DifferentialQuery.Check, _ pgshard: Result, _ reference: Result) -> DifferentialComparison.Verdict {
            DifferentialComparison.verdict(DifferentialQuery(sql: "", check: check), pgshard: .rows(pgshard), reference: .rows(reference))
        }
        let reference = Result(columns: ["a", "b"], types: [numeric, float8], rows: [["1.50", "0.1"], ["2.00", nil], [nil, "3"]])
        let shuffled = Result(columns: ["a", "b"], types: [numeric, float8], rows: [[nil, "3"], ["1.50", "0.10000000000000002"], ["2.00", nil]])
        XCTAssertEqual(verdict(.asMultiset, shuffled, reference), .passed)
        XCTAssertNotEqual(verdict(.inOrder, shuffled, reference), .passed)
        XCTAssertEqual(verdict(.rowCount, shuffled, reference), .passed)
        var scale = reference
        scale.rows[0][0] = "1.5"
        XCTAssertNotEqual(verdict(.asMultiset, scale, reference), .passed, "numeric is compared as text")
        var float = reference
        float.rows[0][1] = "0.1000001"
        XCTAssertNotEqual(verdict(.inOrder, float, reference), .passed, "beyond the float tolerance")
        var renamed = reference
        renamed.columns[1] = "c"
        XCTAssertNotEqual(verdict(.inOrder, renamed, reference), .passed)
        var retyped = reference
        retyped.types[1] = numeric
        XCTAssertNotEqual(verdict(.inOrder, retyped, reference), .passed)
        var duplicated = reference
        duplicated.rows.append(["2.00", nil])
        XCTAssertNotEqual(verdict(.asMultiset, duplicated, reference), .passed, "a multiset, not a set")
        let refusal = DifferentialComparison.verdict(.ordered(""), pgshard: .error(sqlState: "0A000", message: "no"), reference: .rows(reference))
        XCTAssertEqual(refusal, .refused)
        let error = DifferentialComparison.verdict(.ordered(""), pgshard: .error(sqlState: "XX000", message: "no"), reference: .rows(reference))
        XCTAssertNotEqual(error, .passed)
        XCTAssertNotEqual(error, .refused)
    }
}

/// Whether pgshard's answer is the reference server's.
enum DifferentialComparison {
    enum Verdict: Equatable {
        case passed
        /// pgshard answered SQLSTATE 0A000 (feature_not_supported).
        case refused
        case failed(String)
    }

    /// float4 and float8: compared with a relative tolerance (summation order differs).
    static let floatTypes: Set<UInt32> = [700, 701]
    static let tolerance = 1e-9

    static func verdict(_ query: DifferentialQuery, pgshard: ResultConnection.Answer, reference: ResultConnection.Answer) -> Verdict {
        let expected: ResultConnection.ResultSet
        switch reference {
        case .error(let state, let message):
            return .failed("the reference server failed (\(state): \(message)): the statement is wrong")
        case .rows(let rows):
            expected = rows
        }
        let answer: ResultConnection.ResultSet
        switch pgshard {
        case .error("0A000", _):
            return .refused
        case .error(let state, let message):
            return .failed("pgshard: ERROR \(state): \(message)")
        case .rows(let rows):
            answer = rows
        }
        guard answer.columns == expected.columns else {
            return .failed("columns: pgshard \(answer.columns), reference \(expected.columns)")
        }
        guard answer.types == expected.types else {
            return .failed("column type OIDs: pgshard \(answer.types), reference \(expected.types)")
        }
        let floats = Set(expected.types.indices.filter { floatTypes.contains(expected.types[$0]) })
        switch query.check {
        case .rowCount:
            return answer.rows.count == expected.rows.count ? .passed : .failed("pgshard \(answer.rows.count) rows, reference \(expected.rows.count)")
        case .inOrder:
            return inOrder(answer.rows, expected.rows, floats: floats)
        case .asMultiset:
            return asMultiset(answer.rows, expected.rows, floats: floats)
        }
    }

    private static func inOrder(_ answer: [[String?]], _ expected: [[String?]], floats: Set<Int>) -> Verdict {
        for (index, (got, wanted)) in zip(answer, expected).enumerated() where !sameRow(got, wanted, floats: floats) {
            return .failed("row \(index + 1) of \(expected.count): pgshard \(show(got)), reference \(show(wanted))")
        }
        guard answer.count == expected.count else {
            let extra = answer.count > expected.count ? "pgshard's next row \(show(answer[expected.count]))" : "reference's next row \(show(expected[answer.count]))"
            return .failed("pgshard \(answer.count) rows, reference \(expected.count) (the first \(min(answer.count, expected.count)) agree; \(extra))")
        }
        return .passed
    }

    /// Both sides sorted the same way (text columns as text, float columns by value), then
    /// compared row for row; on a difference, the rows only one side has.
    private static func asMultiset(_ answer: [[String?]], _ expected: [[String?]], floats: Set<Int>) -> Verdict {
        let sortedAnswer = answer.sorted { precedes($0, $1, floats: floats) }
        let sortedExpected = expected.sorted { precedes($0, $1, floats: floats) }
        if sortedAnswer.count == sortedExpected.count,
           zip(sortedAnswer, sortedExpected).allSatisfy({ sameRow($0, $1, floats: floats) }) {
            return .passed
        }
        let texts = { (rows: [[String?]]) in rows.map(show) }
        let onlyPgshard = subtract(texts(sortedAnswer), texts(sortedExpected))
        let onlyReference = subtract(texts(sortedExpected), texts(sortedAnswer))
        return .failed("pgshard \(answer.count) rows, reference \(expected.count); only through pgshard (\(onlyPgshard.count)): "
            + onlyPgshard.prefix(3).joined(separator: " ") + "; only on the reference (\(onlyReference.count)): "
            + onlyReference.prefix(3).joined(separator: " "))
    }

    static func sameRow(_ a: [String?], _ b: [String?], floats: Set<Int>) -> Bool {
        a.count == b.count && a.indices.allSatisfy { sameValue(a[$0], b[$0], float: floats.contains($0)) }
    }

    static func sameValue(_ a: String?, _ b: String?, float: Bool) -> Bool {
        if a == b { return true }
        guard float, let a, let b, let x = Double(a), let y = Double(b) else { return false }
        if x.isNaN || y.isNaN { return x.isNaN && y.isNaN }
        if x.isInfinite || y.isInfinite { return x == y }
        return abs(x - y) <= tolerance * max(abs(x), abs(y))
    }

    /// NULL first, then text in byte order, except float columns, by value.
    private static func precedes(_ a: [String?], _ b: [String?], floats: Set<Int>) -> Bool {
        for column in a.indices {
            switch (a[column], b[column]) {
            case (nil, nil): continue
            case (nil, _): return true
            case (_, nil): return false
            case let (x?, y?):
                if floats.contains(column), let u = Double(x), let v = Double(y) {
                    if u != v { return u < v }
                } else if x != y {
                    return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
                }
            }
        }
        return false
    }

    /// The rows of `rows` that `other` does not have (as many times as they are missing).
    private static func subtract(_ rows: [String], _ other: [String]) -> [String] {
        var counts: [String: Int] = [:]
        for row in other { counts[row, default: 0] += 1 }
        return rows.filter { row in
            guard let count = counts[row], count > 0 else { return true }
            counts[row] = count - 1
            return false
        }
    }

    private static func show(_ row: [String?]) -> String {
        "(" + row.map { $0 ?? "NULL" }.joined(separator: ", ") + ")"
    }
}
