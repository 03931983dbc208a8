internal import CPgQuery
import Foundation

/// The only door to libpg_query: parses SQL text into the JSON parse tree and decodes it.
///
/// Must run on a ``ParserPool`` thread: libpg_query recurses without a limit.
enum PgQueryParser {
    /// Why a text could not be turned into a parse tree.
    enum Failure: Error, Equatable {
        /// PostgreSQL's parser rejected the text. `cursorPosition` is 1-based in characters of the
        /// whole text, 0 when unknown.
        case syntax(message: String, cursorPosition: Int)
        /// The parse tree nests deeper than the limit.
        case tooDeep
        /// libpg_query's JSON could not be decoded (a bug, reported as an internal error).
        case malformedOutput
    }

    /// Parses `sql` with `pg_query_parse` and decodes the JSON it returns, nesting at most
    /// `maxDepth` levels. The C result is freed on every path, error results too.
    static func parse(_ sql: String, maxDepth: Int) -> Result<JSONValue, Failure> {
        let result = sql.withCString { pg_query_parse($0) }
        defer { pg_query_free_parse_result(result) }

        if let error = result.error {
            let message = error.pointee.message.map { String(cString: $0) } ?? "syntax error"
            return .failure(.syntax(message: message, cursorPosition: Int(error.pointee.cursorpos)))
        }
        guard let tree = result.parse_tree else { return .failure(.malformedOutput) }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(tree).assumingMemoryBound(to: UInt8.self), count: strlen(tree))
        do {
            return .success(try JSONParser.parse(bytes, maxDepth: maxDepth))
        } catch .tooDeep {
            return .failure(.tooDeep)
        } catch {
            return .failure(.malformedOutput)
        }
    }
}
