"""asyncpg through pgshard: the way an application uses it.

asyncpg uses the extended protocol for everything that returns rows or takes arguments: it
prepares a named statement (`__asyncpg_stmt_N__`, kept in a per-connection cache) with
Parse/Describe/Sync, then Bind/Execute/Sync with binary formats. `execute()` without
arguments is a simple Query. Cursors are portals read with Execute(max_rows) and
PortalSuspended; `executemany` pipelines Bind/Execute pairs; a timeout sends a CancelRequest;
a pool resets a released connection with `SELECT pg_advisory_unlock_all(); CLOSE ALL;
UNLISTEN *; RESET ALL;`. Rows written here use ids 3_000_000 and up.
"""

import asyncio
import datetime
import decimal
import json
import sys
import uuid

import asyncpg

from compat_check import (SEEDED_USERS, Report, connection_parameters, expect, expect_equal,
                          id_list)

BASE = 3_000_000
OWN_IDS = [BASE + i for i in range(100)]
ARGS = connection_parameters(__doc__.splitlines()[0])


async def connect(**options):
    return await asyncpg.connect(host=ARGS.host, port=ARGS.port, user=ARGS.user, database=ARGS.dbname,
                                 timeout=10, **options)


class Connected:
    """`async with Connected() as conn`: a connection closed at the end, even after a failure."""

    def __init__(self, **options):
        self.options = options
        self.conn = None

    async def __aenter__(self):
        self.conn = await connect(**self.options)
        return self.conn

    async def __aexit__(self, *exc):
        if self.conn is not None:
            try:
                await asyncio.wait_for(self.conn.close(), 5)
            except Exception:
                self.conn.terminate()


async def cleanup():
    async with Connected() as conn:
        # No arguments: a simple Query, which every pgshard version carries.
        await conn.execute(f"DELETE FROM orders WHERE user_id IN ({id_list(OWN_IDS)})")
        await conn.execute(f"DELETE FROM users WHERE id IN ({id_list(OWN_IDS)})")


async def check_connect():
    async with Connected() as conn:
        expect(conn.get_server_version().major >= 10, "server version from ParameterStatus")
        await conn.execute("SELECT 1")


async def check_select_literal():
    async with Connected() as conn:
        row = await conn.fetchrow("SELECT id, name, country FROM users WHERE id = 1000001")
        expect_equal(tuple(row), (1000001, "user 1", "fr"), "row")


async def check_select_param():
    async with Connected() as conn:
        row = await conn.fetchrow("SELECT id, name FROM users WHERE id = $1", 1000042)
        expect_equal(tuple(row), (1000042, "user 42"), "row")
        orders = await conn.fetch("SELECT id, amount FROM orders WHERE user_id = $1", 1000042)
        expect_equal(sorted(tuple(r) for r in orders),
                     [(1, decimal.Decimal("42.50")), (2, decimal.Decimal("84.50")), (3, decimal.Decimal("126.50"))],
                     "orders")


async def check_insert_returning():
    async with Connected() as conn:
        row = await conn.fetchrow(
            "INSERT INTO users (id, name, email, country) VALUES ($1, $2, $3, $4) RETURNING id, name, created_at",
            BASE + 1, "Zoë Ñandú 東京", "zoe@example.com", "jp")
        expect_equal((row["id"], row["name"]), (BASE + 1, "Zoë Ñandú 東京"), "returned row")
        expect(isinstance(row["created_at"], datetime.datetime), "created_at default")
        expect_equal(await conn.fetchval("SELECT name FROM users WHERE id = $1", BASE + 1), "Zoë Ñandú 東京",
                     "read back")


async def check_update_delete_rowcount():
    async with Connected() as conn:
        expect_equal(await conn.execute("INSERT INTO users (id, name) VALUES ($1, $2)", BASE + 2, "to update"),
                     "INSERT 0 1", "INSERT tag")
        expect_equal(await conn.execute("UPDATE users SET email = $1 WHERE id = $2", "u@example.com", BASE + 2),
                     "UPDATE 1", "UPDATE tag")
        expect_equal(await conn.execute("UPDATE users SET email = $1 WHERE id = $2", "u@example.com", BASE + 99),
                     "UPDATE 0", "UPDATE of a missing key")
        expect_equal(await conn.execute("DELETE FROM users WHERE id = $1", BASE + 2), "DELETE 1", "DELETE tag")
        expect_equal(await conn.fetch("SELECT id FROM users WHERE id = $1", BASE + 2), [], "gone")


