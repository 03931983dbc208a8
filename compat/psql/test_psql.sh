#!/usr/bin/env bash
# psql through pgshard: what a person at the prompt and a deployment script do.
#
# psql sends simple Query messages only (several statements in one message with -c), runs
# catalog queries for backslash commands, COPY ... TO STDOUT / FROM STDIN for \copy, and a
# CancelRequest on Ctrl-C. Rows written here use ids 7_000_000 and up.
#
# Usage: test_psql.sh [--host H] [--port P] [--user U] [--dbname D]   (else PGHOST, PGPORT, ...)
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

BASE=7000000
OWN_IDS=$(seq -s ', ' $BASE $((BASE + 99)))
CHECK_SECONDS=20
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

# psql with the suite's connection, no ~/.psqlrc, unaligned tuples-only output.
q() {
    PGCONNECT_TIMEOUT=10 psql -X -h "$HOST" -p "$PORT" -U "$USER_NAME" -d "$DBNAME" -v ON_ERROR_STOP=1 "$@"
}

# check NAME FUNCTION: runs FUNCTION with a time limit; it fails by printing a reason and
# returning non-zero.
check() {
    local name=$1 function=$2 output status
    output=$(timeout -k 5 "$CHECK_SECONDS" bash -c "$(declare -f); $function" 2>&1)
    status=$?
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name"
    else
        failed=$((failed + 1))
        [ "$status" -eq 124 ] && output="no answer within $CHECK_SECONDS s; $output"
        echo "FAIL $name: $(echo "$output" | tr '\n' ' ' | cut -c1-400)"
    fi
}

# expect_output WHAT EXPECTED ACTUAL
expect_output() {
    if [ "$2" != "$3" ]; then
        echo "$1: expected [$2], got [$3]"
        return 1
    fi
}

cleanup() {
    q -q -c "DELETE FROM orders WHERE user_id IN ($OWN_IDS)" -c "DELETE FROM users WHERE id IN ($OWN_IDS)"
}

check_connect() {
    expect_output "SELECT 1" "1" "$(q -At -c 'SELECT 1')"
}

check_select_literal() {
    expect_output "row" "1000001|user 1|fr" "$(q -At -c 'SELECT id, name, country FROM users WHERE id = 1000001')"
}

check_insert_returning() {
    expect_output "returned row" "$((BASE + 1))|Zoë Ñandú 東京" \
        "$(q -At -q -c "INSERT INTO users (id, name, email) VALUES ($((BASE + 1)), 'Zoë Ñandú 東京', 'zoe@example.com') RETURNING id, name")"
}

check_command_tags() {
    local key=$((BASE + 2))
    expect_output "command tags" "INSERT 0 1
UPDATE 1
UPDATE 0
DELETE 1" "$(q -c "INSERT INTO users (id, name) VALUES ($key, 'to update')" \
        -c "UPDATE users SET email = 'u@example.com' WHERE id = $key" \
        -c "UPDATE users SET email = 'u@example.com' WHERE id = $((BASE + 99))" \
        -c "DELETE FROM users WHERE id = $key")"
}

check_multi_shard_select() {
    local seeded
    seeded=$(q -At -c 'SELECT id, name FROM users' | awk -F'|' '$1 > 1000000 && $1 <= 1000100 && $2 == "user " ($1 - 1000000)' | sort -u | wc -l)
    expect_output "seeded users with their names" "100" "$seeded"
}

check_multi_statement() {
    # One Query message with three statements (-c sends the string as it is).
    expect_output "results" "user 1
user 2
user 3" "$(q -At -c 'SELECT name FROM users WHERE id = 1000001; SELECT name FROM users WHERE id = 1000002; SELECT name FROM users WHERE id = 1000003')"
}

check_transaction_commit() {
    cat >"$WORK/commit.sql" <<EOF
BEGIN;
INSERT INTO users (id, name) VALUES ($((BASE + 10)), 'committed');
INSERT INTO users (id, name) VALUES ($((BASE + 11)), 'committed');
INSERT INTO users (id, name) VALUES ($((BASE + 12)), 'committed');
INSERT INTO orders (id, user_id, amount) VALUES (1, $((BASE + 10)), 9.99);
COMMIT;
EOF
    q -q -f "$WORK/commit.sql" || return 1
    expect_output "committed rows" "3" \
        "$(q -At -c "SELECT id FROM users WHERE id IN ($((BASE + 10)), $((BASE + 11)), $((BASE + 12)))" | wc -l)"
}

