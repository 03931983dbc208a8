#!/usr/bin/env bash
# Counts the instructions pgshard and PgBouncer execute per pgbench -S transaction, under
# valgrind's callgrind. Unlike CPU time on a shared 2-core machine, the count barely moves from
# run to run (about 1 % for pgshard), so it shows what a change to the statement path saves.
# Method: docs/performance.md, "Instructions per transaction".
#
#   ./scripts/bench-instructions.sh                 # 4 clients x 500 transactions per target
#   ./scripts/bench-instructions.sh --txns 200 --no-build
#   ./scripts/bench-instructions.sh --tpcb           # also pgbench's TPC-B-like transaction
#
# Only user-space instructions count: the kernel's part of each send and receive (about half of
# the CPU time on loopback, and about the same for both proxies) is not in the figure.
# Everything runs on 127.0.0.1 in a temporary directory that is removed at the end; only the
# processes this script started are stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
usage: scripts/bench-instructions.sh [options]   (each option also reads an environment variable)

  --txns N          BENCH_TXNS       transactions per client in the counted run (500)
  --clients N       BENCH_CLIENTS    pgbench clients (4)
  --no-build        BENCH_BUILD=0    use the existing .build/release/pgshard
  --keep            BENCH_KEEP=1     keep the temporary directory (logs, callgrind files)
  --tpcb            BENCH_TPCB=1     also count pgbench's TPC-B-like transaction (-M simple; a
                                     transaction block of 7 statements), PgBouncer in
                                     transaction mode against pgshard
  --user NAME       BENCH_USER       non-root user that runs the servers and PgBouncer (postgres)
EOF
}

flag_txns="" flag_clients="" flag_build="" flag_keep="" flag_user="" flag_tpcb=""
while [ $# -gt 0 ]; do
    case "$1" in
        --txns) flag_txns=${2:?--txns needs a value}; shift ;;
        --clients) flag_clients=${2:?--clients needs a value}; shift ;;
        --no-build) flag_build=0 ;;
        --keep) flag_keep=1 ;;
        --tpcb) flag_tpcb=1 ;;
        --user) flag_user=${2:?--user needs a value}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-instructions: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
