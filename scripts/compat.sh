#!/usr/bin/env bash
# The real-client compatibility suite: psql, pgbench, psycopg 3, asyncpg, pgjdbc,
# node-postgres and postgres-nio, each run through a local 4-shard `pgshard demo` once per
# pool mode. See docs/compatibility.md.
#
#   scripts/compat.sh                      every client, every pool mode
#   scripts/compat.sh --client psycopg     one client (repeat the option, or NAME,NAME)
#   scripts/compat.sh --mode transaction   one pool mode
#   scripts/compat.sh --direct             every client against one unsharded PostgreSQL
#                                          database with the demo's data: checks the suite itself
#   scripts/compat.sh --no-install         use what is installed; install nothing
#   scripts/compat.sh --keep               keep the temporary directory (logs, demo cluster)
#
# Prints `CLIENT MODE: N passed, N failed` for each run, then `N passed, N failed` in all, and
# exits non-zero when any check failed, a client crashed or ran out of time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ALL_CLIENTS=(psql pgbench psycopg asyncpg jdbc node nio)
ALL_MODES=(session transaction)
CLIENT_SECONDS=${COMPAT_CLIENT_SECONDS:-300}   # one client's whole run
DEMO_START_SECONDS=180
PSYCOPG_VERSION=3.3.9
ASYNCPG_VERSION=0.32.0
CACHE=${PGSHARD_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pgshard-compat}

clients=()
modes=()
direct=false
install=true
keep=false
while [ $# -gt 0 ]; do
    case "$1" in
        --client) IFS=, read -r -a more <<<"$2"; clients+=("${more[@]}"); shift 2 ;;
        --mode) IFS=, read -r -a more <<<"$2"; modes+=("${more[@]}"); shift 2 ;;
        --direct) direct=true; shift ;;
        --no-install) install=false; shift ;;
        --keep) keep=true; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "compat: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ ${#clients[@]} -gt 0 ] || clients=("${ALL_CLIENTS[@]}")