check_transaction_rollback() {
    cat >"$WORK/rollback.sql" <<EOF
BEGIN;
INSERT INTO users (id, name) VALUES ($((BASE + 13)), 'rolled back');
INSERT INTO users (id, name) VALUES ($((BASE + 14)), 'rolled back');
SELECT id FROM users WHERE id = $((BASE + 13));
ROLLBACK;
SELECT 'after' AS marker, id FROM users WHERE id IN ($((BASE + 13)), $((BASE + 14)));
EOF
    expect_output "inside, then nothing after ROLLBACK" "$((BASE + 13))" "$(q -At -q -f "$WORK/rollback.sql")"
}

check_single_transaction() {
    # psql -1 wraps the whole file in BEGIN/COMMIT; the failing statement rolls every row back.
    cat >"$WORK/single.sql" <<EOF
INSERT INTO users (id, name) VALUES ($((BASE + 15)), 'single');
INSERT INTO users (id, name) VALUES (1000001, 'duplicate');
EOF
    if q -q -1 -f "$WORK/single.sql" 2>/dev/null; then
        echo "the duplicate key was accepted"
        return 1
    fi
    expect_output "rows after the failed single transaction" "" "$(q -At -c "SELECT id FROM users WHERE id = $((BASE + 15))")"
}

check_unique_violation() {
    local output
    output=$(q -At -v ON_ERROR_STOP=0 -c "INSERT INTO users (id, name) VALUES (1000001, 'duplicate')" \
        -c '\echo :SQLSTATE' -c "SELECT 'alive'" 2>&1)
    expect_output "error, SQLSTATE, then the session works" 'ERROR:  duplicate key value violates unique constraint "users_pkey"
DETAIL:  Key (id)=(1000001) already exists.
23505
alive' "$output"
}

check_nulls() {
    q -q -c "INSERT INTO users (id, name) VALUES ($((BASE + 3)), 'no email')" || return 1
    expect_output "NULLs" "<null>|<null>|<null>" \
        "$(q -At -P null='<null>' -c "SELECT email, country, NULL::int FROM users WHERE id = $((BASE + 3))")"
}

check_types_literal() {
    expect_output "text output of each type" \
        '-32768|2147483647|-9223372036854775808|-12345678901234567890.0123456789|0.1|t|grüße 🐘|\x0001feff|2024-02-29 23:59:58.123456+00|1999-12-31|6f1c2a5e-7d1b-4c4e-9a51-3b2f8e0d9c01|{"a": [1, 2.5, null], "ü": "✓"}' \
        "$(q -At -c "SET TIME ZONE 'UTC'" -c "SELECT (-32768)::int2, 2147483647::int4, (-9223372036854775808)::int8,
            '-12345678901234567890.0123456789'::numeric, 0.1::float8, true, 'grüße 🐘'::text, '\\x0001feff'::bytea,
            '2024-02-29 23:59:58.123456+00'::timestamptz, '1999-12-31'::date,
            '6f1c2a5e-7d1b-4c4e-9a51-3b2f8e0d9c01'::uuid, '{\"ü\": \"✓\", \"a\": [1, 2.5, null]}'::jsonb" | tail -n 1)"
}

check_gset() {
    expect_output "\\gset variable" "user 2" \
        "$(printf '%s\n' 'SELECT name AS n FROM users WHERE id = 1000002 \gset' '\echo :n' | q -At)"
}

check_describe_users() {
    local output
    output=$(q -c '\d users') || return 1
    for expected in 'Table "public.users"' 'id         | bigint' 'created_at | timestamp with time zone' \
                    '"users_pkey" PRIMARY KEY, btree (id)'; do
        grep -qF "$expected" <<<"$output" || { echo "missing [$expected] in: $output"; return 1; }
    done
}

check_describe_orders() {
    local output
    output=$(q -c '\d orders') || return 1
    grep -qF '"orders_pkey" PRIMARY KEY, btree (user_id, id)' <<<"$output" || { echo "no primary key in: $output"; return 1; }
}

check_list_tables_plus() {
    local output
    output=$(q -At -c '\dt+') || return 1
    for table in countries orders users; do
        grep -q "^public|$table|table|" <<<"$output" || { echo "no $table in: $output"; return 1; }
    done
}

check_catalog_commands() {
    # Other backslash commands a person types: schemas, indexes, functions, databases, roles.
    q -At -c '\dn' | grep -q '^public|' || { echo '\dn lists no public schema'; return 1; }
    q -At -c '\di' | grep -q '|users_pkey|index|' || { echo '\di lists no users_pkey'; return 1; }
    q -At -c '\df pg_catalog.now' | grep -q '|now|' || { echo '\df finds no now()'; return 1; }
    q -At -c '\l' >/dev/null || { echo '\l failed'; return 1; }
    q -At -c '\du' >/dev/null || { echo '\du failed'; return 1; }
}

