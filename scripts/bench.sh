#!/usr/bin/env bash
# Benchmarks pgshard against PgBouncer and a direct connection to PostgreSQL with pgbench, and
# measures the memory of idle client connections. Method and figures: docs/performance.md.
#
#   ./scripts/bench.sh                 # full run: 15 s per run, 3 repetitions, scale 10
#   ./scripts/bench.sh --quick         # development: 3 s per run, 1 repetition, scale 1
#   BENCH_SECONDS=5 ./scripts/bench.sh --reps 2 --workloads select-simple
#
# Everything runs on 127.0.0.1 in a temporary directory that is removed at the end; only the
# processes this script started are stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() {
    cat <<'EOF'
usage: scripts/bench.sh [options]           (each option also reads an environment variable)

  --quick                 BENCH_QUICK=1        3 s runs, 1 repetition, 1 s warm-up, scale 1
  --seconds N             BENCH_SECONDS        length of each measured pgbench run (15)
  --reps N                BENCH_REPS           repetitions of every workload/target pair (3)
  --warmup N              BENCH_WARMUP         seconds of unmeasured pgbench per pair first (3; 0: none)
  --scale N               BENCH_SCALE          pgbench scale factor (10)
  --clients N             BENCH_CLIENTS        pgbench clients (16)
  --threads N             BENCH_THREADS        pgbench worker threads (2)
  --workloads LIST        BENCH_WORKLOADS      comma-separated subset of
                                               select-simple,select-prepared,tpcb-simple (none: no runs)
  --idle-connections N    BENCH_IDLE_CONNECTIONS  idle clients for the memory test (5000; 0: skip)
  --workers N             BENCH_WORKERS        pgshard's event loops (workers:); default: one per core
  --no-build              BENCH_BUILD=0        use the existing .build/release/pgshard
  --keep                  BENCH_KEEP=1         keep the temporary directory (logs, configs)
  --user NAME             BENCH_USER           non-root user that runs the servers (postgres)
                          BENCH_IDLE_ROUNDS    times the idle connections are opened (2: tells reuse from a leak)
EOF
}

flag_quick="" flag_seconds="" flag_reps="" flag_warmup="" flag_scale="" flag_clients="" flag_threads=""
flag_workloads="" flag_workers="" flag_idle="" flag_build="" flag_keep="" flag_user=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) flag_quick=1 ;;
        --seconds) flag_seconds=${2:?--seconds needs a value}; shift ;;
        --reps) flag_reps=${2:?--reps needs a value}; shift ;;
        --warmup) flag_warmup=${2:?--warmup needs a value}; shift ;;
        --scale) flag_scale=${2:?--scale needs a value}; shift ;;
        --clients) flag_clients=${2:?--clients needs a value}; shift ;;
        --threads) flag_threads=${2:?--threads needs a value}; shift ;;
        --workloads) flag_workloads=${2:?--workloads needs a value}; shift ;;
        --idle-connections) flag_idle=${2:?--idle-connections needs a value}; shift ;;
        --workers) flag_workers=${2:?--workers needs a value}; shift ;;
        --no-build) flag_build=0 ;;
        --keep) flag_keep=1 ;;
        --user) flag_user=${2:?--user needs a value}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

QUICK=${flag_quick:-${BENCH_QUICK:-0}}
if [ "$QUICK" = 1 ]; then d_seconds=3 d_reps=1 d_warmup=1 d_scale=1; else d_seconds=15 d_reps=3 d_warmup=3 d_scale=10; fi
RUN_SECONDS=${flag_seconds:-${BENCH_SECONDS:-$d_seconds}}
REPS=${flag_reps:-${BENCH_REPS:-$d_reps}}
WARMUP=${flag_warmup:-${BENCH_WARMUP:-$d_warmup}}
SCALE=${flag_scale:-${BENCH_SCALE:-$d_scale}}
CLIENTS=${flag_clients:-${BENCH_CLIENTS:-16}}
THREADS=${flag_threads:-${BENCH_THREADS:-2}}
WORKLOADS=${flag_workloads:-${BENCH_WORKLOADS:-select-simple,select-prepared,tpcb-simple}}
IDLE_CONNECTIONS=${flag_idle:-${BENCH_IDLE_CONNECTIONS:-5000}}
WORKERS=${flag_workers:-${BENCH_WORKERS:-}}
BUILD=${flag_build:-${BENCH_BUILD:-1}}
KEEP=${flag_keep:-${BENCH_KEEP:-0}}
RUN_USER=${flag_user:-${BENCH_USER:-postgres}}
SHARDS=4                      # the sharded target; the single-shard target always has 1
POOL_BLOCK='pool: { mode: transaction, size: 20 }'

