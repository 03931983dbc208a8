"""psycopg 3 through pgshard: the way an application uses it.

psycopg sends a statement without parameters as a simple Query and one with parameters with
the extended protocol (Parse/Bind/Describe/Execute/Sync, unnamed statement); after
`prepare_threshold` (5) executions of the same text, or with `prepare=True`, it prepares a
named statement (`_pg3_N`). `executemany` uses libpq's pipeline mode. Named cursors are
`DECLARE ... CURSOR` + `FETCH`. Rows written here use ids 2_000_000 and up.
"""

import datetime
import decimal
import sys
import threading
import time
import uuid

import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb

from compat_check import (SEEDED_USERS, Report, connection_parameters, expect, expect_equal,
                          id_list)

BASE = 2_000_000
OWN_IDS = [BASE + i for i in range(100)]
ARGS = connection_parameters(__doc__.splitlines()[0])


def connect(**options):
    return psycopg.connect(host=ARGS.host, port=ARGS.port, user=ARGS.user, dbname=ARGS.dbname,
                           connect_timeout=10, **options)


def cleanup():
    # No parameters: a simple Query, which every pgshard version carries.
    with connect(autocommit=True) as conn:
        conn.execute(f"DELETE FROM orders WHERE user_id IN ({id_list(OWN_IDS)})")
        conn.execute(f"DELETE FROM users WHERE id IN ({id_list(OWN_IDS)})")


def check_connect():
    with connect() as conn:
        expect_equal(conn.execute("SELECT 1").fetchone(), (1,), "SELECT 1")
        expect(conn.info.server_version >= 100000, "server_version from ParameterStatus")
        expect_equal(conn.info.parameter_status("client_encoding"), "UTF8", "client_encoding")


def check_select_literal():
    with connect() as conn:
        row = conn.execute("SELECT id, name, country FROM users WHERE id = 1000001").fetchone()
        expect_equal(row, (1000001, "user 1", "fr"), "row")


def check_select_param():
    with connect() as conn:
        row = conn.execute("SELECT id, name FROM users WHERE id = %s", (1000042,)).fetchone()
        expect_equal(row, (1000042, "user 42"), "row")
        orders = conn.execute("SELECT id, amount FROM orders WHERE user_id = %s", (1000042,)).fetchall()
        expect_equal(sorted(orders), [(1, decimal.Decimal("42.50")), (2, decimal.Decimal("84.50")),
                                      (3, decimal.Decimal("126.50"))], "orders")


def check_client_side_binding():
    # ClientCursor merges the parameters into the text: a simple Query on the wire.
    with connect(cursor_factory=psycopg.ClientCursor) as conn:
        row = conn.execute("SELECT id, name FROM users WHERE id = %s", (1000007,)).fetchone()
        expect_equal(row, (1000007, "user 7"), "row")


def check_insert_returning():
    with connect() as conn:
        row = conn.execute(
            "INSERT INTO users (id, name, email, country) VALUES (%s, %s, %s, %s) RETURNING id, name, created_at",
            (BASE + 1, "Zoë Ñandú 東京", "zoe@example.com", "jp")).fetchone()
        conn.commit()
        expect_equal(row[:2], (BASE + 1, "Zoë Ñandú 東京"), "returned row")
        expect(isinstance(row[2], datetime.datetime) and row[2].tzinfo is not None, "created_at default")
        again = conn.execute("SELECT name FROM users WHERE id = %s", (BASE + 1,)).fetchone()
        expect_equal(again, ("Zoë Ñandú 東京",), "read back")


def check_update_delete_rowcount():
    with connect(autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, name) VALUES (%s, %s)", (BASE + 2, "to update"))
        cur = conn.execute("UPDATE users SET email = %s WHERE id = %s", ("u@example.com", BASE + 2))
        expect_equal(cur.rowcount, 1, "UPDATE rowcount")
        cur = conn.execute("UPDATE users SET email = %s WHERE id = %s", ("u@example.com", BASE + 99))
        expect_equal(cur.rowcount, 0, "UPDATE of a missing key")
        cur = conn.execute("DELETE FROM users WHERE id = %s", (BASE + 2,))
        expect_equal(cur.rowcount, 1, "DELETE rowcount")
        expect_equal(conn.execute("SELECT id FROM users WHERE id = %s", (BASE + 2,)).fetchall(), [], "gone")


