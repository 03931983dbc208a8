#!/usr/bin/env python3
"""Opens many idle client connections to a proxy and reports the proxy's resident memory per
connection.

Each connection sends a StartupMessage (protocol 3.0, no TLS, trust authentication), waits for
ReadyForQuery and then stays open without sending anything. VmRSS of the proxy process is read
from /proc/PID/status before the first and after the last connection is ready. One connection
then runs `SELECT 1` to show the proxy still answers with every connection open. A second
round opens the connections again after closing them, to tell memory kept for reuse from a leak.

Used by scripts/bench.sh; the last line of output is `RESULT key=value ...` for the script.
"""

import argparse
import asyncio
import struct
import sys
import time

PROTOCOL_3_0 = 196608


def memory_kib(pid):
    """VmRSS, RssAnon and VmHWM of a process, in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def startup_message(user, database):
    body = struct.pack("!i", PROTOCOL_3_0)
    for name, value in (("user", user), ("database", database), ("application_name", "pgshard-bench-idle")):
        body += name.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def query_message(sql):
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!i", len(body) + 4) + body


def error_text(body):
    """The message field (M) of an ErrorResponse body."""
    for field in body.split(b"\0"):
        if field[:1] == b"M":
            return field[1:].decode(errors="replace")
    return "unknown error"


async def read_message(reader):
    header = await reader.readexactly(5)
    (length,) = struct.unpack("!i", header[1:])
    return header[:1], await reader.readexactly(length - 4)


async def read_until_ready(reader):
    """Reads messages up to ReadyForQuery; returns the DataRow bodies seen."""
    rows = []
    while True:
        kind, body = await read_message(reader)
        if kind == b"Z":
            return rows
        if kind == b"E":
            raise RuntimeError(error_text(body))
        if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
            raise RuntimeError("the server asked for a password; the benchmark uses trust authentication")
        if kind == b"D":
            rows.append(body)


async def open_idle(host, port, user, database, limit, timeout):
    async with limit:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        try:
            writer.write(startup_message(user, database))
            await writer.drain()
            await asyncio.wait_for(read_until_ready(reader), timeout)
        except BaseException:
            writer.close()
            raise
        return reader, writer


async def open_all(args):
    """Opens args.connections idle connections; returns (connections, failures, seconds)."""
    started = time.monotonic()
    limit = asyncio.Semaphore(args.concurrency)
    tasks = [asyncio.create_task(open_idle(args.host, args.port, args.user, args.database, limit, args.timeout))
             for _ in range(args.connections)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    connections = [r for r in results if not isinstance(r, BaseException)]
    failures = [r for r in results if isinstance(r, BaseException)]
    return connections, failures, time.monotonic() - started


async def check_answers(connections, timeout):
    """Runs SELECT 1 on the newest connection: the proxy must still answer."""
    if not connections:
        return "no connection"
    reader, writer = connections[-1]
    try:
        writer.write(query_message("SELECT 1"))
        await writer.drain()
        rows = await asyncio.wait_for(read_until_ready(reader), timeout)
        return "yes" if len(rows) == 1 else f"unexpected answer ({len(rows)} rows)"
    except Exception as error:  # reported, not raised: the memory figure is still valid
        return f"no ({error or type(error).__name__})"


async def close_all(connections):
    for _, writer in connections:
        writer.write(b"X" + struct.pack("!i", 4))
        writer.close()
    await asyncio.gather(*(writer.wait_closed() for _, writer in connections), return_exceptions=True)


def describe(failures):
    reasons = {}
    for failure in failures:
        text = str(failure) or type(failure).__name__
        reasons[text] = reasons.get(text, 0) + 1
    for text, count in sorted(reasons.items(), key=lambda item: -item[1])[:3]:
        print(f"  {count} x {text}")


async def run(args):
    before = memory_kib(args.pid)
    connections, failures, elapsed = await open_all(args)
    # Give the proxy a moment to finish whatever it does after ReadyForQuery.
    await asyncio.sleep(1.0)
    after = memory_kib(args.pid)
    answered = await check_answers(connections, args.timeout)
    await close_all(connections)
    await asyncio.sleep(1.0)
    closed = memory_kib(args.pid)

    opened = len(connections)
    growth = after["VmRSS"] - before["VmRSS"]
    per_connection = growth / opened if opened else float("nan")
    anon_per_connection = (after["RssAnon"] - before["RssAnon"]) / opened if opened else float("nan")
    print(f"opened {opened} of {args.connections} connections in {elapsed:.1f} s ({len(failures)} failed)")
    describe(failures)
    print(f"VmRSS before {before['VmRSS']} KiB, with the connections open {after['VmRSS']} KiB, "
          f"after closing them {closed['VmRSS']} KiB")
    print(f"SELECT 1 on an idle connection answered: {answered}")

    # More rounds tell reuse from a leak: memory kept after a round should be reused by the
    # next one, not added to.
    second = ""
    previous = closed
    for round_number in range(2, args.rounds + 1 if opened else 1):
        again, again_failures, _ = await open_all(args)
        await asyncio.sleep(1.0)
        reopened = memory_kib(args.pid)
        await close_all(again)
        await asyncio.sleep(1.0)
        final = memory_kib(args.pid)
        extra = (reopened["VmRSS"] - previous["VmRSS"]) / max(len(again), 1)
        print(f"round {round_number}: {len(again)} connections open: VmRSS {reopened['VmRSS']} KiB "
              f"({extra:.1f} KiB per connection above the previous round's closed state), after closing {final['VmRSS']} KiB")
        describe(again_failures)
        if round_number == 2:
            second = f" second_round_kib_per_connection={extra:.1f}"
        previous = final

    first_failure = (str(failures[0]) or type(failures[0]).__name__) if failures else ""
    print(f"RESULT opened={opened} failed={len(failures)} rss_before_kib={before['VmRSS']} "
          f"rss_after_kib={after['VmRSS']} rss_closed_kib={closed['VmRSS']} "
          f"kib_per_connection={per_connection:.1f} anon_kib_per_connection={anon_per_connection:.1f}{second} "
          f"answered={answered.split()[0]} first_failure={first_failure.replace(' ', '_')[:80]}")
    return 0 if opened == args.connections and answered == "yes" else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the proxy process whose memory is measured")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--database", default="bench")
    parser.add_argument("--concurrency", type=int, default=100, help="connection attempts in flight at once")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds allowed for one connection or query")
    parser.add_argument("--rounds", type=int, default=2, help="how many times to open and close the connections (2 or more tells reuse from a leak)")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds allowed for the whole measurement")
    args = parser.parse_args()
    try:
        return asyncio.run(asyncio.wait_for(run(args), args.deadline))
    except asyncio.TimeoutError:
        print(f"RESULT opened=0 failed={args.connections} first_failure=deadline_of_{args.deadline:.0f}s_exceeded")
        return 1


if __name__ == "__main__":
    sys.exit(main())