async def check_multi_shard_select():
    async with Connected() as conn:
        rows = await conn.fetch("SELECT id, name FROM users")
        seeded = {r["id"]: r["name"] for r in rows if r["id"] in SEEDED_USERS}
        expect_equal(seeded, SEEDED_USERS, "seeded users")
        expect_equal(len(rows), len({r["id"] for r in rows}), "no duplicate rows")


async def check_multi_shard_param():
    async with Connected() as conn:
        rows = await conn.fetch("SELECT id FROM users WHERE country = $1", "de")
        ids = {r["id"] for r in rows if r["id"] in SEEDED_USERS}
        expect_equal(ids, {i for i in SEEDED_USERS if (i - 1_000_000) % 5 == 0}, "ids with country de")


async def check_transaction_commit():
    keys = [BASE + 10, BASE + 11, BASE + 12]
    async with Connected() as conn:
        async with conn.transaction():
            for key in keys:
                await conn.execute("INSERT INTO users (id, name) VALUES ($1, $2)", key, "committed")
            await conn.execute("INSERT INTO orders (id, user_id, amount) VALUES ($1, $2, $3)",
                               1, BASE + 10, decimal.Decimal("9.99"))
    async with Connected() as other:
        rows = await other.fetch("SELECT id FROM users WHERE id = ANY($1::bigint[])", keys)
        expect_equal(sorted(r["id"] for r in rows), keys, "committed rows")


class _Rollback(Exception):
    pass


async def check_transaction_rollback():
    async with Connected() as conn:
        try:
            async with conn.transaction():
                await conn.execute("INSERT INTO users (id, name) VALUES ($1, $2)", BASE + 13, "rolled back")
                await conn.execute("INSERT INTO users (id, name) VALUES ($1, $2)", BASE + 14, "rolled back")
                expect_equal(len(await conn.fetch("SELECT id FROM users WHERE id = $1", BASE + 13)), 1,
                             "row visible inside the transaction")
                raise _Rollback()
        except _Rollback:
            pass
        for key in (BASE + 13, BASE + 14):
            expect_equal(await conn.fetch("SELECT id FROM users WHERE id = $1", key), [], f"row {key} after ROLLBACK")


async def check_unique_violation():
    async with Connected() as conn:
        try:
            await conn.execute("INSERT INTO users (id, name) VALUES ($1, $2)", 1000001, "duplicate")
            raise AssertionError("duplicate key accepted")
        except asyncpg.UniqueViolationError as error:
            expect_equal(error.sqlstate, "23505", "SQLSTATE")
            expect_equal(error.constraint_name, "users_pkey", "constraint name")
        expect_equal(await conn.fetchval("SELECT name FROM users WHERE id = $1", 1000001), "user 1",
                     "session works after the error")


async def check_nulls():
    async with Connected() as conn:
        await conn.execute("INSERT INTO users (id, name, email, country) VALUES ($1, $2, $3, $4)",
                           BASE + 3, "no email", None, None)
        row = await conn.fetchrow("SELECT email, country FROM users WHERE id = $1", BASE + 3)
        expect_equal(tuple(row), (None, None), "NULL columns")
        row = await conn.fetchrow("SELECT $1::int4 IS NULL, $2::text", None, None)
        expect_equal(tuple(row), (True, None), "NULL parameters")


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


async def _round_trip(conn):
    params = [json.dumps(v) if t == "jsonb" else v for t, v in TYPE_VALUES]
    query = "SELECT " + ", ".join(f"${n}::{t}" for n, (t, _) in enumerate(TYPE_VALUES, start=1))
    row = await conn.fetchrow(query, *params)
    for (type_name, value), got in zip(TYPE_VALUES, row):
        if type_name == "jsonb" and isinstance(got, str):
            got = json.loads(got)
        expect_equal(got, value, type_name)


async def check_types_binary():
    # asyncpg's default: binary parameters and results for every built-in type.
    async with Connected() as conn:
        await _round_trip(conn)