for pair in ${WORKERS:+"workers:$WORKERS"} "seconds:$RUN_SECONDS" "reps:$REPS" "scale:$SCALE" "clients:$CLIENTS" "threads:$THREADS"; do
    [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --${pair%%:*} must be a positive whole number" >&2; exit 2; }
done
for pair in "warmup:$WARMUP" "idle-connections:$IDLE_CONNECTIONS"; do
    [[ "${pair#*:}" =~ ^[0-9]+$ ]] || { echo "bench: --${pair%%:*} must be a whole number" >&2; exit 2; }
done
IDLE_ROUNDS=${BENCH_IDLE_ROUNDS:-2}
[[ "$IDLE_ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_IDLE_ROUNDS must be a positive whole number" >&2; exit 2; }
WORKLOAD_LIST=()
[ "$WORKLOADS" = none ] || IFS=, read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
for w in "${WORKLOAD_LIST[@]}"; do
    case "$w" in select-simple|select-prepared|tpcb-simple) ;; *) echo "bench: unknown workload $w" >&2; exit 2 ;; esac
done

# ---------------------------------------------------------------------------------------------
# Tools: what the tests need (scripts/setup.sh), plus PgBouncer and pgbench.

source scripts/setup.sh
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    echo "bench: installing pgbouncer" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
fi
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
for tool in pgbench psql python3 getconf timeout; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is required" >&2; exit 1; }
done
[ -x "$PG_BIN/initdb" ] || { echo "bench: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
CLK_TCK=$(getconf CLK_TCK)

if [ "$BUILD" = 1 ]; then
    echo "bench: building pgshard (release)" >&2
    swift build -c release --product pgshard >&2
fi
[ -x .build/release/pgshard ] || { echo "bench: .build/release/pgshard is missing; build it or drop --no-build" >&2; exit 1; }

# Servers run as a non-root user when this script runs as root (initdb refuses root).
# setpriv executes the program in place, so $! is the server's own pid.
AS_USER=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id "$RUN_USER" >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin "$RUN_USER"
    fi
    AS_USER=(setpriv "--reuid=$RUN_USER" "--regid=$(id -g "$RUN_USER")" --init-groups --)
fi

# Enough descriptors for the idle-connection test (the proxy and the client each hold one per connection).
wanted_files=$((IDLE_CONNECTIONS + 1024))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$wanted_files" ]; then
    ulimit -Hn "$wanted_files" 2>/dev/null || true
fi
hard_files=$(ulimit -Hn)
if [ "$hard_files" = unlimited ] || [ "$hard_files" -ge "$wanted_files" ]; then ulimit -n "$wanted_files"; else ulimit -n "$hard_files"; fi

# ---------------------------------------------------------------------------------------------
# Temporary directory, processes, cleanup.

WORK=$(mktemp -d /tmp/pgshard-bench.XXXXXX)
chmod 755 "$WORK"
[ ${#AS_USER[@]} -eq 0 ] || chown "$RUN_USER:$(id -g "$RUN_USER")" "$WORK"
PG_DATA=$WORK/pg
PG_PID=""
source scripts/bench-processes.sh

cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "${!STARTED[@]}"; do [ "$pid" = "$PG_PID" ] || stop_pid "$pid"; done
    if [ -n "$PG_PID" ] && running "$PG_PID"; then
        "${AS_USER[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -t 30 stop >/dev/null 2>&1 || stop_pid "$PG_PID"
    fi
    if [ "$KEEP" = 1 ]; then
        echo "bench: kept $WORK (logs, configs, results.tsv)" >&2
    else
        if [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; then
            for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "--- last lines of $(basename "$log")" >&2; tail -n 5 "$log" >&2; }; done
        fi
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_ports() {   # free_ports N: N distinct free loopback ports
    python3 - "$1" <<'EOF'
import socket, sys
sockets = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets))
EOF
}

wait_ready() {   # wait_ready PORT PID NAME [DATABASE]: until the server answers (at most 30 s)
    local port=$1 pid=$2 name=$3 db=${4:-postgres} i
    for i in $(seq 1 300); do
        running "$pid" || { echo "$name exited at start-up: $(cat "$WORK/$name".{log,out} 2>/dev/null | tail -n 3 | tr '\n' ' ')"; return 1; }
        pg_isready -q -h 127.0.0.1 -p "$port" -U postgres -d "$db" -t 1 && return 0
        sleep 0.1
    done
    echo "$name did not answer on port $port within 30 s"
    return 1
}

read -r PG_PORT BOUNCER_PORT SHARD1_PORT SHARD4_PORT IDLE_PORT <<<"$(free_ports 5)"

sql() {   # sql DATABASE SQL...: run on PostgreSQL directly, unaligned, tuples only
    local db=$1; shift
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" "$@"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: one server; database "bench" for direct, PgBouncer and pgshard with 1 shard,
# databases bench_s0..bench_s3 for pgshard with 4 shards.

echo "== pgshard benchmark"
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:       $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pgshard:    $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
echo "PostgreSQL: $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) //'), PgBouncer $("$PGBOUNCER" --version | head -n 1 | awk '{ print $2 }'), $(pgbench --version | sed 's/ (PostgreSQL)//')"
echo "settings:   ${RUN_SECONDS}s runs, $REPS repetitions, ${WARMUP}s warm-up, scale $SCALE, $CLIENTS clients, $THREADS pgbench threads, workloads $WORKLOADS"
echo

"${AS_USER[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C >"$WORK/initdb.log" 2>&1 \
    || { echo "bench: initdb failed:"; tail -n 5 "$WORK/initdb.log"; exit 1; }
cat >>"$PG_DATA/postgresql.conf" <<EOF
# scripts/bench.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK'
max_connections = 300
max_prepared_transactions = 300    # pgshard commits multi-shard writes in two phases
shared_buffers = 512MB
synchronous_commit = off           # commits do not wait for the disk: the proxies are measured, not fsync
max_wal_size = 4GB
checkpoint_timeout = 30min
log_min_messages = warning
EOF
"${AS_USER[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/postgres.log" -w -t 60 start >/dev/null \
    || { echo "bench: PostgreSQL did not start:"; tail -n 5 "$WORK/postgres.log"; exit 1; }
PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
started "$PG_PID"

echo "== data: pgbench scale $SCALE"
started=$(date +%s)
sql postgres -c "CREATE DATABASE bench"
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U postgres bench >"$WORK/pgbench-init.log" 2>&1 \
    || { echo "bench: pgbench -i failed:"; tail -n 5 "$WORK/pgbench-init.log"; exit 1; }
ACCOUNTS=$((100000 * SCALE)) TELLERS=$((10 * SCALE)) BRANCHES=$SCALE

# shard_of COLUMN: the shard pgshard places an integer key in (docs/sharding.md):
# (hashint4extended(key, seed) + 0x49A0F4DD15E5A8E3) mod 2^64, unsigned, then mod the shard count.
# hashint4extended returns a signed bigint; adding 2^64 before the first mod keeps it non-negative.
shard_of() {
    echo "(((hashint4extended($1, 8816678312871386365)::numeric + 5305509591434766563 + 18446744073709551616) % 18446744073709551616) % $SHARDS)"
}

# The formula must agree with PostgreSQL's own PARTITION BY HASH (negative and extreme keys included).
mismatches=$(sql bench <<EOF
CREATE TEMP TABLE placement_check (k integer) PARTITION BY HASH (k);
$(for ((i = 0; i < SHARDS; i++)); do echo "CREATE TEMP TABLE placement_check_$i PARTITION OF placement_check FOR VALUES WITH (MODULUS $SHARDS, REMAINDER $i);"; done)
INSERT INTO placement_check SELECT g FROM generate_series(-20000, 20000) g;
INSERT INTO placement_check VALUES (-2147483648), (2147483647), ($ACCOUNTS);
SELECT count(*) FROM placement_check WHERE tableoid::regclass::text <> 'placement_check_' || $(shard_of k);
EOF
)
if [ "$mismatches" != 0 ]; then
    echo "bench: the placement formula disagrees with PARTITION BY HASH for $mismatches keys" >&2
    exit 1
fi
echo "placement formula agrees with PostgreSQL's PARTITION BY HASH (MODULUS $SHARDS) for 40,004 keys"

for ((i = 0; i < SHARDS; i++)); do
    sql postgres -c "CREATE DATABASE bench_s$i TEMPLATE bench"
    sql "bench_s$i" <<EOF
DELETE FROM pgbench_accounts WHERE $(shard_of aid) <> $i;
DELETE FROM pgbench_tellers WHERE $(shard_of tid) <> $i;
DELETE FROM pgbench_branches WHERE $(shard_of bid) <> $i;
TRUNCATE pgbench_history;
VACUUM (FULL, ANALYZE) pgbench_accounts, pgbench_tellers, pgbench_branches, pgbench_history;
EOF
done
sql bench -c "VACUUM ANALYZE"
counts=""
sum_a=0 sum_t=0 sum_b=0
for ((i = 0; i < SHARDS; i++)); do
    IFS='|' read -r a t b <<<"$(sql "bench_s$i" -c "SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_tellers), (SELECT count(*) FROM pgbench_branches)")"
    counts+="${counts:+, }s$i $a/$t/$b"
    sum_a=$((sum_a + a)) sum_t=$((sum_t + t)) sum_b=$((sum_b + b))
done
echo "rows per shard (accounts/tellers/branches): $counts"
if [ "$sum_a/$sum_t/$sum_b" != "$ACCOUNTS/$TELLERS/$BRANCHES" ]; then
    echo "bench: the shards hold $sum_a/$sum_t/$sum_b rows, expected $ACCOUNTS/$TELLERS/$BRANCHES" >&2
    exit 1
fi
echo "per-shard counts sum to the totals $ACCOUNTS/$TELLERS/$BRANCHES; loaded in $(( $(date +%s) - started )) s"
echo

# ---------------------------------------------------------------------------------------------
# PgBouncer: one process, two pools on database "bench": bench_tx (transaction mode) and
# bench_session (session mode).

write_pgbouncer_config "$WORK" "$PG_PORT" "$BOUNCER_PORT"
# pgbouncer.log is opened by PgBouncer itself (as the run user); start-up errors go to the .out file.
"${AS_USER[@]}" "$PGBOUNCER" "$WORK/pgbouncer.ini" >"$WORK/pgbouncer.out" 2>&1 &
BOUNCER_PID=$!
started "$BOUNCER_PID"
declare -A BROKEN=()        # target -> why it cannot run
if reason=$(wait_ready "$BOUNCER_PORT" "$BOUNCER_PID" pgbouncer pgbouncer); then
    # SHOW DATABASES on PgBouncer's console: the pool mode each alias really has.
    pools=$(psql -X -q -A -t -F ' ' -h 127.0.0.1 -p "$BOUNCER_PORT" -U postgres -d pgbouncer -c "SHOW DATABASES" 2>&1 \
        | awk '$1 ~ /^bench_/ { for (i = 1; i <= NF; i++) if ($i == "transaction" || $i == "session") printf "%s%s %s", sep, $1, $i; sep = ", " }')
    echo "pgbouncer pool modes: ${pools:-unknown}"
else
    BROKEN[pgbouncer-tx]=$reason BROKEN[pgbouncer-session]=$reason
fi

# ---------------------------------------------------------------------------------------------
# pgshard: 1 shard (database bench) and 4 shards (bench_s0..3), same tables.

install -m 755 .build/release/pgshard "$WORK/pgshard"

write_pgshard_config() {   # write_pgshard_config FILE PORT SHARD_COUNT MAX_CLIENTS WITH_POOL
    local file=$1 port=$2 count=$3 max_clients=$4 with_pool=$5 i
    {
        echo "# written by scripts/bench.sh"
        echo "listen: { host: 127.0.0.1, port: $port }"
        echo "auth: trust"
        echo "shards:"
        if [ "$count" = 1 ]; then
            echo "  - { name: s0, primary: \"host=127.0.0.1 port=$PG_PORT dbname=bench user=postgres\" }"
        else
            for ((i = 0; i < count; i++)); do
                echo "  - { name: s$i, primary: \"host=127.0.0.1 port=$PG_PORT dbname=bench_s$i user=postgres\" }"
            done
        fi
        echo "tables:"
        echo "  pgbench_accounts: { key: aid, type: integer, function: hash }"
        echo "  pgbench_tellers:  { key: tid, type: integer, function: hash }"
        echo "  pgbench_branches: { key: bid, type: integer, function: hash }"
        echo "  pgbench_history:  { key: aid, type: integer, function: hash }"
        echo "limits: { max_client_connections: $max_clients }"
        echo "log: { level: warning }"
        if [ -n "$WORKERS" ]; then echo "workers: $WORKERS"; fi
        if [ "$with_pool" = 1 ]; then echo "$POOL_BLOCK"; fi
    } >"$file"
}

# Transaction pooling is the configuration the targets are stated for; builds that do not know
# the pool: block yet refuse it as an unknown setting and get session pooling.
write_pgshard_config "$WORK/pool-probe.yaml" "$SHARD1_PORT" 1 1000 1
WITH_POOL=1
if probe=$("$WORK/pgshard" check --config "$WORK/pool-probe.yaml" 2>&1); then
    POOL_MODE="transaction ($POOL_BLOCK)"
elif grep -q '^pool\|: pool' <<<"$probe"; then
    WITH_POOL=0
    POOL_MODE="session (this build refuses the pool: block: $(grep -m 1 'pool' <<<"$probe" | sed 's/^[^:]*: //'))"
else
    POOL_MODE="transaction? (pgshard check failed: $(grep -m 1 -v '^ok' <<<"$probe"))"
fi
echo "pgshard pool mode: $POOL_MODE"

start_pgshard() {   # start_pgshard NAME CONFIG PORT: sets STARTED_PID, or START_ERROR and fails
    local name=$1 config=$2 port=$3 output
    STARTED_PID="" START_ERROR=""
    if ! output=$("$WORK/pgshard" check --config "$config" 2>&1); then
        START_ERROR="pgshard check: $(grep -v '^ok\|configuration is valid' <<<"$output" | head -n 2 | tr '\n' ' ')"
        return 1
    fi
    "${AS_USER[@]}" "$WORK/pgshard" run --config "$config" >"$WORK/$name.log" 2>&1 &
    STARTED_PID=$!
    started "$STARTED_PID"
    START_ERROR=$(wait_ready "$port" "$STARTED_PID" "$name") || return 1
}

declare -A PROXY_PID=([pgbouncer-tx]=$BOUNCER_PID [pgbouncer-session]=$BOUNCER_PID)
write_pgshard_config "$WORK/pgshard-1.yaml" "$SHARD1_PORT" 1 1000 "$WITH_POOL"
write_pgshard_config "$WORK/pgshard-4.yaml" "$SHARD4_PORT" "$SHARDS" 1000 "$WITH_POOL"
for target in pgshard-1 pgshard-4; do
    port=$SHARD1_PORT; [ "$target" = pgshard-4 ] && port=$SHARD4_PORT
    if start_pgshard "$target" "$WORK/$target.yaml" "$port"; then
        PROXY_PID[$target]=$STARTED_PID
    else
        BROKEN[$target]=$START_ERROR
        echo "bench: $target is not usable: $START_ERROR"
    fi
done

# Placement through pgshard: every sampled key must be found on the shard pgshard routes it to.
if [ -z "${BROKEN[pgshard-4]:-}" ]; then
    {
        for ((i = 0; i < 200; i++)); do
            echo "SELECT count(*) FROM pgbench_accounts WHERE aid = $(( i == 0 ? 1 : i == 1 ? ACCOUNTS : 1 + (i * 104729) % ACCOUNTS ));"
        done
        for ((k = 1; k <= TELLERS; k++)); do echo "SELECT count(*) FROM pgbench_tellers WHERE tid = $k;"; done
        for ((k = 1; k <= BRANCHES; k++)); do echo "SELECT count(*) FROM pgbench_branches WHERE bid = $k;"; done
    } >"$WORK/placement.sql"
    expected=$((200 + TELLERS + BRANCHES))
    found=$(timeout 120 psql -X -q -A -t -h 127.0.0.1 -p "$SHARD4_PORT" -U postgres -d bench -f "$WORK/placement.sql" 2>"$WORK/placement.err" | grep -c '^1$' || true)
    if [ "$found" = "$expected" ]; then
        echo "placement through pgshard-4: all $expected sampled keys (200 accounts, every teller and branch) found"
    else
        reason="placement check: $found of $expected keys found through pgshard ($(head -n 1 "$WORK/placement.err"))"
        echo "bench: $reason"
        BROKEN[pgshard-4]=$reason
    fi
fi
echo

# ---------------------------------------------------------------------------------------------
# Runs.

cpu_ticks() {   # cpu_ticks PID: utime + stime of a process (all its threads), in clock ticks
    local line rest
    read -r line 2>/dev/null <"/proc/$1/stat" || { echo 0; return; }
    rest=${line##*) }
    set -- $rest
    echo $(( ${12} + ${13} ))
}

# CPU of the whole PostgreSQL server, in clock ticks: the postmaster's own and its reaped
# children's (cutime, cstime), plus every live child's. Children are read first; one that is
# reaped before the postmaster is read is in cutime as well and is taken out again.
postgres_ticks() {
    local line rest f i total=0
    local -a pids=() ticks=()
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        rest=${line##*) }
        set -- $rest
        if [ "$2" = "$PG_PID" ]; then
            pids+=("${f//[!0-9]/}")
            ticks+=($(( ${12} + ${13} )))
            total=$(( total + ${12} + ${13} ))
        fi
    done
    read -r line 2>/dev/null <"/proc/$PG_PID/stat" || { echo 0; return 0; }
    rest=${line##*) }
    set -- $rest
    total=$(( total + ${12} + ${13} + ${14} + ${15} ))
    for i in "${!pids[@]}"; do
        [ -e "/proc/${pids[$i]}" ] || total=$(( total - ticks[i] ))
    done
    echo "$total"
}

targets_of() {
    case "$1" in
        select-simple) echo "direct pgbouncer-tx pgbouncer-session pgshard-1 pgshard-4" ;;
        select-prepared) echo "direct pgbouncer-session pgshard-1 pgshard-4" ;;   # PgBouncer < 1.21: no prepared statements in transaction mode
        tpcb-simple) echo "direct pgbouncer-tx pgshard-1 pgshard-4" ;;
    esac
}

connection_of() {   # connection_of TARGET: "PORT DATABASE"
    case "$1" in
        direct) echo "$PG_PORT bench" ;;
        pgbouncer-tx) echo "$BOUNCER_PORT bench_tx" ;;
        pgbouncer-session) echo "$BOUNCER_PORT bench_session" ;;
        pgshard-1) echo "$SHARD1_PORT bench" ;;
        pgshard-4) echo "$SHARD4_PORT bench" ;;
    esac
}

