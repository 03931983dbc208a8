#!/usr/bin/env bash
# pgbench through pgshard: short bounded runs of custom scripts on the demo tables.
#
# -M simple sends each statement as a Query message; -M extended sends
# Parse/Bind/Describe/Execute/Sync on the unnamed statement; -M prepared parses each script
# command once per connection as a named statement (P_0, P_1, ...) and then only binds it;
# \startpipeline sends several extended queries before one Sync. pgbench's own tables are not
# used (pgbench -i would create tables pgshard does not know). Rows written here use ids
# 8_000_000 to 8_000_049.
#
# Usage: test_pgbench.sh [--host H] [--port P] [--user U] [--dbname D]   (else PGHOST, PGPORT, ...)
set -uo pipefail

HOST=${PGHOST:-127.0.0.1}
PORT=${PGPORT:-6432}
USER_NAME=${PGUSER:-demo}
DBNAME=${PGDATABASE:-demo}
while [ $# -gt 1 ]; do
    case "$1" in
        --host) HOST=$2 ;;
        --port) PORT=$2 ;;
        --user) USER_NAME=$2 ;;
        --dbname) DBNAME=$2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done

HERE=$(cd "$(dirname "$0")" && pwd)
BASE=8000000
OWN_IDS=$(seq -s ', ' $BASE $((BASE + 49)))
CHECK_SECONDS=60
passed=0
failed=0
export PGCONNECT_TIMEOUT=10

q() {
    psql -X -q -h "$HOST" -p "$PORT" -U "$USER_NAME" -d "$DBNAME" -v ON_ERROR_STOP=1 "$@"
}

report() {
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $1"
    else
        failed=$((failed + 1))
        echo "FAIL $1: $(echo "$3" | tr '\n' ' ' | cut -c1-400)"
    fi
}

cleanup() {
    q -c "DELETE FROM orders WHERE user_id IN ($OWN_IDS)" -c "DELETE FROM users WHERE id IN ($OWN_IDS)" 2>&1
}

# The rows write.sql updates: one statement per row, each routed by its key.
setup() {
    local sql="" id
    for id in $(seq $BASE $((BASE + 49))); do
        sql+="INSERT INTO users (id, name, country) VALUES ($id, 'bench $id', 'de');"
        sql+="INSERT INTO orders (id, user_id, amount) VALUES (1, $id, 1.00);"
    done
    q -c "$sql" 2>&1
}

# bench NAME EXPECTED_TRANSACTIONS PGBENCH_ARGUMENTS...: a run passes when pgbench exits 0,
# processed every transaction and reports no failed one.
bench() {
    local name=$1 expected=$2 output status
    shift 2
    output=$(timeout -k 5 "$CHECK_SECONDS" pgbench -n -h "$HOST" -p "$PORT" -U "$USER_NAME" "$@" "$DBNAME" 2>&1)
    status=$?
    if [ "$status" -eq 0 ] && ! grep -q "number of transactions actually processed: $expected" <<<"$output"; then
        status=1
    fi
    if [ "$status" -eq 0 ] && grep -q "number of failed transactions: [1-9]" <<<"$output"; then
        status=1
    fi
    [ "$status" -eq 124 ] && output="no answer within $CHECK_SECONDS s; $output"
    report "$name" "$status" "$(grep -E 'error|abort|processed|FATAL|ERROR' <<<"$output" | head -n 4)"
}

output=$(cleanup); report cleanup_start $? "$output"
output=$(setup); report setup $? "$output"
bench simple 100/100 -M simple -c 2 -j 1 -t 50 -f "$HERE/read.sql@3" -f "$HERE/write.sql@1"
bench extended 100/100 -M extended -c 2 -j 1 -t 50 -f "$HERE/read.sql@3" -f "$HERE/write.sql@1"
bench prepared 100/100 -M prepared -c 2 -j 1 -t 50 -f "$HERE/read.sql@3" -f "$HERE/write.sql@1"
bench pipeline 20/20 -M extended -c 1 -t 20 -f "$HERE/pipeline.sql"
# A run bounded by time rather than count, as in a quick smoke benchmark.
bench time_bounded "" -M simple -c 2 -j 1 -T 2 -f "$HERE/read.sql"
output=$(q -At -c "SELECT id FROM users WHERE id IN ($OWN_IDS)" 2>&1 | wc -l)
[ "$output" = 50 ]; report rows_intact $? "expected 50 rows of 8000000-8000049, got $output"
output=$(cleanup); report cleanup_end $? "$output"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