async def check_types_text():
    # Text codecs, as an application sets them: each set_type_codec introspects pg_type.
    async with Connected() as conn:
        for type_name, encoder, decoder in [
            ("int8", str, int), ("numeric", str, decimal.Decimal), ("uuid", str, uuid.UUID),
            ("date", lambda d: d.isoformat(), datetime.date.fromisoformat), ("bool", lambda b: "t" if b else "f",
                                                                           lambda s: s == "t"),
            ("jsonb", json.dumps, json.loads),
        ]:
            await conn.set_type_codec(type_name, schema="pg_catalog", encoder=encoder, decoder=decoder,
                                      format="text")
        rows = [("int8", -9223372036854775808), ("numeric", decimal.Decimal("0.000000000000000001")),
                ("uuid", uuid.UUID("6f1c2a5e-7d1b-4c4e-9a51-3b2f8e0d9c01")), ("date", datetime.date(2024, 2, 29)),
                ("bool", False), ("jsonb", {"ü": [1, None]})]
        query = "SELECT " + ", ".join(f"${n}::{t}" for n, (t, _) in enumerate(rows, start=1))
        got = await conn.fetchrow(query, *[v for _, v in rows])
        for (type_name, value), received in zip(rows, got):
            expect_equal(received, value, type_name)


async def check_types_literal():
    async with Connected() as conn:
        row = await conn.fetchrow("SELECT 32767::int2, 1.5::float8, 'ü'::text, '\\x00ff'::bytea, "
                                  "'2024-02-29'::date, NULL::int8")
        expect_equal(tuple(row), (32767, 1.5, "ü", b"\x00\xff", datetime.date(2024, 2, 29), None), "row")


async def check_prepared_reuse():
    async with Connected() as conn:
        statement = await conn.prepare("SELECT id, name FROM users WHERE id = $1")
        for i in range(1, 21):
            row = await statement.fetchrow(1_000_000 + i)
            expect_equal(tuple(row), (1_000_000 + i, f"user {i}"), f"execution {i}")
        # The statement cache reuses the implicitly prepared statement as well.
        for i in range(21, 31):
            expect_equal(await conn.fetchval("SELECT name FROM users WHERE id = $1", 1_000_000 + i), f"user {i}",
                         f"cached execution {i}")


async def check_cursor():
    async with Connected() as conn:
        async with conn.transaction():
            seen = {}
            async for row in conn.cursor("SELECT id, name FROM users", prefetch=10):
                if row["id"] in SEEDED_USERS:
                    seen[row["id"]] = row["name"]
            expect_equal(seen, SEEDED_USERS, "rows through the cursor")
            cursor = await conn.cursor("SELECT id FROM orders WHERE user_id = $1", 1000001)
            expect_equal(len(await cursor.fetch(2)), 2, "first fetch")
            expect_equal(len(await cursor.fetch(5)), 1, "second fetch")


async def check_executemany():
    keys = [BASE + 30 + i for i in range(10)]
    async with Connected() as conn:
        await conn.executemany("INSERT INTO users (id, name, country) VALUES ($1, $2, $3)",
                               [(k, f"many {k}", "br") for k in keys])
        rows = await conn.fetch("SELECT id, name FROM users WHERE id = ANY($1::bigint[])", keys)
        expect_equal(sorted(tuple(r) for r in rows), [(k, f"many {k}") for k in keys], "inserted rows")


async def check_statement_timeout():
    async with Connected() as conn:
        await conn.execute("SET statement_timeout = '500ms'")
        try:
            await conn.fetch("SELECT pg_sleep(5) FROM users WHERE id = 1000001")
            raise AssertionError("pg_sleep(5) was not cancelled")
        except asyncpg.QueryCanceledError as error:
            expect_equal(error.sqlstate, "57014", "SQLSTATE")
        await conn.execute("RESET statement_timeout")
        expect_equal(await conn.fetchval("SELECT name FROM users WHERE id = 1000001"), "user 1",
                     "session works after the timeout")


async def check_cancel():
    async with Connected() as conn:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await conn.fetch("SELECT pg_sleep(5) FROM users WHERE id = 1000001", timeout=0.5)
            raise AssertionError("pg_sleep(5) was not cancelled")
        except asyncio.TimeoutError:
            pass
        expect_equal(await conn.fetchval("SELECT 1"), 1, "session works after the cancel")
        expect(loop.time() - started < 4, "cancelled before pg_sleep ended")


