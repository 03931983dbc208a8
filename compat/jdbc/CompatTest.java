import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.postgresql.PGConnection;
import org.postgresql.PGStatement;
import org.postgresql.copy.CopyManager;

/**
 * pgjdbc through pgshard: the way an application uses it.
 *
 * <p>pgjdbc sends every statement with the extended protocol (Parse/Bind/Describe/Execute/Sync,
 * unnamed statement), plain {@code Statement}s included. From the fifth execution of a
 * {@code PreparedStatement} on (prepareThreshold) it uses a named server statement ({@code S_n})
 * and binary transfer for the types it can read in binary. With autocommit off and a fetch size
 * it reads a named portal ({@code C_n}) with Execute(max rows) and PortalSuspended. A batch is
 * many Bind/Execute pairs before one Sync. {@code setQueryTimeout} sends a CancelRequest. Rows
 * written here use ids 4_000_000 and up.
 *
 * <p>Arguments: --host H --port P --user U --dbname D (else PGHOST, PGPORT, PGUSER, PGDATABASE).
 */
public final class CompatTest {
    private static final long BASE = 4_000_000L;
    private static final int CHECK_SECONDS = 20;
    private static String url;
    private static String user;
    private static int passed;
    private static int failed;
    private static final ExecutorService RUNNER = Executors.newCachedThreadPool(r -> {
        Thread thread = new Thread(r);
        thread.setDaemon(true);
        return thread;
    });

    interface Check {
        void run() throws Exception;
    }

