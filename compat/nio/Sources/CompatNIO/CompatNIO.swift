// postgres-nio through pgshard: the way an application uses it.
//
// postgres-nio runs every `query` with the extended protocol: Parse (unnamed statement),
// Describe, Bind, Execute, Sync sent together, binary parameters and binary result columns.
// A `PostgresPreparedStatement` is parsed once per connection under its type's name and then
// only bound. It has no simple-protocol path: the older `simpleQuery` API and `withTransaction`'s
// BEGIN/COMMIT go through Parse/Bind/Execute too, with binary results. `copyFrom` is
// `COPY ... FROM STDIN` through the extended protocol. LISTEN/NOTIFY are plain statements plus
// NotificationResponse messages. Rows written here use ids 6_000_000 and up.
//
// Arguments: --host H --port P --user U --dbname D (else PGHOST, PGPORT, PGUSER, PGDATABASE).

import Foundation
import Logging
import NIOCore
import PostgresNIO

let base: Int64 = 6_000_000
let ownIDs = (0..<100).map { base + Int64($0) }
let seeded = Dictionary(uniqueKeysWithValues: (1...100).map { (Int64(1_000_000 + $0), "user \($0)") })
let checkSeconds = 20

struct Parameters: Sendable {
    var host = ProcessInfo.processInfo.environment["PGHOST"] ?? "127.0.0.1"
    var port = Int(ProcessInfo.processInfo.environment["PGPORT"] ?? "") ?? 6432
    var user = ProcessInfo.processInfo.environment["PGUSER"] ?? "demo"
    var database = ProcessInfo.processInfo.environment["PGDATABASE"] ?? "demo"

    init(arguments: [String]) {
        var index = 0
        while index + 1 < arguments.count {
            let value = arguments[index + 1]
            switch arguments[index] {
            case "--host": host = value
            case "--port": port = Int(value) ?? port
            case "--user": user = value
            case "--dbname": database = value
            default: break
            }
            index += 2
        }
    }
}

let parameters = Parameters(arguments: Array(CommandLine.arguments.dropFirst()))
let logger: Logger = {
    var logger = Logger(label: "compat-nio")
    logger.logLevel = .critical
    return logger
}()

/// The connections a check opened, so a check that runs out of time can be unblocked.
actor OpenConnections {
    private var connections: [PostgresConnection] = []
    private var nextID = 1

    func add(_ connection: PostgresConnection) { connections.append(connection) }

    func makeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    func closeAll() async {
        let all = connections
        connections = []
        for connection in all where !connection.isClosed {
            try? await connection.close()
        }
    }
}

let openConnections = OpenConnections()

struct CheckFailure: Error, CustomStringConvertible {
    var description: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw CheckFailure(description: message()) }
}

func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String) throws {
    if actual != expected { throw CheckFailure(description: "\(what): expected \(expected), got \(actual)") }
}

func sqlState(_ error: any Error) -> String? {
    if let error = error as? PSQLError { return error.serverInfo?[.sqlState] }
    if let error = error as? PostgresTransactionError {
        return [error.beginError, error.closureError, error.commitError].compactMap { $0 }.first.flatMap(sqlState)
    }
    return nil
}

func reason(_ error: any Error) -> String {
    let text: String
    if let error = error as? PSQLError {
        if let info = error.serverInfo {
            text = "PSQLError [\(info[.sqlState] ?? "?")]: \(info[.message] ?? "")"
        } else {
            text = "PSQLError \(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
        }
    } else if let error = error as? PostgresTransactionError {
        let inner = [error.beginError, error.closureError, error.commitError, error.rollbackError].compactMap { $0 }
        text = "PostgresTransactionError: " + inner.map(reason).joined(separator: "; ")
    } else {
        text = String(describing: error)
    }
    return String(text.split(whereSeparator: \.isNewline).joined(separator: " ").prefix(400))
}

func connect(startup: [(String, String)] = []) async throws -> PostgresConnection {
    var configuration = PostgresConnection.Configuration(
        host: parameters.host, port: parameters.port, username: parameters.user, password: nil,
        database: parameters.database, tls: .disable)
    configuration.options.connectTimeout = .seconds(10)
    configuration.options.additionalStartupParameters = startup
    let connection = try await PostgresConnection.connect(
        configuration: configuration, id: await openConnections.makeID(), logger: logger)
    await openConnections.add(connection)
    return connection
}

func withConnection<T>(
    startup: [(String, String)] = [], _ body: (PostgresConnection) async throws -> T
) async throws -> T {
    let connection = try await connect(startup: startup)
    do {
        let value = try await body(connection)
        try? await connection.close()
        return value
    } catch {
        try? await connection.close()
        throw error
    }
}

