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