def check_multi_shard_select():
    with connect() as conn:
        rows = conn.execute("SELECT id, name FROM users").fetchall()
        seeded = {i: n for i, n in rows if i in SEEDED_USERS}
        expect_equal(len(seeded), 100, "seeded users seen")
        expect_equal(seeded, SEEDED_USERS, "names")
        expect_equal(len(rows), len({i for i, _ in rows}), "no duplicate rows")


def check_multi_shard_param():
    with connect() as conn:
        rows = conn.execute("SELECT id FROM users WHERE country = %s", ("de",)).fetchall()
        ids = {r[0] for r in rows if r[0] in SEEDED_USERS}
        expect_equal(ids, {i for i in SEEDED_USERS if (i - 1_000_000) % 5 == 0}, "ids with country de")


def check_transaction_commit():
    with connect() as conn:
        with conn.transaction():
            # Two keys: most likely two shards, so the commit spans shards.
            for key in (BASE + 10, BASE + 11, BASE + 12):
                conn.execute("INSERT INTO users (id, name) VALUES (%s, %s)", (key, "committed"))
            conn.execute("INSERT INTO orders (id, user_id, amount) VALUES (%s, %s, %s)",
                          (1, BASE + 10, decimal.Decimal("9.99")))
        conn.commit()
    with connect() as other:
        rows = other.execute("SELECT id FROM users WHERE id IN (%s, %s, %s)",
                             (BASE + 10, BASE + 11, BASE + 12)).fetchall()
        expect_equal(sorted(r[0] for r in rows), [BASE + 10, BASE + 11, BASE + 12], "committed rows")


def check_transaction_rollback():
    with connect() as conn:
        with conn.transaction(force_rollback=True):
            conn.execute("INSERT INTO users (id, name) VALUES (%s, %s)", (BASE + 13, "rolled back"))
            conn.execute("INSERT INTO users (id, name) VALUES (%s, %s)", (BASE + 14, "rolled back"))
            seen = conn.execute("SELECT id FROM users WHERE id = %s", (BASE + 13,)).fetchall()
            expect_equal(len(seen), 1, "row visible inside the transaction")
        conn.commit()
        rows = conn.execute("SELECT id FROM users WHERE id IN (%s, %s)", (BASE + 13, BASE + 14)).fetchall()
        expect_equal(rows, [], "rows after ROLLBACK")


def check_unique_violation():
    with connect() as conn:
        try:
            conn.execute("INSERT INTO users (id, name) VALUES (%s, %s)", (1000001, "duplicate"))
            raise AssertionError("duplicate key accepted")
        except errors.UniqueViolation as error:
            expect_equal(error.sqlstate, "23505", "SQLSTATE")
            expect_equal(error.diag.constraint_name, "users_pkey", "constraint name")
        conn.rollback()
        expect_equal(conn.execute("SELECT name FROM users WHERE id = %s", (1000001,)).fetchone(),
                     ("user 1",), "session works after the error")


def check_nulls():
    with connect(autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, name, email, country) VALUES (%s, %s, %s, %s)",
                     (BASE + 3, "no email", None, None))
        row = conn.execute("SELECT email, country FROM users WHERE id = %s", (BASE + 3,)).fetchone()
        expect_equal(row, (None, None), "NULL columns")
        row = conn.execute("SELECT %s::int4 IS NULL, %s::text", (None, None)).fetchone()
        expect_equal(row, (True, None), "NULL parameters")


TYPE_VALUES = [
    ("int2", -32768),
    ("int4", 2147483647),
    ("int8", -9223372036854775808),
    ("numeric", decimal.Decimal("-12345678901234567890.0123456789")),
    ("float8", 0.1),
    ("bool", True),
    ("text", "grüße, 日本語, emoji 🐘, quote ' and backslash \\"),
    ("bytea", b"\x00\x01\xfe\xff pg"),
    ("timestamptz", datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=datetime.timezone.utc)),
    ("date", datetime.date(1999, 12, 31)),
    ("uuid", uuid.UUID("6f1c2a5e-7d1b-4c4e-9a51-3b2f8e0d9c01")),
    ("jsonb", {"a": [1, 2.5, None, True], "ü": "✓", "nested": {"k": "v"}}),
]


def _round_trip(placeholder, binary):
    with connect() as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        params = [Jsonb(v) if t == "jsonb" else v for t, v in TYPE_VALUES]
        query = "SELECT " + ", ".join(f"{placeholder}::{t}" for t, _ in TYPE_VALUES)
        row = conn.cursor(binary=binary).execute(query, params).fetchone()
        for (type_name, value), got in zip(TYPE_VALUES, row):
            if isinstance(got, memoryview):
                got = bytes(got)
            expect_equal(got, value, type_name)