extension PostgresConnection {
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }

    /// The row count of the command tag (`UPDATE 1` → 1).
    func affectedRows(_ query: PostgresQuery) async throws -> Int? {
        let result: PostgresQueryResult = try await self.query(query, logger: logger).get()
        return result.metadata.rows
    }

    func names(_ query: PostgresQuery) async throws -> [String] {
        try await rows(query).map { try $0.decode(String.self) }
    }
}

enum Outcome: Sendable {
    case finished(String?)
    case timedOut
}

/// Resumes a continuation once: with the check's outcome or with its time-out, whichever is first.
actor FirstOutcome {
    private var continuation: CheckedContinuation<Outcome, Never>?

    init(_ continuation: CheckedContinuation<Outcome, Never>) { self.continuation = continuation }

    func resume(_ outcome: Outcome) {
        continuation?.resume(returning: outcome)
        continuation = nil
    }
}

/// Runs one check, prints its line, and tells whether it passed. A check that runs out of time
/// is left behind (its connections closed) so that the next one starts at once.
func run(_ name: String, _ check: @escaping @Sendable () async throws -> Void) async -> Bool {
    let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
        let first = FirstOutcome(continuation)
        Task {
            do {
                try await check()
                await first.resume(.finished(nil))
            } catch {
                await first.resume(.finished(reason(error)))
            }
        }
        Task {
            try? await Task.sleep(for: .seconds(checkSeconds))
            await first.resume(.timedOut)
        }
    }
    await openConnections.closeAll()
    defer { fflush(nil) }
    switch outcome {
    case .finished(nil):
        print("PASS \(name)")
        return true
    case .finished(let failure?):
        print("FAIL \(name): \(failure)")
    case .timedOut:
        print("FAIL \(name): no answer within \(checkSeconds) s")
    }
    return false
}

let idList = ownIDs.map(String.init).joined(separator: ", ")

@Sendable func cleanup() async throws {
    try await withConnection { connection in
        // postgres-nio cannot send a simple Query: through a pgshard without the extended
        // protocol, this cleanup fails too.
        _ = try await connection.simpleQuery("DELETE FROM orders WHERE user_id IN (\(idList))").get()
        _ = try await connection.simpleQuery("DELETE FROM users WHERE id IN (\(idList))").get()
    }
}

struct UserByID: PostgresPreparedStatement {
    static let sql = "SELECT id, name FROM users WHERE id = $1"
    typealias Row = (Int64, String)
    var id: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(id)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}

struct Document: Codable, Equatable, PostgresCodable {
    var a: [Double]
    var label: String
}

