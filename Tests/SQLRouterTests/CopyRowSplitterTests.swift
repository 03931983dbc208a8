import Sharding
import XCTest

@testable import SQLRouter

/// The splitter fed whole, byte by byte and cut at every position: the same rows reach the
/// same shards, byte for byte; every error names the client's line as PostgreSQL does.
final class CopyRowSplitterTests: XCTestCase {
    private let columns = [CopyTableColumn(name: "id", notNull: true), CopyTableColumn(name: "name", notNull: false),
                           CopyTableColumn(name: "n", notNull: false)]

    private func splitter(_ sql: String, columns: [CopyTableColumn]? = nil) throws -> CopyRowSplitter {
        guard case .copyIn(let plan)? = Fixture.route(sql), case .sharded(let key, let shards) = plan.target else {
            throw XCTSkip("not a sharded COPY: \(sql)")
        }
        let layout = try CopyLayout(plan: plan, key: key, tableColumns: columns ?? self.columns)
        return CopyRowSplitter(layout: layout, shardCount: Fixture.shardCount, shards: shards, validatesUTF8: true)
    }

    /// What each shard got, fed in `chunks`.
    private func run(_ splitter: CopyRowSplitter, _ chunks: [[UInt8]]) throws(CopyDataError) -> (shards: [[UInt8]], rows: Int) {
        var splitter = splitter
        var shards = Array(repeating: [UInt8](), count: Fixture.shardCount)
        func drain() {
            for shard in 0..<Fixture.shardCount { splitter.takePending(shard) { shards[shard].append(contentsOf: $0) } }
        }
        for chunk in chunks {
            var failure: CopyDataError?
            chunk.withUnsafeBytes { bytes in
                do throws(CopyDataError) { try splitter.feed(bytes) } catch { failure = error }
            }
            if let failure { throw failure }
            drain()
        }
        try splitter.finish()
        drain()
        return (shards, splitter.rowCount)
    }