TXNS=${flag_txns:-${BENCH_TXNS:-500}}
CLIENTS=${flag_clients:-${BENCH_CLIENTS:-4}}
BUILD=${flag_build:-${BENCH_BUILD:-1}}
KEEP=${flag_keep:-${BENCH_KEEP:-0}}
TPCB=${flag_tpcb:-${BENCH_TPCB:-0}}
RUN_USER=${flag_user:-${BENCH_USER:-postgres}}
BENCH_NAME=bench-instructions
for pair in "txns:$TXNS" "clients:$CLIENTS"; do
    [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-instructions: --${pair%%:*} must be a positive whole number" >&2; exit 2; }
done

source scripts/setup.sh
missing=()
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench-instructions: installing ${missing[*]}" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [ "$BUILD" = 1 ]; then
    echo "bench-instructions: building pgshard (release)" >&2
    swift build -c release --product pgshard >&2
fi
[ -x .build/release/pgshard ] || { echo "bench-instructions: .build/release/pgshard is missing" >&2; exit 1; }

source scripts/bench-servers.sh

read -r PG_PORT BOUNCER_PORT PROXY_PORT <<<"$(free_ports 3)"
start_server pg "$PG_PORT" bench
pgbench -i -q -s 1 -h 127.0.0.1 -p "$PG_PORT" -U postgres bench >"$WORK/pgbench-init.log" 2>&1

# valgrind cannot read the DWARF of Swift binaries: the copy it runs keeps symbols only.
strip --strip-debug -o "$WORK/pgshard" .build/release/pgshard
chmod 755 "$WORK/pgshard"
cat >"$WORK/pgshard.yaml" <<EOF
# written by scripts/bench-instructions.sh
listen: { host: 127.0.0.1, port: $PROXY_PORT }
auth: trust
shards:
  - { name: s0, primary: "host=127.0.0.1 port=$PG_PORT dbname=bench user=postgres" }
tables:
  pgbench_accounts: { key: aid, type: integer, function: hash }
  pgbench_tellers:  { key: tid, type: integer, function: hash }
  pgbench_branches: { key: bid, type: integer, function: hash }
  pgbench_history:  { key: aid, type: integer, function: hash }
log: { level: warning }
pool: { mode: transaction, size: 20 }
EOF
write_pgbouncer_config "$WORK" "$PG_PORT" "$BOUNCER_PORT"
[ ${#AS_USER[@]} -eq 0 ] || chown "$RUN_USER" "$WORK/pgshard.yaml" "$WORK/userlist.txt" "$WORK/pgbouncer.ini"

# count NAME PORT DATABASE PGBENCH_MODE COMMAND...: runs COMMAND under callgrind with counting
# off, warms it up, counts one pgbench run of the transaction BUILTIN names (pgbench's options:
# -S for select-only, none for TPC-B); sets COUNTED to the instructions per transaction.
BUILTIN=(-S)
count() {
    local name=$1 port=$2 database=$3 mode=$4 pid i out total
    COUNTED=0
    shift 4
    out=$WORK/callgrind.$name
    # The callgrind files are written by the run user (PgBouncer refuses root).
    "${AS_USER[@]}" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" "$@" >"$WORK/$name.log" 2>&1 &
    pid=$!
    started "$pid"
    for i in $(seq 1 600); do
        running "$pid" || { echo "bench-instructions: $name exited at start-up: $(tail -n 3 "$WORK/$name.log" | tr '\n' ' ')" >&2; return 1; }
        pg_isready -q -h 127.0.0.1 -p "$port" -d "$database" -U postgres -t 1 && break
        sleep 0.2
    done
    local bench=(pgbench -n "${BUILTIN[@]}" -M "$mode" -h 127.0.0.1 -p "$port" -U postgres -c "$CLIENTS" -j 1)
    timeout 300 "${bench[@]}" -t 50 "$database" >"$WORK/$name-warmup.log" 2>&1
    "${AS_USER[@]}" callgrind_control -i on "$pid" >/dev/null 2>&1
    timeout 600 "${bench[@]}" -t "$TXNS" "$database" >"$WORK/$name-run.log" 2>&1
    "${AS_USER[@]}" callgrind_control -i off "$pid" >/dev/null 2>&1
    "${AS_USER[@]}" callgrind_control -d "$pid" >/dev/null 2>&1
    stop_pid "$pid"
    grep -q "number of failed transactions: 0 " "$WORK/$name-run.log" \
        || { echo "bench-instructions: $name: pgbench failed: $(tail -n 2 "$WORK/$name-run.log" | tr '\n' ' ')" >&2; return 1; }
    # Every file of the run (one per dump request, one at exit), each with its totals.
    total=$(cat "$out"* | awk '/^totals:/ { sum += $2 } END { print sum + 0 }')
    COUNTED=$((total / (CLIENTS * TXNS)))
}

declare -A RESULT=()
echo "== instructions per pgbench -S transaction (callgrind; $CLIENTS clients x $TXNS transactions; user space only)"
count pgbouncer-tx "$BOUNCER_PORT" bench_tx simple "$PGBOUNCER" "$WORK/pgbouncer.ini"
RESULT[simple-pgbouncer]=$COUNTED
count pgshard-simple "$PROXY_PORT" bench simple "$WORK/pgshard" run --config "$WORK/pgshard.yaml"
RESULT[simple-pgshard]=$COUNTED
count pgbouncer-session "$BOUNCER_PORT" bench_session prepared "$PGBOUNCER" "$WORK/pgbouncer.ini"
RESULT[prepared-pgbouncer]=$COUNTED
count pgshard-prepared "$PROXY_PORT" bench prepared "$WORK/pgshard" run --config "$WORK/pgshard.yaml"
RESULT[prepared-pgshard]=$COUNTED

printf '  %-16s %-28s %14s\n' workload target instructions
printf '  %-16s %-28s %14s\n' select-simple "pgbouncer (transaction)" "${RESULT[simple-pgbouncer]}"
printf '  %-16s %-28s %14s\n' select-simple "pgshard (transaction)" "${RESULT[simple-pgshard]}"
printf '  %-16s %-28s %14s\n' select-prepared "pgbouncer (session)" "${RESULT[prepared-pgbouncer]}"
printf '  %-16s %-28s %14s\n' select-prepared "pgshard (transaction)" "${RESULT[prepared-pgshard]}"
awk -v a="${RESULT[simple-pgshard]}" -v b="${RESULT[simple-pgbouncer]}" -v c="${RESULT[prepared-pgshard]}" -v d="${RESULT[prepared-pgbouncer]}" \
    'BEGIN { printf "  ratio pgshard / pgbouncer: select-simple %.1f, select-prepared %.1f\n", a / b, c / d }'
if [ "$TPCB" = 1 ]; then
    BUILTIN=()
    count pgbouncer-tpcb "$BOUNCER_PORT" bench_tx simple "$PGBOUNCER" "$WORK/pgbouncer.ini"
    RESULT[tpcb-pgbouncer]=$COUNTED
    count pgshard-tpcb "$PROXY_PORT" bench simple "$WORK/pgshard" run --config "$WORK/pgshard.yaml"
    RESULT[tpcb-pgshard]=$COUNTED
    printf '  %-16s %-28s %14s\n' tpcb-simple "pgbouncer (transaction)" "${RESULT[tpcb-pgbouncer]}"
    printf '  %-16s %-28s %14s\n' tpcb-simple "pgshard (transaction)" "${RESULT[tpcb-pgshard]}"
    awk -v a="${RESULT[tpcb-pgshard]}" -v b="${RESULT[tpcb-pgbouncer]}" \
        'BEGIN { printf "  ratio pgshard / pgbouncer: tpcb-simple %.1f (per transaction of 7 statements)\n", a / b }'
fi
