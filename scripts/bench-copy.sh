#!/usr/bin/env bash
# Benchmarks COPY … FROM STDIN through pgshard into 4 shards against the same COPY straight
# into one PostgreSQL server, and prints the ratio of their speeds. Method: docs/performance.md,
# "COPY FROM".
#
#   ./scripts/bench-copy.sh                        # 1,000,000 rows, 3 repetitions
#   ./scripts/bench-copy.sh --rows 100000 --reps 1 # development
#   ./scripts/bench-copy.sh --no-build --pgshard /path/to/pgshard
#
# Everything runs on 127.0.0.1 in a temporary directory that is removed at the end; only the
# processes this script started are stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() {
    cat <<'EOF'
usage: scripts/bench-copy.sh [options]     (each option also reads an environment variable)

  --rows N              BENCH_ROWS        rows copied (1000000)
  --reps N              BENCH_REPS        timed repetitions of each COPY (3); the median is reported
  --format F            BENCH_FORMAT      text, csv or binary (text)
  --timeout N           BENCH_TIMEOUT     seconds any one psql session may take (600)
  --no-build            BENCH_BUILD=0     use the existing binary instead of building it
  --pgshard PATH        BENCH_PGSHARD     the pgshard binary (.build/release/pgshard; implies --no-build)
  --keep                BENCH_KEEP=1      keep the temporary directory (logs, configs, data)
  --user NAME           BENCH_USER        non-root user that runs the servers (postgres)
EOF
}

flag_rows="" flag_reps="" flag_format="" flag_timeout="" flag_build="" flag_pgshard="" flag_keep="" flag_user=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) flag_rows=${2:?--rows needs a value}; shift ;;
        --reps) flag_reps=${2:?--reps needs a value}; shift ;;
        --format) flag_format=${2:?--format needs a value}; shift ;;
        --timeout) flag_timeout=${2:?--timeout needs a value}; shift ;;
        --no-build) flag_build=0 ;;
        --pgshard) flag_pgshard=${2:?--pgshard needs a value}; shift ;;
        --keep) flag_keep=1 ;;
        --user) flag_user=${2:?--user needs a value}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-copy: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

ROWS=${flag_rows:-${BENCH_ROWS:-1000000}}
REPS=${flag_reps:-${BENCH_REPS:-3}}
FORMAT=${flag_format:-${BENCH_FORMAT:-text}}
TIMEOUT=${flag_timeout:-${BENCH_TIMEOUT:-600}}
PGSHARD=${flag_pgshard:-${BENCH_PGSHARD:-}}
BUILD=${flag_build:-${BENCH_BUILD:-1}}
[ -z "$PGSHARD" ] || BUILD=0
PGSHARD=${PGSHARD:-.build/release/pgshard}
KEEP=${flag_keep:-${BENCH_KEEP:-0}}
RUN_USER=${flag_user:-${BENCH_USER:-postgres}}
SHARDS=4
BENCH_NAME=bench-copy

for pair in "rows:$ROWS" "reps:$REPS" "timeout:$TIMEOUT"; do
    [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-copy: --${pair%%:*} must be a positive whole number" >&2; exit 2; }
done
case "$FORMAT" in text|csv|binary) ;; *) echo "bench-copy: --format must be text, csv or binary" >&2; exit 2 ;; esac

source scripts/setup.sh
for tool in psql pg_isready python3 timeout awk; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench-copy: $tool is required" >&2; exit 1; }
done
if [ "$BUILD" = 1 ]; then
    echo "bench-copy: building pgshard (release)" >&2
    swift build -c release --product pgshard >&2
fi
[ -x "$PGSHARD" ] || { echo "bench-copy: $PGSHARD is missing; build it, drop --no-build or pass --pgshard PATH" >&2; exit 1; }

source scripts/bench-servers.sh

read -r -a PORTS <<<"$(free_ports $((SHARDS + 2)))"
DIRECT_PORT=${PORTS[$SHARDS]}
PROXY_PORT=${PORTS[$((SHARDS + 1))]}