let checks: [(String, @Sendable () async throws -> Void)] = [
    ("connect", {
        try await withConnection { connection in
            let one = try await connection.rows("SELECT 1::int4").map { try $0.decode(Int32.self) }
            try expectEqual(one, [1], "SELECT 1")
        }
    }),
    ("simple_query_api", {
        // The older simpleQuery API: in postgres-nio 1.x it, too, sends Parse/Bind/Execute.
        try await withConnection { connection in
            let rows = try await connection.simpleQuery("SELECT id, name FROM users WHERE id = 1000001").get()
            try expectEqual(try rows.map { try $0.decode((Int64, String).self) }.map { "\($0.0) \($0.1)" },
                            ["1000001 user 1"], "rows")
        }
    }),
    ("select_literal", {
        try await withConnection { connection in
            let rows = try await connection.rows("SELECT id, name, country FROM users WHERE id = 1000001")
            let decoded = try rows.map { try $0.decode((Int64, String, String?).self) }
            try expectEqual(decoded.map { "\($0.0) \($0.1) \($0.2 ?? "-")" }, ["1000001 user 1 fr"], "rows")
        }
    }),
    ("select_param", {
        try await withConnection { connection in
            let user: Int64 = 1_000_042
            let names = try await connection.names("SELECT name FROM users WHERE id = \(user)")
            try expectEqual(names, ["user 42"], "name")
            let amounts = try await connection.rows("SELECT amount::text FROM orders WHERE user_id = \(user)")
                .map { try $0.decode(String.self) }.sorted()
            try expectEqual(amounts, ["126.50", "42.50", "84.50"], "orders")
        }
    }),
    ("insert_returning", {
        try await withConnection { connection in
            let id = base + 1
            let name = "Zoë Ñandú 東京"
            let rows = try await connection.rows(
                "INSERT INTO users (id, name, email, country) VALUES (\(id), \(name), \("zoe@example.com"), \("jp")) RETURNING id, name, created_at")
            let decoded = try rows.map { try $0.decode((Int64, String, Date).self) }
            try expectEqual(decoded.count, 1, "returned rows")
            try expectEqual(decoded[0].0, id, "id")
            try expectEqual(decoded[0].1, name, "name")
            try expect(abs(decoded[0].2.timeIntervalSinceNow) < 3600, "created_at default: \(decoded[0].2)")
        }
    }),
    ("update_delete_rowcount", {
        try await withConnection { connection in
            let id = base + 2
            let missing = base + 99
            try await connection.query("INSERT INTO users (id, name) VALUES (\(id), \("to update"))", logger: logger)
            try expectEqual(try await connection.affectedRows("UPDATE users SET email = \("u@example.com") WHERE id = \(id)"), 1, "UPDATE count")
            try expectEqual(try await connection.affectedRows("UPDATE users SET email = \("u@example.com") WHERE id = \(missing)"), 0, "UPDATE of a missing key")
            try expectEqual(try await connection.affectedRows("DELETE FROM users WHERE id = \(id)"), 1, "DELETE count")
            try expectEqual(try await connection.rows("SELECT id FROM users WHERE id = \(id)").count, 0, "gone")
        }
    }),
    ("multi_shard_select", {
        try await withConnection { connection in
            var seen: [Int64: String] = [:]
            var count = 0
            for try await (id, name) in try await connection.query("SELECT id, name FROM users", logger: logger).decode((Int64, String).self) {
                count += 1
                if seeded[id] != nil { seen[id] = name }
            }
            try expectEqual(seen, seeded, "seeded users")
            try expect(count >= 100, "at least the seeded rows")
        }
    }),
    ("multi_shard_param", {
        try await withConnection { connection in
            let ids = try await connection.rows("SELECT id FROM users WHERE country = \("de")")
                .map { try $0.decode(Int64.self) }.filter { seeded[$0] != nil }
            try expectEqual(Set(ids), Set(seeded.keys.filter { ($0 - 1_000_000) % 5 == 0 }), "ids with country de")
        }
    }),
    ("transaction_commit", {
        let ids = [base + 10, base + 11, base + 12]
        try await withConnection { connection in
            try await connection.withTransaction(logger: logger) { transaction in
                for id in ids {
                    try await transaction.query("INSERT INTO users (id, name) VALUES (\(id), \("committed"))", logger: logger)
                }
                try await transaction.query("INSERT INTO orders (id, user_id, amount) VALUES (\(Int64(1)), \(ids[0]), \(Decimal(string: "9.99")!))", logger: logger)
            }
        }
        try await withConnection { other in
            let found = try await other.rows("SELECT id FROM users WHERE id = ANY(\(ids))").map { try $0.decode(Int64.self) }
            try expectEqual(found.sorted(), ids, "committed rows")
        }
    }),
    ("transaction_rollback", {
        struct Abort: Error {}
        try await withConnection { connection in
            do {
                try await connection.withTransaction(logger: logger) { transaction in
                    try await transaction.query("INSERT INTO users (id, name) VALUES (\(base + 13), \("rolled back"))", logger: logger)
                    try await transaction.query("INSERT INTO users (id, name) VALUES (\(base + 14), \("rolled back"))", logger: logger)
                    try expectEqual(try await transaction.rows("SELECT id FROM users WHERE id = \(base + 13)").count, 1, "row visible inside the transaction")
                    throw Abort()
                }
            } catch let error as PostgresTransactionError where error.closureError is Abort && error.rollbackError == nil {
            }
            for id in [base + 13, base + 14] {
                try expectEqual(try await connection.rows("SELECT id FROM users WHERE id = \(id)").count, 0, "row \(id) after ROLLBACK")
            }
        }
    }),
    ("unique_violation", {
        try await withConnection { connection in
            do {
                try await connection.query("INSERT INTO users (id, name) VALUES (\(Int64(1_000_001)), \("duplicate"))", logger: logger)
                throw CheckFailure(description: "duplicate key accepted")
            } catch let error as PSQLError {
                try expectEqual(error.serverInfo?[.sqlState], "23505", "SQLSTATE (\(reason(error)))")
                try expectEqual(error.serverInfo?[.constraintName], "users_pkey", "constraint name")
            }
            try expectEqual(try await connection.names("SELECT name FROM users WHERE id = \(Int64(1_000_001))"), ["user 1"], "session works after the error")
        }
    }),
    ("nulls", {
        try await withConnection { connection in
            let none: String? = nil
            try await connection.query("INSERT INTO users (id, name, email, country) VALUES (\(base + 3), \("no email"), \(none), \(none))", logger: logger)
            let row = try await connection.rows("SELECT email, country FROM users WHERE id = \(base + 3)")
                .map { try $0.decode((String?, String?).self) }
            try expect(row.count == 1 && row[0].0 == nil && row[0].1 == nil, "NULL columns: \(row)")
            let nullInt: Int32? = nil
            let params = try await connection.rows("SELECT \(nullInt)::int4 IS NULL, \(none)::text").map { try $0.decode((Bool, String?).self) }
            try expect(params.count == 1 && params[0].0 && params[0].1 == nil, "NULL parameters: \(params)")
        }
    }),
    ("types_binary", {
        try await withConnection { connection in
            let moment = Date(timeIntervalSince1970: 1_709_251_198)
            let day = Date(timeIntervalSince1970: 946_598_400) // 1999-12-31 00:00 UTC
            let id = UUID(uuidString: "6F1C2A5E-7D1B-4C4E-9A51-3B2F8E0D9C01")!
            let number = Decimal(string: "-12345678901234567890.0123456789")!
            let text = "grüße, 日本語, emoji 🐘, quote ' and backslash \\"
            let bytes: [UInt8] = [0, 1, 0xFE, 0xFF, 0x20, 0x70, 0x67]
            let document = Document(a: [1, 2.5], label: "ü ✓")
            let rows = try await connection.rows("""
                SELECT \(Int16.min)::int2, \(Int32.max)::int4, \(Int64.min)::int8, \(number)::numeric, \(0.1)::float8,
                       \(true)::bool, \(text)::text, \(ByteBuffer(bytes: bytes))::bytea, \(moment)::timestamptz,
                       '1999-12-31'::date, \(id)::uuid, \(document)::jsonb
                """)
            try expectEqual(rows.count, 1, "rows")
            let (int2, int4, int8, numeric, float8, bool, string, bytea, timestamptz, date, uuid, jsonb) =
                try rows[0].decode((Int16, Int32, Int64, Decimal, Double, Bool, String, ByteBuffer, Date, Date, UUID, Document).self)
            try expectEqual(int2, Int16.min, "int2")
            try expectEqual(int4, Int32.max, "int4")
            try expectEqual(int8, Int64.min, "int8")
            try expectEqual(numeric, number, "numeric")
            try expectEqual(float8, 0.1, "float8")
            try expectEqual(bool, true, "bool")
            try expectEqual(string, text, "text")
            try expectEqual(Array(bytea.readableBytesView), bytes, "bytea")
            try expectEqual(timestamptz, moment, "timestamptz")
            try expectEqual(date, day, "date")
            try expectEqual(uuid, id, "uuid")
            try expectEqual(jsonb, document, "jsonb")
        }
    }),
    ("types_literal", {
        // Literals in the SQL text, no parameters (postgres-nio asks for binary results always).
        try await withConnection { connection in
            let rows = try await connection.simpleQuery("""
                SELECT (-32768)::int2, 2147483647::int4, (-9223372036854775808)::int8, 0.1::float8, true,
                       'grüße 🐘'::text, '6f1c2a5e-7d1b-4c4e-9a51-3b2f8e0d9c01'::uuid, NULL::text
                """).get()
            try expectEqual(rows.count, 1, "rows")
            let (int2, int4, int8, float8, bool, text, uuid, null) =
                try rows[0].decode((Int16, Int32, Int64, Double, Bool, String, UUID, String?).self)
            try expectEqual(int2, Int16.min, "int2")
            try expectEqual(int4, Int32.max, "int4")
            try expectEqual(int8, Int64.min, "int8")
            try expectEqual(float8, 0.1, "float8")
            try expectEqual(bool, true, "bool")
            try expectEqual(text, "grüße 🐘", "text")
            try expectEqual(uuid, UUID(uuidString: "6F1C2A5E-7D1B-4C4E-9A51-3B2F8E0D9C01")!, "uuid")
            try expectEqual(null, nil, "NULL")
        }
    }),
    ("prepared_reuse", {
        try await withConnection { connection in
            for i in 1...20 {
                let id = Int64(1_000_000 + i)
                var rows: [(Int64, String)] = []
                for try await row in try await connection.execute(UserByID(id: id), logger: logger) {
                    rows.append(row)
                }
                try expect(rows.count == 1 && rows[0].0 == id && rows[0].1 == "user \(i)", "execution \(i): \(rows)")
            }
        }
    }),
    ("statement_timeout", {
        try await withConnection { connection in
            try await connection.query("SET statement_timeout = '500ms'", logger: logger)
            do {
                _ = try await connection.query("SELECT pg_sleep(5) FROM users WHERE id = \(Int64(1_000_001))", logger: logger).collect()
                throw CheckFailure(description: "pg_sleep(5) was not cancelled")
            } catch let error as PSQLError {
                try expectEqual(error.serverInfo?[.sqlState], "57014", "SQLSTATE (\(reason(error)))")
            }
            try await connection.query("RESET statement_timeout", logger: logger)
            try expectEqual(try await connection.names("SELECT name FROM users WHERE id = 1000001"), ["user 1"], "session works after the timeout")
        }
    }),
    ("set_application_name", {
        try await withConnection(startup: [("application_name", "compat-nio-startup")]) { connection in
            try expectEqual(try await connection.names("SHOW application_name"), ["compat-nio-startup"], "startup parameter")
            try await connection.query("SET application_name = 'compat-nio'", logger: logger)
            for key in Int64(1_000_001)...Int64(1_000_004) {
                try expectEqual(try await connection.names("SELECT current_setting('application_name') FROM users WHERE id = \(key)"),
                                ["compat-nio"], "setting seen by the shard of \(key)")
            }
        }
    }),
    ("set_search_path", {
        try await withConnection { connection in
            try await connection.query("SET search_path = pg_catalog, public", logger: logger)
            try expectEqual(try await connection.names("SELECT current_schema()::text"), ["pg_catalog"], "current_schema")
            try await connection.query("SET search_path = pg_catalog", logger: logger)
            do {
                _ = try await connection.query("SELECT name FROM users WHERE id = 1000001", logger: logger).collect()
                throw CheckFailure(description: "users found without public on the search_path")
            } catch let error as PSQLError {
                try expectEqual(error.serverInfo?[.sqlState], "42P01", "SQLSTATE (\(reason(error)))")
            }
            try await connection.query("RESET search_path", logger: logger)
            try expectEqual(try await connection.names("SELECT name FROM users WHERE id = 1000001"), ["user 1"], "after RESET")
        }
    }),
    ("client_pool", {
        // PostgresClient: the pool applications use; it runs until its task is cancelled.
        var configuration = PostgresClient.Configuration(
            host: parameters.host, port: parameters.port, username: parameters.user, password: nil,
            database: parameters.database, tls: .disable)
        configuration.options.maximumConnections = 3
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() } // run() returns once cancelled
            let names = try await withThrowingTaskGroup(of: (Int, String).self) { queries in
                for i in 1...9 {
                    queries.addTask {
                        let rows = try await client.query("SELECT name FROM users WHERE id = \(Int64(1_000_000 + i))", logger: logger)
                        var names: [String] = []
                        for try await name in rows.decode(String.self) { names.append(name) }
                        return (i, names.first ?? "")
                    }
                }
                var names: [Int: String] = [:]
                for try await (i, name) in queries { names[i] = name }
                return names
            }
            try expectEqual(names, Dictionary(uniqueKeysWithValues: (1...9).map { ($0, "user \($0)") }), "names")
        }
    }),
    ("listen_notify", {
        try await withConnection { connection in
            try await connection.listen(on: "compat_nio") { notifications in
                try await connection.query("NOTIFY compat_nio, 'hello'", logger: logger)
                for try await notification in notifications {
                    try expectEqual(notification.payload, "hello", "payload")
                    break
                }
            }
        }
    }),
    ("copy_in", {
        let ids = (50..<58).map { base + Int64($0) }
        try await withConnection { connection in
            try await connection.copyFrom(table: "users", columns: ["id", "name", "country"], logger: logger) { writer in
                var buffer = ByteBuffer()
                for id in ids { buffer.writeString("\(id)\tcopied \(id)\tus\n") }
                try await writer.write(buffer)
            }
            let found = try await connection.rows("SELECT id FROM users WHERE id = ANY(\(ids))").map { try $0.decode(Int64.self) }
            try expectEqual(found.sorted(), ids, "rows copied in")
        }
    }),
]

@main
enum CompatNIO {
    static func main() async {
        var results = [await run("cleanup_start", cleanup)]
        for (name, check) in checks {
            results.append(await run(name, check))
        }
        results.append(await run("cleanup_end", cleanup))
        let passed = results.filter { $0 }.count
        let failed = results.count - passed
        print("\(passed) passed, \(failed) failed")
        fflush(nil)
        exit(failed == 0 ? 0 : 1)
    }
}
