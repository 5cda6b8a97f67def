# Stopping a test server started in the background with its pid in a file
# (scripts/servers/clickhouse.sh, chdb.sh). Sourced.
#
#   pid_server_signal DIR PIDFILE NAME [SIGNAL]
#       SIGNAL (default TERM) to the pid in DIR/PIDFILE, then a bounded wait
#       until it is gone (a zombie counts as gone: its parent, the shell that
#       started it, may be gone too); SIGKILL after 20 s (status 1). The pid
#       file is removed.
#   pid_server_stop DIR PIDFILE NAME
#       pid_server_signal TERM, then DIR/port removed; nothing to do when
#       DIR or the pid file is missing.

pid_server_signal() {
    local dir=$1 file=$2 name=$3 sig=${4:-TERM} pid deadline
    pid=$(cat "$dir/$file" 2>/dev/null || true)
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$pid" 2>/dev/null ||
            grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
            rm -f "$dir/$file"
            return 0
        fi
        sleep 0.05
    done
    echo "$name (pid $pid) did not stop within 20 s: SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/$file"
    return 1
}

pid_server_stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    [ -f "$dir/$2" ] || { rm -f "$dir/port"; return 0; }
    pid_server_signal "$dir" "$2" "$3" || return 1
    rm -f "$dir/port"
}