check_statement_timeout() {
    local output
    output=$(q -At -v ON_ERROR_STOP=0 -c "SET statement_timeout = '500ms'" \
        -c 'SELECT pg_sleep(5) FROM users WHERE id = 1000001' -c '\echo :SQLSTATE' -c "SELECT 'alive'" 2>&1)
    expect_output "timeout, SQLSTATE, then the session works" "SET
ERROR:  canceling statement due to statement timeout
57014
alive" "$output"
}

check_cancel() {
    # Ctrl-C: psql sends a CancelRequest with the key the server gave it at startup.
    local started=$SECONDS output
    PGCONNECT_TIMEOUT=10 psql -X -h "$HOST" -p "$PORT" -U "$USER_NAME" -d "$DBNAME" \
        -c 'SELECT pg_sleep(5) FROM users WHERE id = 1000001' >"$WORK/cancel.out" 2>&1 &
    local pid=$!
    sleep 1
    kill -INT "$pid"
    wait "$pid"
    output=$(cat "$WORK/cancel.out")
    grep -q "canceling statement due to user request" <<<"$output" || { echo "not cancelled: $output"; return 1; }
    [ $((SECONDS - started)) -lt 4 ] || { echo "the cancel took until pg_sleep ended"; return 1; }
}

check_set_application_name() {
    expect_output "startup parameter, SET, and the setting on every shard" "compat-psql-startup
compat-psql
compat-psql
compat-psql
compat-psql
compat-psql" "$(PGAPPNAME=compat-psql-startup q -At -c 'SHOW application_name' -c "SET application_name = 'compat-psql'" \
        -c 'SHOW application_name' \
        -c "SELECT current_setting('application_name') FROM users WHERE id = 1000001" \
        -c "SELECT current_setting('application_name') FROM users WHERE id = 1000002" \
        -c "SELECT current_setting('application_name') FROM users WHERE id = 1000003" \
        -c "SELECT current_setting('application_name') FROM users WHERE id = 1000004" | grep -v '^SET$')"
}

check_set_search_path() {
    local output
    output=$(q -At -v ON_ERROR_STOP=0 -c 'SET search_path = pg_catalog' -c 'SELECT current_schema()' \
        -c 'SELECT name FROM users WHERE id = 1000001' -c '\echo :SQLSTATE' -c 'RESET search_path' \
        -c 'SELECT name FROM users WHERE id = 1000001' 2>&1 | grep -v -e '^SET$' -e '^RESET$' -e '^LINE' -e '^ *\^')
    expect_output "search_path effects" 'pg_catalog
ERROR:  relation "users" does not exist
42P01
user 1' "$output"
}

check_copy_out() {
    q -q -c "\\copy (SELECT id, name FROM users WHERE id = 1000001) TO '$WORK/one.tsv'" || return 1
    expect_output "copied rows" "$(printf '1000001\tuser 1')" "$(cat "$WORK/one.tsv")"
}

check_copy_out_table() {
    q -q -c "\\copy users (id, name) TO '$WORK/users.tsv'" || return 1
    expect_output "seeded users copied" "100" \
        "$(awk -F'\t' '$1 > 1000000 && $1 <= 1000100' "$WORK/users.tsv" | sort -u | wc -l)"
}

check_copy_in() {
    : >"$WORK/in.tsv"
    for i in 50 51 52 53 54 55 56 57; do
        printf '%s\tcopied %s\tus\n' $((BASE + i)) $((BASE + i)) >>"$WORK/in.tsv"
    done
    expect_output "\\copy tag" "COPY 8" "$(q -c "\\copy users (id, name, country) FROM '$WORK/in.tsv'")" || return 1
    expect_output "rows copied in" "8" \
        "$(q -At -c "SELECT id FROM users WHERE id IN ($(seq -s ', ' $((BASE + 50)) $((BASE + 57))))" | wc -l)"
}

export HOST PORT USER_NAME DBNAME BASE OWN_IDS WORK
check cleanup_start cleanup
check connect check_connect
check select_literal check_select_literal
check insert_returning check_insert_returning
check command_tags check_command_tags
check multi_shard_select check_multi_shard_select
check multi_statement check_multi_statement
check transaction_commit check_transaction_commit
check transaction_rollback check_transaction_rollback
check single_transaction check_single_transaction
check unique_violation check_unique_violation
check nulls check_nulls
check types_literal check_types_literal
check gset check_gset
check describe_users check_describe_users
check describe_orders check_describe_orders
check list_tables_plus check_list_tables_plus
check catalog_commands check_catalog_commands
check statement_timeout check_statement_timeout
check cancel check_cancel
check set_application_name check_set_application_name
check set_search_path check_set_search_path
check copy_out check_copy_out
check copy_out_table check_copy_out_table
check copy_in check_copy_in
check cleanup_end cleanup
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
