#!/usr/bin/env bash
# Benchmarks pgshard's cross-shard merge: ORDER BY … LIMIT and GROUP BY across 4 shards, against
# the same statement run directly on the shards, and pgshard's memory and throughput while a
# client reads every row of every shard. Method: docs/performance.md, "Cross-shard merge".
#
#   ./scripts/bench-merge.sh                         # 1,000,000 rows per shard, 5 repetitions
#   ./scripts/bench-merge.sh --rows 20000 --reps 3   # development
#   ./scripts/bench-merge.sh --no-build --pgshard /path/to/pgshard
#
# Everything runs on 127.0.0.1 in a temporary directory that is removed at the end; only the
# processes this script started are stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() {
    cat <<'EOF'
usage: scripts/bench-merge.sh [options]     (each option also reads an environment variable)

  --rows N              BENCH_ROWS        rows loaded into each of the 4 shards (1000000)
  --groups N            BENCH_GROUPS      distinct values of items.g (100)
  --reps N              BENCH_REPS        timed repetitions of each statement, after one warm-up (5)
  --read-reps N         BENCH_READ_REPS   repetitions of the full read of every row (1)
  --timeout N           BENCH_TIMEOUT     seconds any one psql session may take (600)
  --no-build            BENCH_BUILD=0     use the existing binary instead of building it
  --pgshard PATH        BENCH_PGSHARD     the pgshard binary (.build/release/pgshard; implies --no-build)
  --keep                BENCH_KEEP=1      keep the temporary directory (logs, configs, timings)
  --user NAME           BENCH_USER        non-root user that runs the servers (postgres)
EOF
}

flag_rows="" flag_groups="" flag_reps="" flag_read_reps="" flag_timeout="" flag_build="" flag_pgshard="" flag_keep="" flag_user=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) flag_rows=${2:?--rows needs a value}; shift ;;
        --groups) flag_groups=${2:?--groups needs a value}; shift ;;
        --reps) flag_reps=${2:?--reps needs a value}; shift ;;
        --read-reps) flag_read_reps=${2:?--read-reps needs a value}; shift ;;
        --timeout) flag_timeout=${2:?--timeout needs a value}; shift ;;
        --no-build) flag_build=0 ;;
        --pgshard) flag_pgshard=${2:?--pgshard needs a value}; shift ;;
        --keep) flag_keep=1 ;;
        --user) flag_user=${2:?--user needs a value}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-merge: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

ROWS=${flag_rows:-${BENCH_ROWS:-1000000}}
ITEM_GROUPS=${flag_groups:-${BENCH_GROUPS:-100}}
REPS=${flag_reps:-${BENCH_REPS:-5}}
READ_REPS=${flag_read_reps:-${BENCH_READ_REPS:-1}}
TIMEOUT=${flag_timeout:-${BENCH_TIMEOUT:-600}}
PGSHARD=${flag_pgshard:-${BENCH_PGSHARD:-}}
BUILD=${flag_build:-${BENCH_BUILD:-1}}
[ -z "$PGSHARD" ] || BUILD=0
PGSHARD=${PGSHARD:-.build/release/pgshard}
KEEP=${flag_keep:-${BENCH_KEEP:-0}}
RUN_USER=${flag_user:-${BENCH_USER:-postgres}}
SHARDS=4
SAMPLE_SECONDS=0.05           # how often pgshard's memory is read during the full read

