import XCTest

@testable import SQLRouter

/// Transaction control, session settings and refused statement kinds.
final class UtilityRoutingTests: XCTestCase {
    func testTransactionControl() {
        let cases: [(String, Expected)] = [
            ("BEGIN", .route(.session(.begin(options: "BEGIN")))),
            ("BEGIN WORK", .route(.session(.begin(options: "BEGIN")))),
            ("START TRANSACTION", .route(.session(.begin(options: "BEGIN")))),
            ("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY", .route(.session(.begin(options: "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY")))),
            ("begin transaction isolation level repeatable read, read write, not deferrable",
             .route(.session(.begin(options: "BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE NOT DEFERRABLE")))),
            ("START TRANSACTION READ ONLY, DEFERRABLE, ISOLATION LEVEL READ COMMITTED",
             .route(.session(.begin(options: "BEGIN READ ONLY DEFERRABLE ISOLATION LEVEL READ COMMITTED")))),
            ("BEGIN ISOLATION LEVEL READ UNCOMMITTED", .route(.session(.begin(options: "BEGIN ISOLATION LEVEL READ UNCOMMITTED")))),
            ("COMMIT", .route(.session(.commit))),
            ("END", .route(.session(.commit))),
            ("COMMIT AND NO CHAIN", .route(.session(.commit))),
            ("ROLLBACK", .route(.session(.rollback))),
            ("ABORT", .route(.session(.rollback))),
            ("SAVEPOINT s1", .route(.session(.savepoint("s1")))),
            ("SAVEPOINT \"My Point\"", .route(.session(.savepoint("My Point")))),
            ("RELEASE SAVEPOINT s1", .route(.session(.release("s1")))),
            ("RELEASE s1", .route(.session(.release("s1")))),
            ("ROLLBACK TO SAVEPOINT s1", .route(.session(.rollbackTo("s1")))),
            ("ROLLBACK TO s1", .route(.session(.rollbackTo("s1")))),
            ("COMMIT AND CHAIN", .refused("COMMIT AND CHAIN and ROLLBACK AND CHAIN are not supported")),
            ("ROLLBACK AND CHAIN", .refused("AND CHAIN")),
            ("PREPARE TRANSACTION 'x'", .refused("PREPARE TRANSACTION is reserved for pgshard's own two-phase commit")),
            ("COMMIT PREPARED 'x'", .refused("COMMIT PREPARED is reserved")),
            ("ROLLBACK PREPARED 'x'", .refused("ROLLBACK PREPARED is reserved")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }

    func testSessionSettings() {
        let settings: [(String, Bool)] = [
            ("SET search_path = a, \"B\"", false),
            ("SET search_path TO DEFAULT", false),
            ("SET SESSION datestyle TO DEFAULT", false),
            ("SET LOCAL work_mem = '64MB'", true),
            ("SET TIME ZONE 'UTC'", false),
            ("SET LOCAL TIME ZONE 'UTC'", true),
            ("SET application_name FROM CURRENT", false),
            ("RESET work_mem", false),
            ("RESET ALL", false),
            ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", true),
            ("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", false),
            ("SET ROLE app", false),
        ]
        for (sql, isLocal) in settings {
            assertRoute(sql, .route(.session(.set(sql: sql, isLocal: isLocal))))
        }
        assertRoute("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", .refused("SET TRANSACTION SNAPSHOT through pgshard is not supported"))
        assertRoute("SHOW work_mem", .route(.anyShard))
        assertRoute("SHOW ALL", .route(.anyShard))
        assertRoute("DISCARD ALL", .route(.session(.discardAll)))
        assertRoute("DISCARD PLANS", .refused("DISCARD PLANS through pgshard is not supported yet"))
        assertRoute("DISCARD TEMP", .refused("DISCARD TEMP"))
    }

    func testRefusedStatementKinds() {
        let cases: [(String, String, String)] = [
            ("COPY users FROM '/tmp/users'", "COPY to or from a file on the server", "use COPY … FROM STDIN (psql: \\copy)"),
            ("DO $$ BEGIN END $$", "DO through pgshard", "run the code from the application, or run it on each shard directly"),
            ("CALL p()", "CALL through pgshard", "call the procedure on each shard directly"),
            ("PREPARE q AS SELECT 1", "PREPARE through pgshard", "use the extended query protocol (your driver's prepared statements)"),
            ("EXECUTE q", "EXECUTE through pgshard", "use the extended query protocol (your driver's prepared statements)"),
            ("DEALLOCATE ALL", "DEALLOCATE through pgshard", "use the extended query protocol (your driver's prepared statements)"),
            ("LOCK TABLE users", "LOCK TABLE through pgshard", "use SELECT … FOR UPDATE with the shard key fixed"),
            ("CHECKPOINT", "CHECKPOINT through pgshard", "run it on each shard directly"),
            ("LOAD 'auto_explain'", "LOAD through pgshard", "run it on each shard directly"),
            ("CREATE DATABASE d", "managing databases through pgshard", "run it on each shard directly"),
            ("CREATE ROLE r", "managing roles through pgshard", "manage roles on each shard server directly"),
            ("GRANT admin TO bob", "managing roles", "manage roles on each shard server directly"),
            ("ALTER SYSTEM SET work_mem = '1MB'", "ALTER SYSTEM through pgshard", "run it on each shard directly"),
            ("MERGE INTO users u USING countries c ON true WHEN MATCHED THEN DELETE", "MERGE through pgshard", "use INSERT … ON CONFLICT with the shard key"),
            ("CREATE TABLE t AS SELECT 1", "CREATE TABLE … AS through pgshard is not supported yet", "create the table with CREATE TABLE, then fill it with INSERT"),
            ("CREATE MATERIALIZED VIEW mv AS SELECT 1", "CREATE MATERIALIZED VIEW through pgshard", "create the table with CREATE TABLE, then fill it with INSERT"),
            ("REFRESH MATERIALIZED VIEW mv", "REFRESH MATERIALIZED VIEW through pgshard", "run it on each shard directly"),
            ("CREATE RULE r AS ON INSERT TO countries DO INSTEAD NOTHING", "CREATE RULE through pgshard", "use a trigger, created on every shard"),
        ]
        for (sql, message, hint) in cases {
            guard case .refuse(let error)? = Fixture.route(sql) else {
                XCTFail("expected a refusal for: \(sql), got \(String(describing: Fixture.route(sql)))")
                continue
            }
            XCTAssertEqual(error.sqlState, "0A000", sql)
            XCTAssertTrue(error.message.contains(message), "\(error.message) for: \(sql)")
            XCTAssertEqual(error.hint, hint, sql)
        }
    }

    func testSessionStateFunctionsAndNoOps() {
        let cases: [(String, Expected)] = [
            // Advisory locks are server-wide: always the same shard, whatever the session used.
            ("SELECT pg_advisory_lock(42)", .route(.shard(0))),
            ("SELECT pg_try_advisory_lock(1, 2)", .route(.shard(0))),
            ("SELECT pg_advisory_unlock_all()", .route(.shard(0))),
            ("SELECT pg_advisory_xact_lock(7)", .route(.shard(0))),
            ("SELECT set_config('search_path', 'x', false)",
             .route(.session(.set(sql: "SELECT set_config('search_path', 'x', false)", isLocal: false)))),
            ("SELECT pg_catalog.set_config('jit', 'off', true)",
             .route(.session(.set(sql: "SELECT pg_catalog.set_config('jit', 'off', true)", isLocal: true)))),
            ("SELECT set_config('app.x', name, false) FROM users WHERE id = 1", .refused("set_config() through pgshard is not supported")),
            // asyncpg's type introspection turns JIT off and back on this way.
            ("SELECT current_setting('jit') AS cur, set_config('jit', 'off', false) AS new",
             .route(.session(.set(sql: "SELECT current_setting('jit') AS cur, set_config('jit', 'off', false) AS new", isLocal: false)))),
            ("SELECT set_config('jit', $1, false)",
             .route(.session(.setConfig(sql: "SELECT set_config('jit', $1, false)", isLocal: false, parameter: 1, location: 25)))),
            ("CLOSE ALL", .route(.cursor(.close(nil)))),
            // Notifications live on the first shard, as advisory locks do.
            ("UNLISTEN *", .route(.shard(0))),
            ("LISTEN x", .route(.shard(0))),
            ("NOTIFY x, 'y'", .route(.shard(0))),
            ("SELECT pg_notify('x', 'y')", .route(.shard(0))),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }
}