def check_types_text():
    _round_trip("%t", binary=False)


def check_types_binary():
    _round_trip("%b", binary=True)


def check_types_literal():
    # A simple Query: values travel as text in both directions.
    with connect() as conn:
        row = conn.execute("SELECT 32767::int2, 1.5::float8, 'ü'::text, '\\x00ff'::bytea, "
                           "'2024-02-29'::date, '{\"k\": [1]}'::jsonb, NULL::int8").fetchone()
        expect_equal(row, (32767, 1.5, "ü", b"\x00\xff", datetime.date(2024, 2, 29), {"k": [1]}, None), "row")


def check_prepared_reuse():
    with connect(autocommit=True) as conn:
        for i in range(1, 13):
            row = conn.execute("SELECT name FROM users WHERE id = %s", (1_000_000 + i,)).fetchone()
            expect_equal(row, (f"user {i}",), f"execution {i}")
        # prepare=True prepares at once; the statement is reused by name afterwards.
        for i in range(20, 26):
            row = conn.execute("SELECT id, name FROM users WHERE id = %s", (1_000_000 + i,), prepare=True).fetchone()
            expect_equal(row, (1_000_000 + i, f"user {i}"), f"prepared execution {i}")


def check_named_cursor():
    with connect() as conn:
        with conn.transaction():
            with conn.cursor(name="compat_psycopg_cursor") as cur:
                cur.execute("SELECT id, name FROM users")
                first = cur.fetchmany(10)
                expect_equal(len(first), 10, "first batch")
                rest = cur.fetchall()
        seen = {i: n for i, n in first + rest if i in SEEDED_USERS}
        expect_equal(seen, SEEDED_USERS, "rows through the cursor")


def check_executemany():
    keys = [BASE + 30 + i for i in range(10)]
    with connect() as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO users (id, name, country) VALUES (%s, %s, %s)",
                            [(k, f"many {k}", "br") for k in keys])
        conn.commit()
        rows = conn.execute(f"SELECT id, name FROM users WHERE id IN ({id_list(keys)})").fetchall()
        expect_equal(sorted(rows), [(k, f"many {k}") for k in keys], "inserted rows")


def check_pipeline():
    with connect(autocommit=True) as conn:
        with conn.pipeline():
            cursors = [conn.execute("SELECT name FROM users WHERE id = %s", (1_000_000 + i,)) for i in (3, 4, 5)]
        expect_equal([c.fetchone() for c in cursors], [("user 3",), ("user 4",), ("user 5",)], "pipelined results")


def check_statement_timeout():
    with connect(autocommit=True) as conn:
        conn.execute("SET statement_timeout = '500ms'")
        try:
            conn.execute("SELECT pg_sleep(5) FROM users WHERE id = 1000001")
            raise AssertionError("pg_sleep(5) was not cancelled")
        except errors.QueryCanceled as error:
            expect_equal(error.sqlstate, "57014", "SQLSTATE")
        conn.execute("RESET statement_timeout")
        expect_equal(conn.execute("SELECT name FROM users WHERE id = 1000001").fetchone(), ("user 1",),
                     "session works after the timeout")


def check_cancel():
    with connect(autocommit=True) as conn:
        timer = threading.Timer(0.5, conn.cancel)
        started = time.monotonic()
        timer.start()
        try:
            conn.execute("SELECT pg_sleep(5) FROM users WHERE id = 1000001")
            raise AssertionError("pg_sleep(5) was not cancelled")
        except errors.QueryCanceled as error:
            expect_equal(error.sqlstate, "57014", "SQLSTATE")
        finally:
            timer.cancel()
        expect(time.monotonic() - started < 4, "cancelled before pg_sleep ended")
        expect_equal(conn.execute("SELECT 1").fetchone(), (1,), "session works after the cancel")


def check_set_application_name():
    with connect(autocommit=True) as conn:
        conn.execute("SET application_name = 'compat-psycopg'")
        expect_equal(conn.execute("SHOW application_name").fetchone(), ("compat-psycopg",), "SHOW")
        expect_equal(conn.info.parameter_status("application_name"), "compat-psycopg", "ParameterStatus")
        # A statement routed by key, maybe to another shard than the SET: the setting follows.
        for key in (1000001, 1000002, 1000003, 1000004):
            row = conn.execute(f"SELECT current_setting('application_name') FROM users WHERE id = {key}").fetchone()
            expect_equal(row, ("compat-psycopg",), f"setting seen by the shard of {key}")