databases_of() {   # the databases holding a target's data
    if [ "$1" = pgshard-4 ]; then for ((i = 0; i < SHARDS; i++)); do echo "bench_s$i"; done; else echo bench; fi
}

prepare_tpcb() {   # what pgbench does before a built-in run (-n skips it), directly on PostgreSQL
    local db
    for db in $(databases_of "$1"); do
        sql "$db" -c "VACUUM pgbench_branches" -c "VACUUM pgbench_tellers" -c "TRUNCATE pgbench_history" >/dev/null
    done
}

RESULTS=$WORK/results.tsv
printf 'workload\trep\ttarget\tstatus\ttps\tlatency_ms\ttransactions\tproxy_cpu_ms_per_1k\tpg_cpu_ms_per_1k\treason\n' >"$RESULTS"

pgbench_run() {   # pgbench_run WORKLOAD TARGET SECONDS OUTPUT: exit status of pgbench
    local workload=$1 target=$2 seconds=$3 output=$4 port db script mode
    read -r port db <<<"$(connection_of "$target")"
    case "$workload" in
        select-simple) script=select-only.sql mode=simple ;;
        select-prepared) script=select-only.sql mode=prepared ;;
        tpcb-simple) script=tpcb-like.sql mode=simple ;;
    esac
    timeout -k 10 $((seconds + 60)) pgbench -n -h 127.0.0.1 -p "$port" -U postgres \
        -c "$CLIENTS" -j "$THREADS" -T "$seconds" -M "$mode" -s "$SCALE" -f "$ROOT/bench/$script" "$db" >"$output" 2>&1
}