for pair in "rows:$ROWS" "groups:$ITEM_GROUPS" "reps:$REPS" "read-reps:$READ_REPS" "timeout:$TIMEOUT"; do
    [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-merge: --${pair%%:*} must be a positive whole number" >&2; exit 2; }
done

# ---------------------------------------------------------------------------------------------
# Tools and the pgshard binary.

source scripts/setup.sh
for tool in psql pg_isready python3 timeout awk; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench-merge: $tool is required" >&2; exit 1; }
done

if [ "$BUILD" = 1 ]; then
    echo "bench-merge: building pgshard (release)" >&2
    swift build -c release --product pgshard >&2
fi
[ -x "$PGSHARD" ] || { echo "bench-merge: $PGSHARD is missing; build it, drop --no-build or pass --pgshard PATH" >&2; exit 1; }

# Servers, processes and cleanup: shared with the other benchmarks.

BENCH_NAME=bench-merge
source scripts/bench-servers.sh

read -r -a PORTS <<<"$(free_ports $((SHARDS + 1)))"
SHARD_PORTS=("${PORTS[@]:0:$SHARDS}")
PROXY_PORT=${PORTS[$SHARDS]}

sql() {   # sql PORT SQL...: run on one server, unaligned, tuples only, stop at the first error
    local port=$1; shift
    timeout -k 10 "$TIMEOUT" psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bench "$@"
}

echo "== pgshard cross-shard merge benchmark"
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:       $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pgshard:    $PGSHARD, tree $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
echo "PostgreSQL: $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) //'), $SHARDS servers"
echo "settings:   $ROWS rows per shard ($((ROWS * SHARDS)) in all), $ITEM_GROUPS groups, $REPS timed repetitions after 1 warm-up, $READ_REPS full reads"
echo

# ---------------------------------------------------------------------------------------------
# Four PostgreSQL servers, one per shard. No parallel query: each shard works on one core, as
# a shard on its own machine would, and the figures do not depend on how many workers it gets.

for ((i = 0; i < SHARDS; i++)); do
    start_server "s$i" "${SHARD_PORTS[$i]}" bench
done

# Rows straight into each shard: a read benchmark does not care which shard holds a row. Ids
# are distinct across shards; x is spread by a multiplicative hash; g has --groups values.
echo "== data: items (id bigint, g int, x bigint, pad text), $ROWS rows on each shard"
load_started=$(date +%s)
for ((i = 0; i < SHARDS; i++)); do
    sql "${SHARD_PORTS[$i]}" >/dev/null <<EOF
CREATE TABLE items (id bigint, g int, x bigint, pad text);
INSERT INTO items SELECT s, (s % $ITEM_GROUPS)::int, (s * 2654435761) % 4294967311, md5(s::text)
    FROM generate_series($((i * ROWS + 1))::bigint, $(((i + 1) * ROWS))::bigint) s;
VACUUM (FREEZE, ANALYZE) items;
EOF
done
counts="" BYTES=0
for ((i = 0; i < SHARDS; i++)); do
    # What psql -A -t prints for every row: four fields, three separators and a newline.
    IFS='|' read -r n bytes <<<"$(sql "${SHARD_PORTS[$i]}" -c "SELECT count(*), sum(length(id::text) + length(g::text) + length(x::text) + length(pad) + 4) FROM items")"
    counts+="${counts:+, }s$i $n"
    BYTES=$((BYTES + bytes))
done
echo "rows per shard: $counts; $(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB as psql -A -t text; loaded in $(( $(date +%s) - load_started )) s"
echo

# ---------------------------------------------------------------------------------------------
# pgshard in front of the four shards.

install -m 755 "$PGSHARD" "$WORK/pgshard"
{
    echo "# written by scripts/bench-merge.sh"
    echo "listen: { host: 127.0.0.1, port: $PROXY_PORT }"
    echo "auth: trust"
    echo "shards:"
    for ((i = 0; i < SHARDS; i++)); do
        echo "  - { name: s$i, primary: \"host=127.0.0.1 port=${SHARD_PORTS[$i]} dbname=bench user=postgres\" }"
    done
    echo "tables:"
    echo "  items: { key: id, type: bigint, function: hash }"
    echo "log: { level: warning }"
} >"$WORK/pgshard.yaml"
if ! output=$("$WORK/pgshard" check --config "$WORK/pgshard.yaml" 2>&1); then
    echo "bench-merge: pgshard check failed: $(grep -v '^ok\|configuration is valid' <<<"$output" | head -n 3 | tr '\n' ' ')"
    exit 1
fi
start_pgshard "$PGSHARD" "$WORK/pgshard.yaml" "$PROXY_PORT" || exit 1

# ---------------------------------------------------------------------------------------------
# Latency: one psql session per target runs the statement once unmeasured, then $REPS times
# with \timing (the time psql waits for the whole result, connection set-up excluded).

timed_session() {   # timed_session PORT SQL OUT: OUT gets psql's "Time:" lines, OUT.err its errors
    local port=$1 statement=$2 out=$3 i
    {
        echo '\set ON_ERROR_STOP 1'
        echo '\set VERBOSITY verbose'
        echo "$statement;"
        echo '\timing on'
        for ((i = 0; i < REPS; i++)); do echo "$statement;"; done
    } >"$out.sql"
    timeout -k 10 "$TIMEOUT" psql -X -q -A -t -o /dev/null -h 127.0.0.1 -p "$port" -U postgres -d bench -f "$out.sql" >"$out" 2>"$out.err"
}

median_ms() {   # median_ms OUT: the median of the "Time: N ms" lines
    sed -n -E 's/^Time: ([0-9.]+) ms.*/\1/p' "$1" | sort -n \
        | awk '{ t[NR] = $1 } END { if (NR == 0) exit 1; printf "%.2f", NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}

outcome() {   # outcome STATUS OUT: the median in ms, "refused" (SQLSTATE 0A000) or "failed: …"
    local status=$1 out=$2 line
    if [ "$status" -eq 0 ] && median_ms "$out"; then return; fi
    if grep -q 'ERROR:  0A000' "$out.err"; then echo refused; return; fi
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then echo "failed: no answer within ${TIMEOUT} s"; return; fi
    line=$(grep -m 1 'ERROR\|FATAL\|error' "$out.err" || tail -n 1 "$out.err")
    echo "failed: ${line:0:120}"
}

ratio() {   # ratio A B: A / B with two decimals, "-" unless both are numbers
    awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "-" }'
}

max_of() {   # max_of VALUE...: the largest number, or the first word that is not one
    local value best=""
    for value in "$@"; do
        [[ "$value" =~ ^[0-9.]+$ ]] || { echo "$value"; return; }
        best=$(awk -v a="$best" -v b="$value" 'BEGIN { print (a == "" || b + 0 > a + 0) ? b : a }')
    done
    echo "$best"
}

with_unit() {   # with_unit TEXT: TEXT with " ms" when it is numbers only
    if [[ "$1" =~ ^[0-9.\ ]+$ ]]; then echo "$1 ms"; else echo "$1"; fi
}

declare -a SUMMARY=()

measure_statement() {   # measure_statement LABEL SQL
    local label=$1 statement=$2 i status proxy alone_max once_max ratio_once ratio_alone verdict
    local -a alone=() once=() pids=()
    echo "== $label: $statement"
    status=0
    timed_session "$PROXY_PORT" "$statement" "$WORK/$label-pgshard.time" || status=$?
    proxy=$(outcome "$status" "$WORK/$label-pgshard.time")
    # Directly, one shard after the other: each shard alone on the machine.
    for ((i = 0; i < SHARDS; i++)); do
        status=0
        timed_session "${SHARD_PORTS[$i]}" "$statement" "$WORK/$label-s$i-alone.time" || status=$?
        alone[$i]=$(outcome "$status" "$WORK/$label-s$i-alone.time")
    done
    # Directly, the four shards at once: the load pgshard puts on the machine.
    for ((i = 0; i < SHARDS; i++)); do
        timed_session "${SHARD_PORTS[$i]}" "$statement" "$WORK/$label-s$i-once.time" &
        pids[$i]=$!
        started "${pids[$i]}"
    done
    for ((i = 0; i < SHARDS; i++)); do
        status=0
        wait "${pids[$i]}" || status=$?
        once[$i]=$(outcome "$status" "$WORK/$label-s$i-once.time")
    done
    alone_max=$(max_of "${alone[@]}")
    once_max=$(max_of "${once[@]}")
    ratio_once=$(ratio "$proxy" "$once_max")
    ratio_alone=$(ratio "$proxy" "$alone_max")
    verdict=$(awk -v r="$ratio_once" 'BEGIN { if (r == "-") print "n/a"; else print (r <= 1.2 ? "met" : "MISSED") }')
    echo "  pgshard                                 $(with_unit "$proxy")"
    echo "  directly, each shard alone (s0..s3)     $(with_unit "${alone[*]}")"
    echo "  directly, the 4 shards at once (s0..s3) $(with_unit "${once[*]}")"
    SUMMARY+=("$(printf '%-22s %10s %12s %6s %12s %6s   ≤ 1.2: %s' "$label" "$proxy" "$once_max" "$ratio_once" "$alone_max" "$ratio_alone" "$verdict")")
}

measure_statement order-limit "SELECT id, x FROM items ORDER BY x LIMIT 10"
measure_statement group-by "SELECT g, count(*), sum(x) FROM items GROUP BY g"
echo

# ---------------------------------------------------------------------------------------------
# Full read: psql reads every row (FETCH_COUNT unset: one simple-protocol result), its output
# counted by wc -c. pgshard's VmRSS is sampled every $SAMPLE_SECONDS s meanwhile; VmHWM is the
# process's peak since it started.

status_kib() {   # status_kib PID FIELD: a /proc/PID/status field in KiB, 0 when unreadable
    local value
    value=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true)
    echo "${value:-0}"
}