    /// Feeds `data` whole, byte by byte, and in two pieces cut at every position; all must agree.
    private func split(_ sql: String, _ data: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> (shards: [[UInt8]], rows: Int) {
        let made = try splitter(sql)
        let whole = try run(made, [data])
        XCTAssertEqual(try run(made, data.map { [$0] }).shards, whole.shards, "byte by byte", file: file, line: line)
        for cut in 0...data.count {
            let pieces = [Array(data[..<cut]), Array(data[cut...])]
            XCTAssertEqual(try run(made, pieces).shards, whole.shards, "cut at \(cut)", file: file, line: line)
        }
        return whole
    }

    /// The error of feeding `data` (whole and byte by byte: the same).
    private func failure(_ sql: String, _ data: [UInt8], columns: [CopyTableColumn]? = nil) throws -> CopyDataError? {
        let made = try splitter(sql, columns: columns)
        var errors: [CopyDataError] = []
        for chunks in [[data], data.map { [$0] }] {
            do throws(CopyDataError) {
                _ = try run(made, chunks)
            } catch {
                errors.append(error)
            }
        }
        XCTAssertEqual(errors.count, 2, "an error whole and byte by byte")
        XCTAssertEqual(errors.first, errors.last)
        return errors.first
    }

    private func expected(_ rows: [(Int64, String)], header: String? = nil) -> [[UInt8]] {
        var shards = Array(repeating: [UInt8](), count: Fixture.shardCount)
        if let header { for shard in shards.indices { shards[shard] += Array(header.utf8) } }
        for (key, row) in rows { shards[Fixture.shard(key)] += Array(row.utf8) }
        return shards
    }

    func testTextRowsGoToTheirShardsUnchanged() throws {
        let rows: [(Int64, String)] = [(1, "1\tann\t5\n"), (2, "2\t\\N\t\\N\n"), (3, "3\tescaped\\ttab\\\nnewline\t7\n"),
                                       (4, "4\tnon-ascii é ✓ 𝄞\t8\n"), (5, " 5 \tspaces\t9\n"), (15, "1\\x35\tescaped key\t1\n")]
        let data = Array(rows.map(\.1).joined().utf8)
        let result = try split("COPY users (id, name, n) FROM STDIN", data)
        XCTAssertEqual(result.shards, expected(rows))
        XCTAssertEqual(result.rows, 6)
    }

    func testTextEndMarkerAndLineEnds() throws {
        let data = Array("1\ta\t1\r\n2\tb\t2\r\n\\.\r\nignored\tafter\tmarker\n".utf8)
        XCTAssertEqual(try split("COPY users (id, name, n) FROM STDIN", data).shards, expected([(1, "1\ta\t1\r\n"), (2, "2\tb\t2\r\n")]))
        let lastLine = Array("1\ta\t1\n2\tb\t2".utf8)
        XCTAssertEqual(try split("COPY users (id, name, n) FROM STDIN", lastLine).shards, expected([(1, "1\ta\t1\n"), (2, "2\tb\t2")]))
        let cr = Array("1\ta\t1\r2\tb\t2\r".utf8)
        XCTAssertEqual(try split("COPY users (id, name, n) FROM STDIN", cr).shards, expected([(1, "1\ta\t1\r"), (2, "2\tb\t2\r")]))
        let before = Array("1\ta\t1\n2\tb\t2\\.\n".utf8)
        XCTAssertEqual(try split("COPY users (id, name, n) FROM STDIN", before).shards, expected([(1, "1\ta\t1\n"), (2, "2\tb\t2")]))
    }

    func testCSVQuotesHeaderDelimiterAndNull() throws {
        let sql = "COPY users (id, name, n) FROM STDIN (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL')"
        let rows: [(Int64, String)] = [(1, "1;\"a;b\";2\n"), (2, "\"2\";\"multi\nline; \"\"quoted\"\"\";NULL\n"), (3, "3;NULL;\n"),
                                       (4, "4;\\.;1\n"), (5, "5;\"\\.\n\";1\n")]
        let data = Array(("id;name;n\n" + rows.map(\.1).joined() + "\\.\n").utf8)
        let result = try split(sql, data)
        XCTAssertEqual(result.shards, expected(rows, header: "id;name;n\n"))
        XCTAssertEqual(result.rows, 5)
        // A custom escape inside quotes.
        let escaped = try split("COPY users (id, name, n) FROM STDIN (FORMAT csv, ESCAPE '\\')", Array("\"7\",\"a\\\"b,c\",1\n".utf8))
        XCTAssertEqual(escaped.shards, expected([(7, "\"7\",\"a\\\"b,c\",1\n")]))
    }

    func testBinaryTuples() throws {
        func tuple(_ id: Int64?, _ name: String) -> [UInt8] {
            var bytes: [UInt8] = [0, 3]
            if let id {
                bytes += [0, 0, 0, 8] + withUnsafeBytes(of: id.bigEndian, Array.init)
            } else {
                bytes += [0xFF, 0xFF, 0xFF, 0xFF]
            }
            bytes += [0, 0, 0, UInt8(name.utf8.count)] + Array(name.utf8)
            return bytes + [0xFF, 0xFF, 0xFF, 0xFF]
        }
        let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 2, 0xAB, 0xCD]
        let data = header + tuple(1, "a") + tuple(2, "bb") + tuple(3, "") + [0xFF, 0xFF]
        let result = try split("COPY users (id, name, n) FROM STDIN (FORMAT binary)", data)
        var want = Array(repeating: header, count: Fixture.shardCount)
        for id: Int64 in 1...3 { want[Fixture.shard(id)] += tuple(id, id == 1 ? "a" : id == 2 ? "bb" : "") }
        for shard in want.indices { want[shard] += [0xFF, 0xFF] }
        XCTAssertEqual(result.shards, want)
        XCTAssertEqual(result.rows, 3)
        let sql = "COPY users (id, name, n) FROM STDIN (FORMAT binary)"
        XCTAssertEqual(try failure(sql, header + tuple(1, "a") + tuple(nil, "b")),
                       CopyDataError("23502", "null value in column \"id\" of relation \"users\" violates not-null constraint", context: "COPY users, line 2"))
        XCTAssertEqual(try failure(sql, header + [0, 2])?.message, "row field count is 2, expected 3")
        XCTAssertEqual(try failure(sql, header + tuple(1, "a").dropLast(2))?.message, "unexpected EOF in COPY data")
        XCTAssertEqual(try failure(sql, Array("PGCOPX\n".utf8) + header.dropFirst(7))?.message, "COPY file signature not recognized")
        XCTAssertEqual(try failure(sql, header + [0xFF, 0xFF, 0])?.message, "received copy data after EOF marker")
        var short = tuple(1, "a")
        short.replaceSubrange(2..<14, with: [0, 0, 0, 4, 0, 0, 0, 1])
        XCTAssertEqual(try failure(sql, header + short), CopyDataError("22P03", "incorrect binary data format", context: "COPY users, line 1, column id"))
    }