failure_reason() {   # failure_reason STATUS OUTPUT: one line
    local status=$1 output=$2 line
    if [ "$status" = 124 ] || [ "$status" = 137 ]; then echo "pgbench did not finish within its time limit"; return; fi
    line=$(grep -m 1 -E 'FATAL|ERROR|error:|aborted' "$output" | sed -E 's/^pgbench: (error|fatal): //; s/  +/ /g')
    [ -n "$line" ] || line="pgbench exited with status $status: $(tail -n 1 "$output")"
    echo "${line:0:140}"
}

record() {   # record WORKLOAD REP TARGET STATUS TPS LATENCY TXNS PROXY_CPU PG_CPU REASON
    local IFS=$'\t'
    echo "$*" >>"$RESULTS"
}

measure() {   # measure WORKLOAD REP TARGET: one measured run, printed and recorded
    local workload=$1 rep=$2 target=$3 output=$WORK/run.out status=0
    local proxy_pid=${PROXY_PID[$target]:-}
    local proxy_before=0 proxy_after=0 pg_before pg_after tps latency txns proxy_cpu="" pg_cpu reason label
    label=$(printf '%-15s %d/%d  %-17s' "$workload" "$rep" "$REPS" "$target")
    if [ -n "${BROKEN[$target]:-}" ]; then
        echo "$label n/a (failed: ${BROKEN[$target]})"
        record "$workload" "$rep" "$target" failed "" "" "" "" "" "${BROKEN[$target]}"
        return
    fi
    [ "$workload" = tpcb-simple ] && prepare_tpcb "$target"
    [ -n "$proxy_pid" ] && proxy_before=$(cpu_ticks "$proxy_pid")
    pg_before=$(postgres_ticks)
    pgbench_run "$workload" "$target" "$RUN_SECONDS" "$output" || status=$?
    sleep 0.5   # let disconnections finish, so their CPU falls inside the measurement
    pg_after=$(postgres_ticks)
    [ -n "$proxy_pid" ] && proxy_after=$(cpu_ticks "$proxy_pid")
    tps=$(sed -n -E 's/^tps = ([0-9.]+) .*/\1/p' "$output" | head -n 1)
    latency=$(sed -n -E 's/^latency average = ([0-9.]+) ms.*/\1/p' "$output" | head -n 1)
    txns=$(sed -n -E 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$output" | head -n 1)
    if [ "$status" -ne 0 ] || [ -z "$tps" ] || [ -z "$txns" ] || [ "$txns" = 0 ]; then
        reason=$(failure_reason "$status" "$output")
        echo "$label n/a (failed: $reason)"
        record "$workload" "$rep" "$target" failed "" "" "" "" "" "$reason"
        if [ -n "$proxy_pid" ] && ! running "$proxy_pid"; then
            BROKEN[$target]="the proxy process exited (see its log)"
        fi
        return 0
    fi
    # milliseconds of CPU per 1,000 transactions = ticks / CLK_TCK * 1000 / (txns / 1000)
    [ -n "$proxy_pid" ] && proxy_cpu=$(awk -v t=$((proxy_after - proxy_before)) -v hz="$CLK_TCK" -v n="$txns" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    pg_cpu=$(awk -v t=$((pg_after - pg_before)) -v hz="$CLK_TCK" -v n="$txns" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    printf '%s tps %8.0f  latency %7.3f ms  proxy CPU %7s ms/1k txn  postgres CPU %6s ms/1k txn\n' \
        "$label" "$tps" "$latency" "${proxy_cpu:--}" "$pg_cpu"
    record "$workload" "$rep" "$target" ok "$tps" "$latency" "$txns" "$proxy_cpu" "$pg_cpu" ""
}

[ ${#WORKLOAD_LIST[@]} -eq 0 ] || echo "== runs: pgbench -c $CLIENTS -j $THREADS -T $RUN_SECONDS, targets round-robin, order rotated each repetition"
for workload in "${WORKLOAD_LIST[@]}"; do
    read -r -a targets <<<"$(targets_of "$workload")"
    if [ "$WARMUP" -gt 0 ]; then
        for target in "${targets[@]}"; do
            [ -n "${BROKEN[$target]:-}" ] && continue
            [ "$workload" = tpcb-simple ] && prepare_tpcb "$target"
            pgbench_run "$workload" "$target" "$WARMUP" "$WORK/warmup.out" || true
        done
    fi
    for ((rep = 1; rep <= REPS; rep++)); do
        count=${#targets[@]}
        for ((j = 0; j < count; j++)); do
            measure "$workload" "$rep" "${targets[$(( (j + rep - 1) % count ))]}"
        done
    done
done
echo

if [ ${#WORKLOAD_LIST[@]} -gt 0 ]; then
echo "== summary"
python3 "$ROOT/bench/report.py" "$RESULTS" --pgshard-pool "$POOL_MODE"
echo
for target in pgbouncer-tx pgshard-1 pgshard-4; do
    pid=${PROXY_PID[$target]:-}
    [ -n "$pid" ] && [ -r "/proc/$pid/status" ] || continue
    name=$target; [ "$target" = pgbouncer-tx ] && name=pgbouncer
    echo "$name memory after the runs: $(awk '/^VmRSS/ { rss = $2 } /^VmHWM/ { hwm = $2 } END { printf "VmRSS %d MiB, VmHWM %d MiB", rss / 1024, hwm / 1024 }' "/proc/$pid/status")"
done
echo
fi

# ---------------------------------------------------------------------------------------------
# Idle connections: a fresh pgshard with 1 shard; RSS before and after N connections that only
# completed the startup handshake.

if [ "$IDLE_CONNECTIONS" -gt 0 ]; then
    echo "== idle connections: $IDLE_CONNECTIONS clients to a fresh pgshard (1 shard), open file limit $(ulimit -n)"
    write_pgshard_config "$WORK/pgshard-idle.yaml" "$IDLE_PORT" 1 $((IDLE_CONNECTIONS + 100)) "$WITH_POOL"
    if start_pgshard pgshard-idle "$WORK/pgshard-idle.yaml" "$IDLE_PORT"; then
        idle_pid=$STARTED_PID
        # One statement first, so the start-up costs (first backend connection, parser) are in the baseline.
        psql -X -q -A -t -h 127.0.0.1 -p "$IDLE_PORT" -U postgres -d bench -c "SELECT 1" >/dev/null
        sleep 1
        idle_status=0
        timeout -k 10 600 python3 "$ROOT/bench/idle_connections.py" --port "$IDLE_PORT" --pid "$idle_pid" \
            --connections "$IDLE_CONNECTIONS" --rounds "$IDLE_ROUNDS" --deadline 540 >"$WORK/idle.out" 2>&1 || idle_status=$?
        grep -v '^RESULT' "$WORK/idle.out" || true
        per=$(sed -n -E 's/^RESULT .* kib_per_connection=([0-9.]+).*/\1/p' "$WORK/idle.out")
        opened=$(sed -n -E 's/^RESULT opened=([0-9]+).*/\1/p' "$WORK/idle.out")
        if [ -n "$per" ] && [ "${opened:-0}" -gt 0 ]; then
            verdict=$(awk -v p="$per" 'BEGIN { print (p < 50 ? "met" : "MISSED") }')
            echo "idle connections: $per KiB of VmRSS per connection ($opened connections)   target < 50 KiB: $verdict"
        else
            echo "idle connections: n/a (failed: $(tail -n 1 "$WORK/idle.out"))"
        fi
        [ "$idle_status" -eq 0 ] || echo "idle connections: the measurement reported a problem (status $idle_status), see above"
        stop_pid "$idle_pid"
    else
        echo "idle connections: n/a (failed: $START_ERROR)"
    fi
fi