sql() {   # sql PORT SQL...: run on one server, unaligned, tuples only, stop at the first error
    local port=$1; shift
    timeout -k 10 "$TIMEOUT" psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bench "$@"
}

echo "== pgshard COPY FROM STDIN benchmark"
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:       $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pgshard:    $PGSHARD, tree $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
echo "PostgreSQL: $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) //'), $SHARDS shards and 1 direct server"
echo "settings:   $ROWS rows, format $FORMAT, $REPS timed repetitions (median)"
echo

TABLE="CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, n int, at timestamptz)"
for ((i = 0; i < SHARDS; i++)); do
    start_server "s$i" "${PORTS[$i]}" bench
    sql "${PORTS[$i]}" -c "$TABLE"
done
start_server direct "$DIRECT_PORT" bench
sql "$DIRECT_PORT" -c "$TABLE"

{
    echo "# written by scripts/bench-copy.sh"
    echo "listen: { host: 127.0.0.1, port: $PROXY_PORT }"
    echo "auth: trust"
    echo "shards:"
    for ((i = 0; i < SHARDS; i++)); do
        echo "  - { name: s$i, primary: \"host=127.0.0.1 port=${PORTS[$i]} dbname=bench user=postgres\" }"
    done
    echo "tables:"
    echo "  items: { key: id, type: bigint, function: hash }"
} >"$WORK/pgshard.yaml"
start_pgshard "$PGSHARD" "$WORK/pgshard.yaml" "$PROXY_PORT"

# The data, written by PostgreSQL itself in the chosen format.
DATA=$WORK/items.$FORMAT
sql "$DIRECT_PORT" -c "\\copy (SELECT s, 'name ' || s, (s % 1000)::int, timestamptz '2024-01-01 00:00:00+00' + s * interval '1 second' FROM generate_series(1, $ROWS) s) TO '$DATA' WITH (FORMAT $FORMAT)"
echo "== data: items (id bigint, name text, n int, at timestamptz), $ROWS rows, $(awk -v b="$(stat -c %s "$DATA")" 'BEGIN { printf "%.1f", b / 1e6 }') MB of $FORMAT"
echo

timed_copy() {   # timed_copy PORT: seconds one \copy of the data takes (the table emptied first)
    local port=$1 start end count
    sql "$port" -c "TRUNCATE items" >/dev/null
    start=$(date +%s.%N)
    sql "$port" -c "\\copy items FROM '$DATA' WITH (FORMAT $FORMAT)" >/dev/null
    end=$(date +%s.%N)
    count=$(sql "$port" -c "SELECT count(*) FROM items")
    [ "$count" = "$ROWS" ] || { echo "bench-copy: $count rows after the COPY, expected $ROWS" >&2; exit 1; }
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}

median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

direct_times="" proxy_times=""
for ((rep = 1; rep <= REPS; rep++)); do
    direct_times+=" $(timed_copy "$DIRECT_PORT")"
    proxy_times+=" $(timed_copy "$PROXY_PORT")"
done
direct=$(median <<<"${direct_times# }")
proxy=$(median <<<"${proxy_times# }")
placed=""
for ((i = 0; i < SHARDS; i++)); do placed+="${placed:+, }s$i $(sql "${PORTS[$i]}" -c "SELECT count(*) FROM items")"; done

echo "== COPY items FROM STDIN ($FORMAT), $ROWS rows"
echo "direct, one PostgreSQL:        ${direct} s (runs:${direct_times})  $(awk -v r="$ROWS" -v t="$direct" 'BEGIN { printf "%.0f rows/s", r / t }')"
echo "through pgshard, $SHARDS shards:   ${proxy} s (runs:${proxy_times})  $(awk -v r="$ROWS" -v t="$proxy" 'BEGIN { printf "%.0f rows/s", r / t }')"
echo "rows per shard:                $placed"
ratio=$(awk -v d="$direct" -v p="$proxy" 'BEGIN { printf "%.2f", d / p }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.7) ? "met" : "not met" }')
echo "ratio (pgshard speed / direct speed): $ratio   target >= 0.7: $verdict"
