# Shared by the benchmark scripts (source it): throwaway PostgreSQL servers in a temporary
# directory, run as a non-root user when the script runs as root, and cleanup that signals only
# the processes the script started. The sourcing script sets BENCH_NAME (for messages),
# RUN_USER, KEEP and TIMEOUT first.

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PG_BIN/initdb" ] || { echo "$BENCH_NAME: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }

# Servers run as a non-root user when this script runs as root (initdb refuses root).
AS_USER=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id "$RUN_USER" >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin "$RUN_USER"
    fi
    AS_USER=(setpriv "--reuid=$RUN_USER" "--regid=$(id -g "$RUN_USER")" --init-groups --)
fi

WORK=$(mktemp -d "/tmp/pgshard-$BENCH_NAME.XXXXXX")
chmod 755 "$WORK"
[ ${#AS_USER[@]} -eq 0 ] || chown "$RUN_USER:$(id -g "$RUN_USER")" "$WORK"
source scripts/bench-processes.sh
declare -A SERVERS=()   # server name -> postmaster pid

cleanup() {
    local status=$? pid name log
    trap - EXIT INT TERM
    # pgshard and the clients first, then the servers.
    for pid in "${!STARTED[@]}"; do
        [[ " ${SERVERS[*]} " == *" $pid "* ]] || stop_pid "$pid"
    done
    for name in "${!SERVERS[@]}"; do
        running "${SERVERS[$name]}" || continue
        "${AS_USER[@]}" "$PG_BIN/pg_ctl" -D "$WORK/$name" -m fast -t 30 stop >/dev/null 2>&1 || stop_pid "${SERVERS[$name]}"
    done
    if [ "$KEEP" = 1 ]; then
        echo "$BENCH_NAME: kept $WORK (logs, configs, timings)" >&2
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

start_server() {   # start_server NAME PORT DATABASE: initdb, start, create DATABASE
    local name=$1 port=$2 database=$3 data=$WORK/$1
    "${AS_USER[@]}" "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >"$WORK/initdb-$name.log" 2>&1 \
        || { echo "$BENCH_NAME: initdb failed:"; tail -n 5 "$WORK/initdb-$name.log"; exit 1; }
    cat >>"$data/postgresql.conf" <<EOF
# scripts/bench-servers.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$WORK'
max_connections = 50
max_prepared_transactions = 50   # pgshard commits writes on several shards in two phases
shared_buffers = 256MB
fsync = off
synchronous_commit = off
max_wal_size = 4GB
max_parallel_workers_per_gather = 0
jit = off
log_min_messages = warning
EOF
    "${AS_USER[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$WORK/$name.log" -w -t 60 start >/dev/null \
        || { echo "$BENCH_NAME: PostgreSQL $name did not start:"; tail -n 5 "$WORK/$name.log"; exit 1; }
    SERVERS[$name]=$(head -n 1 "$data/postmaster.pid")
    started "${SERVERS[$name]}"
    timeout 60 psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $database" >/dev/null
}

start_pgshard() {   # start_pgshard BINARY CONFIG PORT: run pgshard, wait until it answers (30 s)
    local binary=$1 config=$2 port=$3 pid i
    install -m 755 "$binary" "$WORK/pgshard"
    "$WORK/pgshard" run --config "$config" >"$WORK/pgshard.log" 2>&1 &
    pid=$!
    started "$pid"
    PGSHARD_PID=$pid
    for i in $(seq 1 300); do
        running "$pid" || { echo "$BENCH_NAME: pgshard exited at start-up: $(tail -n 3 "$WORK/pgshard.log" | tr '\n' ' ')" >&2; return 1; }
        pg_isready -q -h 127.0.0.1 -p "$port" -t 1 && return 0
        sleep 0.1
    done
    echo "$BENCH_NAME: pgshard did not answer on port $port within 30 s" >&2
    return 1
}