async def check_set_application_name():
    async with Connected(server_settings={"application_name": "compat-asyncpg-startup"}) as conn:
        expect_equal(await conn.fetchval("SHOW application_name"), "compat-asyncpg-startup", "startup parameter")
        await conn.execute("SET application_name = 'compat-asyncpg'")
        expect_equal(conn.get_settings().application_name, "compat-asyncpg", "ParameterStatus")
        for key in (1000001, 1000002, 1000003, 1000004):
            got = await conn.fetchval("SELECT current_setting('application_name') FROM users WHERE id = $1", key)
            expect_equal(got, "compat-asyncpg", f"setting seen by the shard of {key}")


async def check_set_search_path():
    async with Connected() as conn:
        await conn.execute("SET search_path = pg_catalog, public")
        expect_equal(await conn.fetchval("SELECT current_schema()"), "pg_catalog", "current_schema")
        expect_equal(await conn.fetchval("SELECT name FROM users WHERE id = 1000001"), "user 1",
                     "public still on the path")
        await conn.execute("SET search_path = pg_catalog")
        try:
            await conn.fetchval("SELECT email FROM users WHERE id = 1000001")
            raise AssertionError("users found without public on the search_path")
        except asyncpg.UndefinedTableError as error:
            expect_equal(error.sqlstate, "42P01", "SQLSTATE")
        await conn.execute("RESET search_path")
        expect_equal(await conn.fetchval("SELECT country FROM users WHERE id = 1000001"), "fr", "after RESET")


async def check_pool():
    pool = await asyncpg.create_pool(host=ARGS.host, port=ARGS.port, user=ARGS.user, database=ARGS.dbname,
                                     min_size=1, max_size=2, timeout=10)
    try:
        for i in range(1, 6):
            # Each release runs the pool's reset query on the connection.
            async with pool.acquire() as conn:
                expect_equal(await conn.fetchval("SELECT name FROM users WHERE id = $1", 1_000_000 + i),
                             f"user {i}", f"acquire {i}")
        results = await asyncio.gather(*[pool.fetchval("SELECT name FROM users WHERE id = $1", 1_000_000 + i)
                                         for i in range(6, 12)])
        expect_equal(results, [f"user {i}" for i in range(6, 12)], "concurrent fetches")
    finally:
        await asyncio.wait_for(pool.close(), 5)


async def check_copy_out():
    async with Connected() as conn:
        records = await conn.copy_from_query("SELECT id, name FROM users WHERE id = $1", 1000001,
                                             output=_Collector())
        expect_equal(records, "COPY 1", "COPY tag")


class _Collector:
    def __init__(self):
        self.data = b""

    async def __call__(self, chunk):
        self.data += chunk


async def check_copy_in():
    keys = [BASE + 50 + i for i in range(8)]
    async with Connected() as conn:
        tag = await conn.copy_records_to_table("users", records=[(k, f"copied {k}", "us") for k in keys],
                                               columns=["id", "name", "country"])
        expect_equal(tag, "COPY 8", "COPY tag")
        rows = await conn.fetch("SELECT id, name FROM users WHERE id = ANY($1::bigint[])", keys)
        expect_equal(sorted(tuple(r) for r in rows), [(k, f"copied {k}") for k in keys], "rows copied in")


CHECKS = [
    ("connect", check_connect),
    ("select_literal", check_select_literal),
    ("select_param", check_select_param),
    ("insert_returning", check_insert_returning),
    ("update_delete_rowcount", check_update_delete_rowcount),
    ("multi_shard_select", check_multi_shard_select),
    ("multi_shard_param", check_multi_shard_param),
    ("transaction_commit", check_transaction_commit),
    ("transaction_rollback", check_transaction_rollback),
    ("unique_violation", check_unique_violation),
    ("nulls", check_nulls),
    ("types_binary", check_types_binary),
    ("types_text", check_types_text),
    ("types_literal", check_types_literal),
    ("prepared_reuse", check_prepared_reuse),
    ("cursor", check_cursor),
    ("executemany", check_executemany),
    ("statement_timeout", check_statement_timeout),
    ("cancel", check_cancel),
    ("set_application_name", check_set_application_name),
    ("set_search_path", check_set_search_path),
    ("pool", check_pool),
    ("copy_out", check_copy_out),
    ("copy_in", check_copy_in),
]


async def main():
    report = Report(ARGS.only)
    await report.run_async("cleanup_start", cleanup)
    for name, check in CHECKS:
        await report.run_async(name, check)
    await report.run_async("cleanup_end", cleanup)
    return report.finish()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