def check_set_search_path():
    with connect(autocommit=True) as conn:
        conn.execute("SET search_path = pg_catalog, public")
        expect_equal(conn.execute("SELECT current_schema()").fetchone(), ("pg_catalog",), "current_schema")
        expect_equal(conn.execute("SELECT name FROM users WHERE id = 1000001").fetchone(), ("user 1",),
                     "public still on the path")
        conn.execute("SET search_path = pg_catalog")
        try:
            conn.execute("SELECT name FROM users WHERE id = 1000001")
            raise AssertionError("users found without public on the search_path")
        except errors.UndefinedTable as error:
            expect_equal(error.sqlstate, "42P01", "SQLSTATE")
        conn.execute("RESET search_path")
        expect_equal(conn.execute("SELECT name FROM users WHERE id = 1000001").fetchone(), ("user 1",),
                     "after RESET")


def check_set_config():
    # set_config(..., false) changes the session like SET does, but it is a function call.
    with connect(autocommit=True) as conn:
        conn.execute("SELECT set_config('application_name', 'compat-set-config', false)")
        for key in (1000001, 1000002, 1000003, 1000004):
            row = conn.execute(f"SELECT current_setting('application_name') FROM users WHERE id = {key}").fetchone()
            expect_equal(row, ("compat-set-config",), f"setting seen by the shard of {key}")


def check_advisory_lock():
    # A session-level advisory lock excludes every other session, whichever shards they use.
    with connect(autocommit=True) as first, connect(autocommit=True) as second:
        for key in (1000001, 1000002, 1000003, 1000004):  # the first session touches several shards
            first.execute(f"SELECT name FROM users WHERE id = {key}")
        expect_equal(first.execute("SELECT pg_try_advisory_lock(2000777)").fetchone(), (True,), "first lock")
        try:
            expect_equal(second.execute("SELECT pg_try_advisory_lock(2000777)").fetchone(), (False,),
                         "second session's lock while the first holds it")
        finally:
            first.execute("SELECT pg_advisory_unlock_all()")
            second.execute("SELECT pg_advisory_unlock_all()")


def check_copy_out():
    with connect() as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT id, name FROM users WHERE id = 1000001) TO STDOUT") as copy:
                rows = list(copy.rows())
        expect_equal(rows, [("1000001", "user 1")], "copied rows")


def check_copy_in():
    keys = [BASE + 50 + i for i in range(8)]
    with connect() as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY users (id, name, country) FROM STDIN") as copy:
                for k in keys:
                    copy.write_row((k, f"copied {k}", "us"))
        conn.commit()
        rows = conn.execute(f"SELECT id, name FROM users WHERE id IN ({id_list(keys)})").fetchall()
        expect_equal(sorted(rows), [(k, f"copied {k}") for k in keys], "rows copied in")


CHECKS = [
    ("connect", check_connect),
    ("select_literal", check_select_literal),
    ("select_param", check_select_param),
    ("client_side_binding", check_client_side_binding),
    ("insert_returning", check_insert_returning),
    ("update_delete_rowcount", check_update_delete_rowcount),
    ("multi_shard_select", check_multi_shard_select),
    ("multi_shard_param", check_multi_shard_param),
    ("transaction_commit", check_transaction_commit),
    ("transaction_rollback", check_transaction_rollback),
    ("unique_violation", check_unique_violation),
    ("nulls", check_nulls),
    ("types_text", check_types_text),
    ("types_binary", check_types_binary),
    ("types_literal", check_types_literal),
    ("prepared_reuse", check_prepared_reuse),
    ("named_cursor", check_named_cursor),
    ("executemany", check_executemany),
    ("pipeline", check_pipeline),
    ("statement_timeout", check_statement_timeout),
    ("cancel", check_cancel),
    ("set_application_name", check_set_application_name),
    ("set_search_path", check_set_search_path),
    ("set_config", check_set_config),
    ("advisory_lock", check_advisory_lock),
    ("copy_out", check_copy_out),
    ("copy_in", check_copy_in),
]


def main():
    report = Report(ARGS.only)
    report.run("cleanup_start", cleanup)
    for name, check in CHECKS:
        report.run(name, check)
    report.run("cleanup_end", cleanup)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
