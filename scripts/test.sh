#!/usr/bin/env bash
# The second command of the README: the whole test suite — unit tests and integration tests
# against real PostgreSQL servers that the tests start themselves, then the client
# compatibility suite (scripts/compat.sh: psql, pgbench, psycopg, asyncpg, JDBC, node-postgres
# and postgres-nio through a local 4-shard demo, both pool modes; docs/compatibility.md).
#
#   scripts/test.sh                      everything
#   scripts/test.sh --filter CursorTests  Swift tests only, those matching (arguments go to swift test)
#   PGSHARD_COMPAT=0 scripts/test.sh     Swift tests only
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The last XCTest summary covers every test that ran.
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
    passed=$((total - failed))
else
    passed=0 failed=1
    [ "$status" -ne 0 ] || status=1
fi

# The compatibility suite: every check of every client counts as one test. Arguments select
# Swift tests, so a run with arguments leaves it out.
if [ "${PGSHARD_COMPAT:-1}" = 1 ] && [ $# -eq 0 ]; then
    set +e
    bash scripts/compat.sh 2>&1 | tee "$log"
    compat_status=${PIPESTATUS[0]}
    set -e
    line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        passed=$((passed + $(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')))
        failed=$((failed + $(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')))
    else
        failed=$((failed + 1))
    fi
    [ "$compat_status" -eq 0 ] || { [ "$status" -ne 0 ] || status=$compat_status; }
fi

# One plain closing line.
echo "$passed passed, $failed failed"
exit "$status"