[ ${#modes[@]} -gt 0 ] || modes=("${ALL_MODES[@]}")
for client in "${clients[@]}"; do
    [[ " ${ALL_CLIENTS[*]} " == *" $client "* ]] || { echo "compat: unknown client $client (${ALL_CLIENTS[*]})" >&2; exit 2; }
done
for mode in "${modes[@]}"; do
    [[ " ${ALL_MODES[*]} " == *" $mode "* ]] || { echo "compat: unknown mode $mode (${ALL_MODES[*]})" >&2; exit 2; }
done
$direct && modes=(direct)
wants() { [[ " ${clients[*]} " == *" $1 "* ]]; }
say() { echo "compat: $*" >&2; }
started_at=$SECONDS

# --- installs --------------------------------------------------------------------------------

apt_install() {
    local SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    if [ -z "${APT_UPDATED:-}" ]; then
        $SUDO apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# pgshard's own packages (libpq, libpg_query, PostgreSQL, psql, pgbench) and Swift on PATH.
source scripts/setup.sh

NODE_PATH_DIRS=/usr/share/nodejs
node_has_pg() { NODE_PATH=$NODE_PATH_DIRS node -e "require('pg'); require('pg-cursor')" >/dev/null 2>&1; }

if $install; then
    if wants jdbc; then
        missing=()
        command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
        [ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
        [ ${#missing[@]} -eq 0 ] || { say "installing ${missing[*]}"; apt_install "${missing[@]}"; }
    fi
    if wants node; then
        command -v node >/dev/null 2>&1 || { say "installing nodejs node-pg"; apt_install nodejs node-pg; }
        if ! node_has_pg && ! installed node-pg; then
            say "installing node-pg"
            # Debian's node-pg needs Debian's nodejs; next to another nodejs build (NodeSource's,
            # say) apt refuses it, so unpack the package and its one runtime dependency instead.
            if ! apt_install node-pg 2>/dev/null; then
                say "apt cannot install node-pg next to this nodejs; unpacking it under $CACHE/node"
                rm -rf "$CACHE/node" && mkdir -p "$CACHE/node/debs"
                (cd "$CACHE/node/debs" && apt-get download node-pg node-split2 >/dev/null 2>&1)
                for deb in "$CACHE"/node/debs/*.deb; do dpkg-deb -x "$deb" "$CACHE/node/root"; done
            fi
        fi
    fi
    if wants psycopg || wants asyncpg; then
        if [ ! -x "$CACHE/venv/bin/python" ]; then
            python3 -m venv "$CACHE/venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$CACHE/venv"; }
        fi
        if ! "$CACHE/venv/bin/python" -c "import psycopg, asyncpg; assert psycopg.__version__ == '$PSYCOPG_VERSION' and asyncpg.__version__ == '$ASYNCPG_VERSION'" 2>/dev/null; then
            say "installing psycopg $PSYCOPG_VERSION and asyncpg $ASYNCPG_VERSION from PyPI"
            "$CACHE/venv/bin/pip" install -q --disable-pip-version-check "psycopg==$PSYCOPG_VERSION" "asyncpg==$ASYNCPG_VERSION"
        fi
    fi
fi
[ -d "$CACHE/node/root/usr/share/nodejs" ] && NODE_PATH_DIRS="$CACHE/node/root/usr/share/nodejs:$NODE_PATH_DIRS"
PYTHON="$CACHE/venv/bin/python"
export PYTHONDONTWRITEBYTECODE=1
[ -x "$PYTHON" ] || PYTHON=python3

# --- builds ----------------------------------------------------------------------------------

WORK=$(mktemp -d /tmp/pgshard-compat.XXXXXX)
chmod 755 "$WORK"   # the shards run as the postgres user when this runs as root
mkdir -p "$WORK/logs"
DEMO_PID=""
CLIENT_PID=""

stop_demo() {
    [ -n "$DEMO_PID" ] || return 0
    if kill -0 "$DEMO_PID" 2>/dev/null; then
        kill -TERM "$DEMO_PID" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$DEMO_PID" 2>/dev/null; then
            say "the demo did not stop within 30 s; killing it and stopping its shards"
            kill -KILL "$DEMO_PID" 2>/dev/null || true
        fi
    fi
    wait "$DEMO_PID" 2>/dev/null || true
    DEMO_PID=""
}

stop_leftover_shards() {
    # Only when the demo could not stop them itself.
    local data pg_ctl
    pg_ctl=$(command -v pg_ctl || true)
    [ -n "$pg_ctl" ] || return 0
    for data in "$WORK"/demo/cluster/*/data; do
        [ -f "$data/postmaster.pid" ] || continue
        if [ "$(id -u)" -eq 0 ]; then
            runuser -u postgres -- "$pg_ctl" stop -D "$data" -m immediate >/dev/null 2>&1 || true
        else
            "$pg_ctl" stop -D "$data" -m immediate >/dev/null 2>&1 || true
        fi
    done
}

finish() {
    local status=$?
    # `timeout` passes the signal on to the client program.
    if [ -n "$CLIENT_PID" ]; then kill -TERM "$CLIENT_PID" 2>/dev/null || true; wait "$CLIENT_PID" 2>/dev/null || true; fi
    stop_demo
    stop_leftover_shards
    if $keep; then say "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

say "building pgshard"
swift build -c release --product pgshard 2>&1 | tail -n 3 >&2
PGSHARD="$ROOT/.build/release/pgshard"

if wants jdbc; then
    say "compiling the JDBC client"
    mkdir -p "$WORK/jdbc"
    javac -d "$WORK/jdbc" -cp /usr/share/java/postgresql.jar compat/jdbc/CompatTest.java
fi
if wants nio; then
    say "building the postgres-nio client (compat/nio)"
    # Its build folder lives in the cache, outside the clone: postgres-nio and its dependencies
    # (swift-nio, swift-nio-ssl with BoringSSL, swift-crypto) take minutes to build from scratch.
    nio_build=(--package-path compat/nio --scratch-path "$CACHE/nio-build")
    swift build "${nio_build[@]}" --product CompatNIO 2>&1 | tail -n 3 >&2
    NIO_BIN="$(swift build "${nio_build[@]}" --show-bin-path)/CompatNIO"
fi

# --- the demo --------------------------------------------------------------------------------

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pool_mode_supported() { "$PGSHARD" demo --help 2>/dev/null | grep -q -- "--pool-mode"; }

# start_demo MODE: the demo in the background; waits until it serves.
start_demo() {
    local mode=$1 log="$WORK/logs/demo-$1.log" args=()
    PORT=$(free_port)
    args=(demo --dir "$WORK/demo" --port "$PORT" --shards 4)
    if [ "$mode" != direct ] && pool_mode_supported; then args+=(--pool-mode "$mode"); fi
    say "starting pgshard ${args[*]}"
    "$PGSHARD" "${args[@]}" >"$log" 2>&1 &
    DEMO_PID=$!
    local waited=0
    until grep -q "pgshard demo is running" "$log"; do
        if ! kill -0 "$DEMO_PID" 2>/dev/null; then
            say "the demo exited before serving:"; tail -n 30 "$log" >&2; DEMO_PID=""; exit 1
        fi
        if [ "$waited" -ge $((DEMO_START_SECONDS * 2)) ]; then
            say "the demo did not start within $DEMO_START_SECONDS s:"; tail -n 30 "$log" >&2; exit 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
}

# The unsharded database for --direct: on the first shard's server, the demo's schema and data.
prepare_direct() {
    local shard_port
    shard_port=$(grep -m1 -o 'port=[0-9]*' "$WORK/demo/pgshard.yaml" | cut -d= -f2)
    psql -X -q -h 127.0.0.1 -p "$shard_port" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS compat_direct" -c "CREATE DATABASE compat_direct" >&2
    psql -X -q -h 127.0.0.1 -p "$shard_port" -U postgres -d compat_direct -v ON_ERROR_STOP=1 \
        -f compat/sql/direct-seed.sql >&2
    CONN=(--host 127.0.0.1 --port "$shard_port" --user postgres --dbname compat_direct)
}

# --- the clients -----------------------------------------------------------------------------

client_command() {
    case "$1" in
        psql) echo bash compat/psql/test_psql.sh ;;
        pgbench) echo bash compat/pgbench/test_pgbench.sh ;;
        psycopg) echo "$PYTHON" compat/python/test_psycopg.py ;;
        asyncpg) echo "$PYTHON" compat/python/test_asyncpg.py ;;
        jdbc) echo java -cp "$WORK/jdbc:/usr/share/java/postgresql.jar" CompatTest ;;
        node) echo node compat/node/test_pg.js ;;
        nio) echo "$NIO_BIN" ;;
    esac
}

