# Shared by the benchmark scripts (source it): the processes a script started, told apart from
# whatever later reuses their pids, and stopped without touching anything else.

declare -A STARTED=()   # pid -> its start time: only processes this script started are signalled

start_time() {   # start_time PID: field 22 of /proc/PID/stat, empty when the process is gone
    local line rest
    read -r line 2>/dev/null <"/proc/$1/stat" || return 0
    rest=${line##*) }
    set -- $rest
    echo "${20}"
}

started() {   # started PID: remember a process this script started
    STARTED[$1]=$(start_time "$1")
}

running() {   # running PID: the process this script started is still there (not a reused pid)
    [ -n "${STARTED[$1]:-}" ] && [ "$(start_time "$1")" = "${STARTED[$1]}" ]
}

stop_pid() {   # stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL
    local pid=$1 i
    running "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do running "$pid" || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

# write_pgbouncer_config DIR PG_PORT BOUNCER_PORT: DIR/pgbouncer.ini and DIR/userlist.txt for one
# PgBouncer with two pools on database "bench" of the server on PG_PORT: bench_tx (transaction
# mode) and bench_session (session mode), 20 server connections each, trust authentication.
write_pgbouncer_config() {
    local dir=$1 pg_port=$2 bouncer_port=$3
    echo '"postgres" ""' >"$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<EOF
[databases]
bench_tx = host=127.0.0.1 port=$pg_port dbname=bench user=postgres pool_mode=transaction
bench_session = host=127.0.0.1 port=$pg_port dbname=bench user=postgres pool_mode=session

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
log_connections = 0
log_disconnections = 0
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
}