read_all() {   # read_all PORT OUT: every row of items as psql -A -t text; OUT gets its byte count
    timeout -k 10 "$TIMEOUT" psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -h 127.0.0.1 -p "$1" -U postgres -d bench \
        -c "SELECT * FROM items" 2>"$2.err" | wc -c >"$2"
    [ "${PIPESTATUS[0]}" -eq 0 ]
}

elapsed_s() {   # elapsed_s START_NS: seconds since START_NS, three decimals
    awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

mbps() {   # mbps BYTES SECONDS
    awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else printf "-" }'
}

read_outcome() {   # read_outcome STATUS OUT: "ok", "refused" or "failed: …"
    local status=$1 out=$2 bytes
    if [ "$status" -eq 0 ]; then
        bytes=$(tr -d ' ' <"$out")
        [ "$bytes" = "$EXPECTED_BYTES" ] && { echo ok; return; }
        echo "failed: $bytes bytes, expected $EXPECTED_BYTES"
        return
    fi
    if grep -q '0A000' "$out.err"; then echo refused; return; fi
    echo "failed: $(grep -m 1 'ERROR\|FATAL\|error' "$out.err" | cut -c 1-120)"
}

echo "== full read: SELECT * FROM items, $((ROWS * SHARDS)) rows, $(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB"
rss_before=$(status_kib "$PGSHARD_PID" VmRSS)
hwm_before=$(status_kib "$PGSHARD_PID" VmHWM)
max_samples=$(awk -v t="$TIMEOUT" -v s="$SAMPLE_SECONDS" 'BEGIN { printf "%d", t / s + 100 }')
peak_rss=$rss_before
declare -a PROXY_READ=() PARALLEL_READ=() SEQUENTIAL_READ=()
proxy_read_state=ok
for ((rep = 1; rep <= READ_REPS; rep++)); do
    # Through pgshard.
    out=$WORK/read-pgshard-$rep
    EXPECTED_BYTES=$BYTES
    begin=$(date +%s%N)
    read_all "$PROXY_PORT" "$out" &
    reader=$!
    started "$reader"
    for ((n = 0; n < max_samples; n++)); do
        running "$reader" || break
        rss=$(status_kib "$PGSHARD_PID" VmRSS)
        [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
        sleep "$SAMPLE_SECONDS"
    done
    status=0
    wait "$reader" || status=$?
    seconds=$(elapsed_s "$begin")
    state=$(read_outcome "$status" "$out")
    if [ "$state" = ok ]; then PROXY_READ+=("$seconds"); else proxy_read_state=$state; fi
    echo "  $rep/$READ_REPS pgshard                          $([ "$state" = ok ] && echo "$seconds s, $(mbps "$BYTES" "$seconds") MB/s" || echo "$state")"

    # Directly, the four shards at once (wall time until the last one finishes).
    begin=$(date +%s%N)
    pids=()
    for ((i = 0; i < SHARDS; i++)); do
        read_all "${SHARD_PORTS[$i]}" "$WORK/read-s$i-$rep" &
        pids[$i]=$!
        started "${pids[$i]}"
    done
    failures=""
    for ((i = 0; i < SHARDS; i++)); do
        wait "${pids[$i]}" || failures+=" s$i"
    done
    seconds=$(elapsed_s "$begin")
    if [ -z "$failures" ]; then
        PARALLEL_READ+=("$seconds")
        echo "  $rep/$READ_REPS directly, the 4 shards at once   $seconds s, $(mbps "$BYTES" "$seconds") MB/s"
    else
        echo "  $rep/$READ_REPS directly, the 4 shards at once   failed on$failures"
    fi

    # Directly, one shard after the other (sum of the four times).
    total_ns=0 failures=""
    for ((i = 0; i < SHARDS; i++)); do
        begin=$(date +%s%N)
        read_all "${SHARD_PORTS[$i]}" "$WORK/read-s$i-$rep" || failures+=" s$i"
        total_ns=$((total_ns + $(date +%s%N) - begin))
    done
    seconds=$(awk -v n="$total_ns" 'BEGIN { printf "%.3f", n / 1e9 }')
    if [ -z "$failures" ]; then
        SEQUENTIAL_READ+=("$seconds")
        echo "  $rep/$READ_REPS directly, one shard after another $seconds s, $(mbps "$BYTES" "$seconds") MB/s"
    else
        echo "  $rep/$READ_REPS directly, one shard after another failed on$failures"
    fi
done
rss_after=$(status_kib "$PGSHARD_PID" VmRSS)
hwm_after=$(status_kib "$PGSHARD_PID" VmHWM)
running "$PGSHARD_PID" || echo "bench-merge: pgshard exited during the full read (see pgshard.log)"
echo

median_of() {   # median_of VALUE...: the median, "-" without values
    [ $# -gt 0 ] || { echo -; return; }
    printf '%s\n' "$@" | sort -n | awk '{ t[NR] = $1 } END { printf "%.3f", NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------------------------------------
# Summary.

echo "== summary (medians; ratio = pgshard ÷ slowest shard)"
printf '%-22s %10s %12s %6s %12s %6s   %s\n' statement "pgshard ms" "at once ms" ratio "alone ms" ratio target
for line in "${SUMMARY[@]}"; do echo "$line"; done
proxy_s=$(median_of "${PROXY_READ[@]}")
parallel_s=$(median_of "${PARALLEL_READ[@]}")
sequential_s=$(median_of "${SEQUENTIAL_READ[@]}")
if [ "$proxy_s" = - ]; then
    proxy_mbps=$proxy_read_state
else
    proxy_mbps="$(mbps "$BYTES" "$proxy_s") MB/s"
fi
parallel_mbps=$([ "$parallel_s" = - ] && echo - || echo "$(mbps "$BYTES" "$parallel_s") MB/s")
sequential_mbps=$([ "$sequential_s" = - ] && echo - || echo "$(mbps "$BYTES" "$sequential_s") MB/s")
echo "full read throughput: pgshard $proxy_mbps; directly, 4 shards at once $parallel_mbps (pgshard ÷ that: $(ratio "$parallel_s" "$proxy_s")), one shard after another $sequential_mbps (pgshard ÷ that: $(ratio "$sequential_s" "$proxy_s"))"
memory_verdict=$(awk -v k="$hwm_after" 'BEGIN { print (k > 0 && k < 65536 ? "met" : "MISSED") }')
[ "$proxy_s" = - ] && memory_verdict="n/a (the read did not complete through pgshard)"
printf 'pgshard memory: VmRSS %d MiB before the read, peak sampled %d MiB, %d MiB after; VmHWM %d MiB before, %d MiB after   target VmHWM < 64 MiB: %s\n' \
    $((rss_before / 1024)) $((peak_rss / 1024)) $((rss_after / 1024)) $((hwm_before / 1024)) $((hwm_after / 1024)) "$memory_verdict"