total_passed=0
total_failed=0
total_skipped=0
summaries=()

# run_client CLIENT MODE: one program, bounded in time; its lines are echoed indented.
run_client() {
    local client=$1 mode=$2 log="$WORK/logs/$1-$2.log" status passed failed summary note=""
    read -r -a command <<<"$(client_command "$client")"
    set +e
    # In the background and waited for, so that a signal to the runner is handled at once.
    NODE_PATH=$NODE_PATH_DIRS timeout -k 10 "$CLIENT_SECONDS" "${command[@]}" "${CONN[@]}" >"$log" 2>"$log.stderr" </dev/null &
    CLIENT_PID=$!
    wait "$CLIENT_PID"
    status=$?
    CLIENT_PID=""
    set -e
    sed "s/^/    [$client $mode] /" "$log"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
    if [ -n "$summary" ]; then
        passed=${summary%% passed*}
        failed=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$summary")
    else
        passed=$(grep -c '^PASS ' "$log" || true)
        failed=$(grep -c '^FAIL ' "$log" || true)
    fi
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        failed=$((failed + 1)); note=" (timed out after $CLIENT_SECONDS s)"
    elif [ -z "$summary" ] || { [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
        failed=$((failed + 1)); note=" (exited with status $status before its summary)"
    fi
    if [ -n "$note" ] && [ -s "$log.stderr" ]; then
        sed "s/^/    [$client $mode stderr] /" "$log.stderr" | tail -n 20
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summaries+=("$client $mode: $passed passed, $failed failed$note")
    echo "$client $mode: $passed passed, $failed failed$note"
}

for mode in "${modes[@]}"; do
    if [ "$mode" = transaction ] && ! pool_mode_supported; then
        for client in "${clients[@]}"; do
            summaries+=("$client transaction: skipped (pgshard demo has no --pool-mode yet)")
            total_skipped=$((total_skipped + 1))
        done
        say "skipping pool mode transaction: \`pgshard demo --help\` lists no --pool-mode"
        continue
    fi
    start_demo "$mode"
    if [ "$mode" = direct ]; then
        prepare_direct
    else
        CONN=(--host 127.0.0.1 --port "$PORT" --user demo --dbname demo)
    fi
    for client in "${clients[@]}"; do
        say "running $client ($mode)"
        run_client "$client" "$mode"
    done
    stop_demo
done

echo
echo "compatibility suite, $(date -u +%Y-%m-%d), $((SECONDS - started_at)) s:"
for line in "${summaries[@]}"; do echo "  $line"; done
if [ "$total_skipped" -gt 0 ]; then
    echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
else
    echo "$total_passed passed, $total_failed failed"
fi
[ "$total_failed" -eq 0 ]
