import XCTest

@testable import SQLRouter

/// Schema changes: every shard, or the one shard of a pinned table.
final class DDLRoutingTests: XCTestCase {
    func testDDLGoesToEveryShard() {
        let statements = [
            "CREATE TABLE users (id bigint PRIMARY KEY, name text)",
            "CREATE TABLE users (id integer, name text)",
            "CREATE TABLE users (id bigserial PRIMARY KEY)",
            "CREATE TABLE IF NOT EXISTS public.users (id pg_catalog.int8)",
            "CREATE TABLE users (LIKE template_users INCLUDING ALL)",
            "CREATE TABLE accounts (name varchar(100) PRIMARY KEY, balance numeric)",
            "CREATE TABLE accounts (name character varying)",
            "CREATE TABLE devices (uid uuid)",
            "CREATE TABLE orders (user_id bigint REFERENCES users (id), total numeric)",
            "CREATE TABLE countries (code text PRIMARY KEY, name text)",
            "CREATE TABLE not_configured_yet (a int)",
            "CREATE INDEX users_name ON users (name)",
            "CREATE UNIQUE INDEX CONCURRENTLY ON orders (user_id, id)",
            "DROP TABLE users",
            "DROP TABLE IF EXISTS users, orders CASCADE",
            "DROP INDEX users_name",
            "DROP VIEW v",
            "DROP SCHEMA s CASCADE",
            "DROP FUNCTION f(int)",
            "ALTER TABLE users ADD COLUMN email text",
            "ALTER TABLE users ALTER COLUMN id TYPE integer",
            "ALTER TABLE users RENAME TO people",
            "ALTER TABLE users RENAME COLUMN name TO full_name",
            "ALTER TABLE users SET SCHEMA s",
            "ALTER TABLE users OWNER TO bob",
            "ALTER INDEX users_name RENAME TO users_by_name",
            "CREATE SCHEMA s",
            "CREATE EXTENSION IF NOT EXISTS pgcrypto",
            "CREATE TYPE mood AS ENUM ('sad', 'ok')",
            "ALTER TYPE mood ADD VALUE 'happy'",
            "CREATE TYPE pair AS (a int, b int)",
            "ALTER TYPE pair OWNER TO bob",
            "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
            "CREATE AGGREGATE my_sum (int) (SFUNC = int4pl, STYPE = int)",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "CREATE VIEW v AS SELECT * FROM users",
            "CREATE SEQUENCE s",
            "ALTER SEQUENCE s RESTART",
            "COMMENT ON TABLE users IS 'people'",
            "COMMENT ON COLUMN users.name IS 'full name'",
            "GRANT SELECT ON users TO bob",
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM bob",
            "TRUNCATE users, orders",
            "VACUUM",
            "VACUUM (ANALYZE) users",
            "ANALYZE users",
            "CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION f()",
        ]
        for sql in statements {
            assertRoute(sql, .route(.allShards(.ddl)))
        }
    }

    func testDDLOfPinnedTablesRunsOnTheirShard() {
        let statements = [
            "CREATE TABLE audit_log (id bigint, msg text)",
            "CREATE TABLE audit_log (id bigint, country text REFERENCES audit_log (id))",
            "CREATE INDEX ON audit_log (msg)",
            "DROP TABLE audit_log",
            "ALTER TABLE audit_log ADD COLUMN x int",
            "TRUNCATE audit_log",
            "COMMENT ON TABLE audit_log IS 'x'",
            "COMMENT ON COLUMN audit_log.msg IS 'x'",
            "VACUUM audit_log",
            "GRANT SELECT ON audit_log TO bob",
        ]
        for sql in statements {
            assertRoute(sql, .route(.shard(2)))
        }
        assertRoute("DROP TABLE audit_log, users", .refused("DDL naming pinned table audit_log (shard 2) together with users"))
        assertRoute("CREATE TABLE x (a int REFERENCES audit_log)", .refused("DDL naming pinned table audit_log"))
        assertRoute("TRUNCATE users, audit_log", .refused("DDL naming pinned table audit_log"))
        // The view would exist on shard 2 only, under a name pgshard does not know.
        assertRoute("CREATE VIEW audit_view AS SELECT * FROM audit_log", .refused("DDL naming pinned table audit_log (shard 2) together with audit_view"))
    }

    func testShardKeyDeclarations() {
        guard case .refuse(let error)? = Fixture.route("CREATE TABLE users (id text PRIMARY KEY, name text)") else { return XCTFail() }
        XCTAssertEqual(error.sqlState, "42804")
        XCTAssertEqual(error.message, "shard key \"users.id\" is declared text but pgshard's configuration says bigint")
        let cases: [(String, Expected)] = [
            ("CREATE TABLE users (id numeric)", .refuse("42804", "shard key \"users.id\" is declared numeric but pgshard's configuration says bigint")),
            ("CREATE TABLE users (id bigint[])", .refuse("42804", "shard key \"users.id\" is declared bigint[] but")),
            ("CREATE TABLE users (id myschema.int8)", .refuse("42804", "shard key \"users.id\" is declared")),
            ("CREATE TABLE devices (uid text)", .refuse("42804", "shard key \"devices.uid\" is declared text but pgshard's configuration says uuid")),
            ("CREATE TABLE accounts (name bigint)", .refuse("42804", "is declared bigint but pgshard's configuration says text")),
            ("CREATE TABLE users (name text)", .refuse("42703", "CREATE TABLE users does not declare the shard key column \"id\"")),
            ("ALTER TABLE users ALTER COLUMN id TYPE text", .refuse("42804", "shard key \"users.id\" is declared text")),
            ("ALTER TABLE users DROP COLUMN id", .refused("ALTER TABLE cannot drop the shard key \"id\" of table \"users\"")),
            ("ALTER TABLE users RENAME COLUMN id TO user_id", .refused("ALTER TABLE cannot rename the shard key \"id\"")),
        ]
        for (sql, expected) in cases { assertRoute(sql, expected) }
    }
}