    public static void main(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String host = options.getOrDefault("host", env("PGHOST", "127.0.0.1"));
        String port = options.getOrDefault("port", env("PGPORT", "6432"));
        String dbname = options.getOrDefault("dbname", env("PGDATABASE", "demo"));
        user = options.getOrDefault("user", env("PGUSER", "demo"));
        url = "jdbc:postgresql://" + host + ":" + port + "/" + dbname;

        run("cleanup_start", CompatTest::cleanup);
        run("connect", CompatTest::checkConnect);
        run("select_literal", CompatTest::checkSelectLiteral);
        run("select_param", CompatTest::checkSelectParam);
        run("simple_query_mode", CompatTest::checkSimpleQueryMode);
        run("insert_returning", CompatTest::checkInsertReturning);
        run("generated_keys", CompatTest::checkGeneratedKeys);
        run("update_delete_rowcount", CompatTest::checkUpdateDeleteRowcount);
        run("multi_shard_select", CompatTest::checkMultiShardSelect);
        run("multi_shard_param", CompatTest::checkMultiShardParam);
        run("transaction_commit", CompatTest::checkTransactionCommit);
        run("transaction_rollback", CompatTest::checkTransactionRollback);
        run("unique_violation", CompatTest::checkUniqueViolation);
        run("nulls", CompatTest::checkNulls);
        run("types_text", CompatTest::checkTypesText);
        run("types_binary", CompatTest::checkTypesBinary);
        run("server_prepared_binary", CompatTest::checkServerPreparedBinary);
        run("fetch_size_cursor", CompatTest::checkFetchSizeCursor);
        run("batch_insert", CompatTest::checkBatchInsert);
        run("statement_batch", CompatTest::checkStatementBatch);
        run("statement_timeout", CompatTest::checkStatementTimeout);
        run("query_timeout_cancel", CompatTest::checkQueryTimeoutCancel);
        run("set_application_name", CompatTest::checkSetApplicationName);
        run("set_search_path", CompatTest::checkSetSearchPath);
        run("metadata", CompatTest::checkMetadata);
        run("copy_out", CompatTest::checkCopyOut);
        run("copy_in", CompatTest::checkCopyIn);
        run("cleanup_end", CompatTest::cleanup);
        System.out.println(passed + " passed, " + failed + " failed");
        System.out.flush();
        System.exit(failed == 0 ? 0 : 1);
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    /** Runs one check in a worker thread, failing it after CHECK_SECONDS. */
    private static void run(String name, Check check) {
        Future<?> future = RUNNER.submit(() -> {
            check.run();
            return null;
        });
        String failure = null;
        try {
            future.get(CHECK_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            failure = "no answer within " + CHECK_SECONDS + " s";
        } catch (java.util.concurrent.ExecutionException e) {
            failure = describe(e.getCause());
        } catch (InterruptedException e) {
            failure = "interrupted";
        }
        if (failure == null) {
            passed++;
            System.out.println("PASS " + name);
        } else {
            failed++;
            System.out.println("FAIL " + name + ": " + failure);
        }
        System.out.flush();
    }

    private static String describe(Throwable error) {
        String text = error.getClass().getSimpleName();
        if (error instanceof SQLException) {
            text += " [" + ((SQLException) error).getSQLState() + "]";
        }
        String message = Objects.toString(error.getMessage(), "").replaceAll("\\s+", " ");
        text += ": " + message;
        return text.length() > 400 ? text.substring(0, 400) : text;
    }

    private static Connection connect(String... extra) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", user);
        properties.setProperty("connectTimeout", "10");
        properties.setProperty("socketTimeout", "30");
        for (int i = 0; i + 1 < extra.length; i += 2) {
            properties.setProperty(extra[i], extra[i + 1]);
        }
        return DriverManager.getConnection(url, properties);
    }

    private static void expect(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    private static void expectEqual(Object actual, Object expected, String what) {
        if (!Objects.equals(actual, expected)) {
            throw new AssertionError(what + ": expected " + expected + ", got " + actual);
        }
    }

    private static String ownIds() {
        StringBuilder ids = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            ids.append(i == 0 ? "" : ", ").append(BASE + i);
        }
        return ids.toString();
    }

    private static Map<Long, String> seededUsers() {
        Map<Long, String> users = new HashMap<>();
        for (int i = 1; i <= 100; i++) {
            users.put(1_000_000L + i, "user " + i);
        }
        return users;
    }

    /** Deletes this program's rows with simple Queries, which every pgshard version carries. */
    private static void cleanup() throws SQLException {
        try (Connection conn = connect("preferQueryMode", "simple"); Statement st = conn.createStatement()) {
            st.execute("DELETE FROM orders WHERE user_id IN (" + ownIds() + ")");
            st.execute("DELETE FROM users WHERE id IN (" + ownIds() + ")");
        }
    }

    private static void checkConnect() throws SQLException {
        try (Connection conn = connect(); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT 1")) {
            expect(rs.next(), "a row");
            expectEqual(rs.getInt(1), 1, "SELECT 1");
            expect(conn.getMetaData().getDatabaseMajorVersion() >= 10, "server version");
        }
    }

    private static void checkSelectLiteral() throws SQLException {
        try (Connection conn = connect(); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, name, country FROM users WHERE id = 1000001")) {
            expect(rs.next(), "a row");
            expectEqual(rs.getLong(1), 1000001L, "id");
            expectEqual(rs.getString(2), "user 1", "name");
            expectEqual(rs.getString(3), "fr", "country");
            expect(!rs.next(), "one row");
        }
    }

    private static void checkSelectParam() throws SQLException {
        try (Connection conn = connect();
             PreparedStatement ps = conn.prepareStatement("SELECT id, amount FROM orders WHERE user_id = ? ORDER BY id")) {
            ps.setLong(1, 1000042L);
            List<String> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(rs.getLong(1) + ":" + rs.getBigDecimal(2));
                }
            }
            expectEqual(rows, Arrays.asList("1:42.50", "2:84.50", "3:126.50"), "orders");
        }
    }

    private static void checkSimpleQueryMode() throws SQLException {
        // preferQueryMode=simple: pgjdbc inlines the parameters and sends simple Queries.
        try (Connection conn = connect("preferQueryMode", "simple");
             PreparedStatement ps = conn.prepareStatement("SELECT name FROM users WHERE id = ?")) {
            for (int i = 1; i <= 3; i++) {
                ps.setLong(1, 1_000_000L + i);
                try (ResultSet rs = ps.executeQuery()) {
                    expect(rs.next(), "a row");
                    expectEqual(rs.getString(1), "user " + i, "name");
                }
            }
        }
    }

    private static void checkInsertReturning() throws SQLException {
        try (Connection conn = connect();
             PreparedStatement ps = conn.prepareStatement(
                 "INSERT INTO users (id, name, email, country) VALUES (?, ?, ?, ?) RETURNING id, name, created_at")) {
            ps.setLong(1, BASE + 1);
            ps.setString(2, "Zoë Ñandú 東京");
            ps.setString(3, "zoe@example.com");
            ps.setString(4, "jp");
            try (ResultSet rs = ps.executeQuery()) {
                expect(rs.next(), "a returned row");
                expectEqual(rs.getLong(1), BASE + 1, "id");
                expectEqual(rs.getString(2), "Zoë Ñandú 東京", "name");
                expect(rs.getObject(3, OffsetDateTime.class) != null, "created_at default");
            }
        }
    }

    private static void checkGeneratedKeys() throws SQLException {
        // RETURN_GENERATED_KEYS makes pgjdbc append "RETURNING *" to the statement.
        try (Connection conn = connect();
             PreparedStatement ps = conn.prepareStatement("INSERT INTO users (id, name) VALUES (?, ?)",
                                                          Statement.RETURN_GENERATED_KEYS)) {
            ps.setLong(1, BASE + 4);
            ps.setString(2, "generated");
            expectEqual(ps.executeUpdate(), 1, "update count");
            try (ResultSet keys = ps.getGeneratedKeys()) {
                expect(keys.next(), "a generated-keys row");
                expectEqual(keys.getLong("id"), BASE + 4, "id");
                expect(keys.getObject("created_at") != null, "created_at");
            }
        }
    }

    private static void checkUpdateDeleteRowcount() throws SQLException {
        try (Connection conn = connect()) {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO users (id, name) VALUES (?, ?)")) {
                ps.setLong(1, BASE + 2);
                ps.setString(2, "to update");
                expectEqual(ps.executeUpdate(), 1, "INSERT count");
            }
            try (PreparedStatement ps = conn.prepareStatement("UPDATE users SET email = ? WHERE id = ?")) {
                ps.setString(1, "u@example.com");
                ps.setLong(2, BASE + 2);
                expectEqual(ps.executeUpdate(), 1, "UPDATE count");
                ps.setLong(2, BASE + 99);
                expectEqual(ps.executeUpdate(), 0, "UPDATE of a missing key");
            }
            try (PreparedStatement ps = conn.prepareStatement("DELETE FROM users WHERE id = ?")) {
                ps.setLong(1, BASE + 2);
                expectEqual(ps.executeUpdate(), 1, "DELETE count");
                expectEqual(ps.executeUpdate(), 0, "second DELETE");
            }
        }
    }

    private static void checkMultiShardSelect() throws SQLException {
        try (Connection conn = connect(); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, name FROM users")) {
            Map<Long, String> seen = new HashMap<>();
            int rows = 0;
            while (rs.next()) {
                rows++;
                long id = rs.getLong(1);
                if (id > 1_000_000L && id <= 1_000_100L) {
                    seen.put(id, rs.getString(2));
                }
            }
            expectEqual(seen, seededUsers(), "seeded users");
            expect(rows >= 100, "at least the seeded rows");
        }
    }

    private static void checkMultiShardParam() throws SQLException {
        try (Connection conn = connect();
             PreparedStatement ps = conn.prepareStatement("SELECT id FROM users WHERE country = ?")) {
            ps.setString(1, "de");
            int seeded = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long id = rs.getLong(1);
                    if (id > 1_000_000L && id <= 1_000_100L) {
                        expectEqual((id - 1_000_000L) % 5, 0L, "country of " + id);
                        seeded++;
                    }
                }
            }
            expectEqual(seeded, 20, "seeded users with country de");
        }
    }

    private static int countUsers(Connection conn, long... ids) throws SQLException {
        int count = 0;
        try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM users WHERE id = ?")) {
            for (long id : ids) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        count++;
                    }
                }
            }
        }
        return count;
    }

    private static void checkTransactionCommit() throws SQLException {
        try (Connection conn = connect()) {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO users (id, name) VALUES (?, ?)")) {
                for (long id = BASE + 10; id <= BASE + 12; id++) {
                    ps.setLong(1, id);
                    ps.setString(2, "committed");
                    ps.executeUpdate();
                }
            }
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO orders (id, user_id, amount) VALUES (?, ?, ?)")) {
                ps.setLong(1, 1);
                ps.setLong(2, BASE + 10);
                ps.setBigDecimal(3, new BigDecimal("9.99"));
                ps.executeUpdate();
            }
            conn.commit();
        }
        try (Connection other = connect()) {
            expectEqual(countUsers(other, BASE + 10, BASE + 11, BASE + 12), 3, "committed rows");
        }
    }

    private static void checkTransactionRollback() throws SQLException {
        try (Connection conn = connect()) {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO users (id, name) VALUES (?, ?)")) {
                for (long id = BASE + 13; id <= BASE + 14; id++) {
                    ps.setLong(1, id);
                    ps.setString(2, "rolled back");
                    ps.executeUpdate();
                }
            }
            expectEqual(countUsers(conn, BASE + 13), 1, "row visible inside the transaction");
            conn.rollback();
            expectEqual(countUsers(conn, BASE + 13, BASE + 14), 0, "rows after ROLLBACK");
        }
    }

    private static void checkUniqueViolation() throws SQLException {
        try (Connection conn = connect()) {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO users (id, name) VALUES (?, ?)")) {
                ps.setLong(1, 1000001L);
                ps.setString(2, "duplicate");
                ps.executeUpdate();
                throw new AssertionError("duplicate key accepted");
            } catch (SQLException e) {
                expectEqual(e.getSQLState(), "23505", "SQLSTATE (" + e.getMessage() + ")");
            }
            expectEqual(countUsers(conn, 1000001L), 1, "session works after the error");
        }
    }

    private static void checkNulls() throws SQLException {
        try (Connection conn = connect()) {
            try (PreparedStatement ps = conn.prepareStatement(
                     "INSERT INTO users (id, name, email, country) VALUES (?, ?, ?, ?)")) {
                ps.setLong(1, BASE + 3);
                ps.setString(2, "no email");
                ps.setNull(3, Types.VARCHAR);
                ps.setString(4, null);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT email, country FROM users WHERE id = ?")) {
                ps.setLong(1, BASE + 3);
                try (ResultSet rs = ps.executeQuery()) {
                    expect(rs.next(), "a row");
                    expect(rs.getString(1) == null && rs.wasNull(), "email is NULL");
                    expect(rs.getString(2) == null, "country is NULL");
                }
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT ?::int4 IS NULL, ?::int8")) {
                ps.setNull(1, Types.INTEGER);
                ps.setNull(2, Types.BIGINT);
                try (ResultSet rs = ps.executeQuery()) {
                    expect(rs.next(), "a row");
                    expect(rs.getBoolean(1), "NULL parameter");
                    rs.getLong(2);
                    expect(rs.wasNull(), "NULL int8 result");
                }
            }
        }
    }

    private static final String TEXT = "grüße, 日本語, emoji 🐘, quote ' and backslash \\";
    private static final byte[] BYTES = {0, 1, (byte) 0xfe, (byte) 0xff, ' ', 'p', 'g'};
    private static final OffsetDateTime MOMENT = OffsetDateTime.of(2024, 2, 29, 23, 59, 58, 123456000, ZoneOffset.UTC);
    private static final UUID ID = UUID.fromString("6f1c2a5e-7d1b-4c4e-9a51-3b2f8e0d9c01");
    private static final String JSON = "{\"a\": [1, 2.5, null, true], \"ü\": \"✓\", \"nested\": {\"k\": \"v\"}}";

    /** Binds one value of every type, reads it back, and compares. */
    private static void roundTrip(PreparedStatement ps) throws SQLException {
        ps.setShort(1, Short.MIN_VALUE);
        ps.setInt(2, Integer.MAX_VALUE);
        ps.setLong(3, Long.MIN_VALUE);
        ps.setBigDecimal(4, new BigDecimal("-12345678901234567890.0123456789"));
        ps.setDouble(5, 0.1);
        ps.setBoolean(6, true);
        ps.setString(7, TEXT);
        ps.setBytes(8, BYTES);
        ps.setObject(9, MOMENT);
        ps.setObject(10, LocalDate.of(1999, 12, 31));
        ps.setObject(11, ID);
        ps.setString(12, JSON);
        try (ResultSet rs = ps.executeQuery()) {
            expect(rs.next(), "a row");
            expectEqual(rs.getShort(1), Short.MIN_VALUE, "int2");
            expectEqual(rs.getInt(2), Integer.MAX_VALUE, "int4");
            expectEqual(rs.getLong(3), Long.MIN_VALUE, "int8");
            expectEqual(rs.getBigDecimal(4), new BigDecimal("-12345678901234567890.0123456789"), "numeric");
            expectEqual(rs.getDouble(5), 0.1, "float8");
            expectEqual(rs.getBoolean(6), true, "bool");
            expectEqual(rs.getString(7), TEXT, "text");
            expect(Arrays.equals(rs.getBytes(8), BYTES), "bytea: got " + Arrays.toString(rs.getBytes(8)));
            expectEqual(rs.getObject(9, OffsetDateTime.class).toInstant(), MOMENT.toInstant(), "timestamptz");
            expectEqual(rs.getObject(10, LocalDate.class), LocalDate.of(1999, 12, 31), "date");
            expectEqual(rs.getObject(11), ID, "uuid");
            expectEqual(rs.getString(12), JSON, "jsonb");
        }
    }

    private static final String TYPES_QUERY = "SELECT ?::int2, ?::int4, ?::int8, ?::numeric, ?::float8, ?::bool, "
        + "?::text, ?::bytea, ?::timestamptz, ?::date, ?::uuid, ?::jsonb";

    private static void checkTypesText() throws SQLException {
        try (Connection conn = connect("binaryTransfer", "false");
             PreparedStatement ps = conn.prepareStatement(TYPES_QUERY)) {
            roundTrip(ps);
        }
    }

    private static void checkTypesBinary() throws SQLException {
        // prepareThreshold=-1: a named server statement and binary transfer from the first execution.
        try (Connection conn = connect("prepareThreshold", "-1");
             PreparedStatement ps = conn.prepareStatement(TYPES_QUERY)) {
            for (int i = 0; i < 3; i++) {
                roundTrip(ps);
            }
        }
    }

    private static void checkServerPreparedBinary() throws SQLException {
        // The default prepareThreshold (5): executions 5 and later use a named statement, binary rows.
        try (Connection conn = connect();
             PreparedStatement ps = conn.prepareStatement(
                 "SELECT id, name, created_at, ?::uuid, ?::float8 FROM users WHERE id = ?")) {
            for (int i = 1; i <= 12; i++) {
                ps.setObject(1, ID);
                ps.setDouble(2, i + 0.25);
                ps.setLong(3, 1_000_000L + i);
                try (ResultSet rs = ps.executeQuery()) {
                    expect(rs.next(), "row of execution " + i);
                    expectEqual(rs.getLong(1), 1_000_000L + i, "id of execution " + i);
                    expectEqual(rs.getString(2), "user " + i, "name of execution " + i);
                    expect(rs.getObject(3, OffsetDateTime.class) != null, "created_at of execution " + i);
                    expectEqual(rs.getObject(4), ID, "uuid of execution " + i);
                    expectEqual(rs.getDouble(5), i + 0.25, "float8 of execution " + i);
                }
            }
            expect(ps.unwrap(PGStatement.class).isUseServerPrepare(), "pgjdbc switched to a server-prepared statement");
        }
    }

    private static void checkFetchSizeCursor() throws SQLException {
        try (Connection conn = connect()) {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(10);
                Map<Long, String> seen = new HashMap<>();
                try (ResultSet rs = st.executeQuery("SELECT id, name FROM users")) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        if (id > 1_000_000L && id <= 1_000_100L) {
                            seen.put(id, rs.getString(2));
                        }
                    }
                }
                expectEqual(seen, seededUsers(), "rows read 10 at a time");
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM orders WHERE user_id = ?")) {
                ps.setFetchSize(1);
                ps.setLong(1, 1000001L);
                int rows = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows++;
                    }
                }
                expectEqual(rows, 3, "rows read 1 at a time");
            }
            conn.commit();
        }
    }

    private static void checkBatchInsert() throws SQLException {
        try (Connection conn = connect()) {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO users (id, name, country) VALUES (?, ?, ?)")) {
                for (long id = BASE + 30; id < BASE + 42; id++) {
                    ps.setLong(1, id);
                    ps.setString(2, "batch " + id);
                    ps.setString(3, "br");
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                expectEqual(counts.length, 12, "batch results");
                for (int count : counts) {
                    expect(count == 1 || count == Statement.SUCCESS_NO_INFO, "each insert counted: " + Arrays.toString(counts));
                }
            }
            conn.commit();
            long[] ids = new long[12];
            for (int i = 0; i < 12; i++) {
                ids[i] = BASE + 30 + i;
            }
            expectEqual(countUsers(conn, ids), 12, "rows after the batch");
        }
    }

    private static void checkStatementBatch() throws SQLException {
        try (Connection conn = connect(); Statement st = conn.createStatement()) {
            st.addBatch("INSERT INTO users (id, name) VALUES (" + (BASE + 43) + ", 'statement batch')");
            st.addBatch("UPDATE users SET email = 'b@example.com' WHERE id = " + (BASE + 43));
            st.addBatch("DELETE FROM users WHERE id = " + (BASE + 43));
            expectEqual(Arrays.toString(st.executeBatch()), "[1, 1, 1]", "counts");
        }
    }

    private static void checkStatementTimeout() throws SQLException {
        try (Connection conn = connect(); Statement st = conn.createStatement()) {
            st.execute("SET statement_timeout = '500ms'");
            try {
                st.executeQuery("SELECT pg_sleep(5) FROM users WHERE id = 1000001").close();
                throw new AssertionError("pg_sleep(5) was not cancelled");
            } catch (SQLException e) {
                expectEqual(e.getSQLState(), "57014", "SQLSTATE (" + e.getMessage() + ")");
            }
            st.execute("RESET statement_timeout");
            expectEqual(countUsers(conn, 1000001L), 1, "session works after the timeout");
        }
    }

    private static void checkQueryTimeoutCancel() throws SQLException {
        try (Connection conn = connect(); PreparedStatement ps = conn.prepareStatement(
                 "SELECT pg_sleep(5) FROM users WHERE id = ?")) {
            ps.setLong(1, 1000001L);
            ps.setQueryTimeout(1);
            long started = System.nanoTime();
            try {
                ps.executeQuery().close();
                throw new AssertionError("pg_sleep(5) was not cancelled");
            } catch (SQLException e) {
                expectEqual(e.getSQLState(), "57014", "SQLSTATE (" + e.getMessage() + ")");
            }
            expect(System.nanoTime() - started < 4_000_000_000L, "cancelled before pg_sleep ended");
            expectEqual(countUsers(conn, 1000001L), 1, "session works after the cancel");
        }
    }

    private static String one(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            expect(rs.next(), "a row from " + sql);
            return rs.getString(1);
        }
    }

    private static void checkSetApplicationName() throws SQLException {
        try (Connection conn = connect("ApplicationName", "compat-jdbc-startup")) {
            expectEqual(one(conn, "SHOW application_name"), "compat-jdbc-startup", "startup parameter");
            conn.setClientInfo("ApplicationName", "compat-jdbc"); // pgjdbc sends SET application_name
            expectEqual(one(conn, "SHOW application_name"), "compat-jdbc", "after setClientInfo");
            for (long key = 1000001L; key <= 1000004L; key++) {
                expectEqual(one(conn, "SELECT current_setting('application_name') FROM users WHERE id = " + key),
                            "compat-jdbc", "setting seen by the shard of " + key);
            }
        }
    }

    private static void checkSetSearchPath() throws SQLException {
        try (Connection conn = connect()) {
            conn.setSchema("pg_catalog"); // SET SESSION search_path TO 'pg_catalog'
            expectEqual(conn.getSchema(), "pg_catalog", "getSchema");
            try {
                one(conn, "SELECT name FROM users WHERE id = 1000001");
                throw new AssertionError("users found without public on the search_path");
            } catch (SQLException e) {
                expectEqual(e.getSQLState(), "42P01", "SQLSTATE (" + e.getMessage() + ")");
            }
            conn.setSchema("public");
            expectEqual(one(conn, "SELECT name FROM users WHERE id = 1000001"), "user 1", "after setSchema(public)");
        }
    }

    private static void checkMetadata() throws SQLException {
        // What tools and ORMs ask: catalog queries sent by DatabaseMetaData.
        try (Connection conn = connect()) {
            DatabaseMetaData meta = conn.getMetaData();
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = meta.getTables(null, "public", "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    tables.add(rs.getString("TABLE_NAME"));
                }
            }
            expect(tables.containsAll(Arrays.asList("countries", "orders", "users")), "tables: " + tables);
            List<String> columns = new ArrayList<>();
            try (ResultSet rs = meta.getColumns(null, "public", "users", "%")) {
                while (rs.next()) {
                    columns.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
                }
            }
            expectEqual(columns, Arrays.asList("id:int8", "name:text", "email:text", "country:text",
                                               "created_at:timestamptz"), "columns of users");
            List<String> keys = new ArrayList<>();
            try (ResultSet rs = meta.getPrimaryKeys(null, "public", "orders")) {
                while (rs.next()) {
                    keys.add(rs.getString("COLUMN_NAME"));
                }
            }
            expectEqual(keys, Arrays.asList("user_id", "id"), "primary key of orders");
        }
    }

    private static void checkCopyOut() throws Exception {
        try (Connection conn = connect()) {
            CopyManager copy = conn.unwrap(PGConnection.class).getCopyAPI();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            long rows = copy.copyOut("COPY (SELECT id, name FROM users WHERE id = 1000001) TO STDOUT", out);
            expectEqual(rows, 1L, "rows");
            expectEqual(out.toString(StandardCharsets.UTF_8), "1000001\tuser 1\n", "data");
        }
    }

    private static void checkCopyIn() throws Exception {
        try (Connection conn = connect()) {
            CopyManager copy = conn.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder data = new StringBuilder();
            long[] ids = new long[8];
            for (int i = 0; i < 8; i++) {
                ids[i] = BASE + 50 + i;
                data.append(ids[i]).append("\tcopied ").append(ids[i]).append("\tus\n");
            }
            long rows = copy.copyIn("COPY users (id, name, country) FROM STDIN", new StringReader(data.toString()));
            expectEqual(rows, 8L, "rows");
            expectEqual(countUsers(conn, ids), 8, "rows copied in");
        }
    }
}