    func testErrorsNameTheClientLine() throws {
        let sql = "COPY users (id, name, n) FROM STDIN"
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\n2\tb\n".utf8)),
                       CopyDataError("22P04", "missing data for column \"n\"", context: "COPY users, line 2: \"2\tb\""))
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\t9\n".utf8)),
                       CopyDataError("22P04", "extra data after last expected column", context: "COPY users, line 1: \"1\ta\t1\t9\""))
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\n\\N\tb\t2\n".utf8)),
                       CopyDataError("23502", "null value in column \"id\" of relation \"users\" violates not-null constraint",
                                     context: "COPY users, line 2: \"\\N\tb\t2\""))
        XCTAssertEqual(try failure(sql, Array("x1\ta\t1\n".utf8)),
                       CopyDataError("22P02", "invalid input syntax for type bigint: \"x1\"", context: "COPY users, line 1, column id: \"x1\""))
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\n2\tb".utf8) + [0xC3, 0x28] + Array("\t2\n".utf8)),
                       CopyDataError("22021", "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28", context: "COPY users, line 2"))
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\n2\tb\t2".utf8) + [0xE2, 0x82])?.message, "invalid byte sequence for encoding \"UTF8\": 0xe2 0x82")
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\n2\tb\t\0\n".utf8))?.message, "invalid byte sequence for encoding \"UTF8\": 0x00")
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\n2\tb\t2\\.x\n".utf8)), CopyDataError("22P04", "end-of-copy marker corrupt", context: "COPY users, line 2"))
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\n2\tb\r2\n".utf8))?.message, "literal carriage return found in data")
        XCTAssertEqual(try failure(sql, Array("1\ta\t1\r\n2\tb\t2\n".utf8))?.message, "literal newline found in data")
        let csv = "COPY users (id, name, n) FROM STDIN (FORMAT csv, HEADER)"
        XCTAssertEqual(try failure(csv, Array("id,name,n\n1,\"a\nb\",1\n2,\"open\n".utf8)),
                       CopyDataError("22P04", "unterminated CSV quoted field", context: "COPY users, line 5"))
        XCTAssertEqual(try failure(csv, Array("h\n1,\"x\ny\",1\n,b,2\n".utf8))?.context, "COPY users, line 4: \",b,2\"")
        // The configuration's key column is not in the table.
        XCTAssertThrowsError(try splitter("COPY users FROM STDIN", columns: [CopyTableColumn(name: "name", notNull: false)])) { error in
            XCTAssertEqual(error as? CopyDataError, CopyDataError("42703", "column \"id\" of relation \"users\" does not exist",
                                                                  hint: "the pgshard configuration names id as the shard key of users"))
        }
    }

    func testKeyFieldDecoding() {
        func text(_ raw: String) -> String {
            String(decoding: Array(raw.utf8).withUnsafeBufferPointer { CopyRowSplitter.unescapeText($0) }, as: UTF8.self)
        }
        XCTAssertEqual(text(#"a\tb\\c\x41\101\q\x"#), "a\tb\\cAAqx")
        func csv(_ raw: String, escape: Character = "\"") -> String {
            String(decoding: Array(raw.utf8).withUnsafeBufferPointer {
                CopyRowSplitter.unquoteCSV($0, quote: UInt8(ascii: "\""), escape: escape.asciiValue!)
            }, as: UTF8.self)
        }
        XCTAssertEqual(csv(#""a""b"c"#), #"a"bc"#)
        XCTAssertEqual(csv(#""a\"b\\""#, escape: "\\"), #"a"b\"#)
    }
}
