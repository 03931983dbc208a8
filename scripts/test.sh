#!/usr/bin/env bash
# The second command of the README: the whole test suite — unit tests and integration tests
# against real PostgreSQL servers that the tests start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
