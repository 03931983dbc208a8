"""What every Python compatibility program shares: connection parameters, the report format
(`PASS name` / `FAIL name: reason`, then `N passed, N failed`) and a time limit per check."""

import argparse
import asyncio
import os
import signal
import sys
import traceback

# How long one check may take before it is reported as failed (the slowest passing check
# waits about one second for a statement timeout or a cancel).
CHECK_SECONDS = 20


def connection_parameters(description):
    """host, port, user, dbname from the command line, else from the libpq environment."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PGPORT", "6432")))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "demo"))
    parser.add_argument("--dbname", default=os.environ.get("PGDATABASE", "demo"))
    parser.add_argument("--only", action="append", default=[],
                        help="run only this check (repeatable); cleanup always runs")
    return parser.parse_args()


class CheckTimeout(Exception):
    pass


def _reason(error):
    text = " ".join(str(error).split())
    sqlstate = getattr(error, "sqlstate", None)
    prefix = type(error).__name__ + (f" [{sqlstate}]" if sqlstate else "")
    return f"{prefix}: {text}"[:400] if text else prefix


class Report:
    """Counts checks and prints one line for each."""

    def __init__(self, only=()):
        self.passed = 0
        self.failed = 0
        self.only = set(only)

    def wanted(self, name):
        return not self.only or name in self.only or name.startswith("cleanup")

    def record(self, name, error):
        if error is None:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {_reason(error)}", flush=True)
            if os.environ.get("COMPAT_TRACEBACK"):
                traceback.print_exception(error, file=sys.stderr)

    def run(self, name, check, seconds=CHECK_SECONDS):
        """Runs a blocking check; SIGALRM interrupts it after `seconds`."""
        if not self.wanted(name):
            return

        def expire(signum, frame):
            raise CheckTimeout(f"no answer within {seconds} s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.alarm(seconds)
        try:
            check()
            error = None
        except BaseException as caught:  # a check's failure never stops the others
            if isinstance(caught, KeyboardInterrupt):
                raise
            error = caught
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        self.record(name, error)

    async def run_async(self, name, check, seconds=CHECK_SECONDS):
        """Runs a coroutine check, cancelled after `seconds`."""
        if not self.wanted(name):
            return
        try:
            await asyncio.wait_for(check(), seconds)
            error = None
        except asyncio.TimeoutError:
            error = CheckTimeout(f"no answer within {seconds} s")
        except Exception as caught:
            error = caught
        self.record(name, error)

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 else 1


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_equal(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


# The demo's seed data: users 1000001..1000100 named "user N".
SEEDED_USERS = {1_000_000 + i: f"user {i}" for i in range(1, 101)}


def id_list(ids):
    """A literal key list for cleanup statements: `IN (...)` keeps them routable by pgshard."""
    return ", ".join(str(i) for i in ids)
