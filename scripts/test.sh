#!/usr/bin/env bash
# The second command of the README: the whole test suite — unit tests and integration tests
# against real PostgreSQL servers that the tests start themselves.
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
# One plain closing line: the last XCTest summary covers every test that ran.
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1 || true)
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
if [ -n "$summary" ]; then
    echo "$((total - failed)) passed, $failed failed"
else
    echo "0 passed, 1 failed"
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"
