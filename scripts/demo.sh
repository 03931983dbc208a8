#!/usr/bin/env bash
# The first command of the README: install what is missing, build, start a local sharded demo
# (4 PostgreSQL shards run by pgshard itself) and run the proxy on 127.0.0.1:6432.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build -c release --product pgshard
exec .build/release/pgshard demo "$@"
