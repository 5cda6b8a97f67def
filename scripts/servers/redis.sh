# Redis test server for scripts/test-servers.sh (sourced, not run).
#
#   redis_start DIR   start redis-server on 127.0.0.1 (free port) and a Unix
#                     socket in DIR, no persistence; wait (bounded) until it
#                     answers PING; write to DIR/env:
#                       export AW_TEST_REDIS_URL=redis://127.0.0.1:PORT/0
#                       export AW_TEST_REDIS_UNIX_URL=unix://DIR/redis.sock?db=1
#                     (the second only when the socket path fits sun_path)
#   redis_stop DIR    SHUTDOWN NOSAVE (or SIGTERM to the pid in DIR/redis.pid)
#                     and wait (bounded) until the pidfile and the port are
#                     gone: a daemonized server that exited stays a zombie
#                     for 2 to 3 s, so `kill -0` is no proof.

# shellcheck source=scripts/lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ports.sh"

# Succeeds when a Redis answers PONG on port $1 (or socket $1 when it is a path).
_redis_ping() {
    local out
    if [[ $1 == /* ]]; then
        out=$(timeout 2 redis-cli -s "$1" ping 2>/dev/null) || return 1
    else
        out=$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) || return 1
    fi
    [ "$out" = PONG ]
}

redis_start() {
    local dir=$1 port sock attempt deadline
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; return 1; }
    if [ -f "$dir/redis.pid" ] && [ -f "$dir/port" ] && _redis_ping "$(cat "$dir/port")"; then
        echo "a Redis started from $dir is still running: stop it first" >&2
        return 1
    fi
    sock="$dir/redis.sock"
    [ ${#sock} -lt 100 ] || sock= # sun_path holds 108 bytes
    # The port is free when python3 looks, but another process may take it
    # before redis-server binds: then try another one.
    for attempt in 1 2 3 4 5; do
        port=$(free_ports)
        rm -f "$dir/redis.pid" "$dir/redis.log"
        redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' \
            --appendonly no --dir "$dir" --pidfile "$dir/redis.pid" \
            --logfile "$dir/redis.log" \
            ${sock:+--unixsocket "$sock" --unixsocketperm 700} || return 1
        deadline=$((SECONDS + 10))
        while [ $SECONDS -lt $deadline ]; do
            if _redis_ping "$port"; then
                echo "$port" >"$dir/port"
                {
                    echo "export AW_TEST_REDIS_URL=redis://127.0.0.1:$port/0"
                    [ -z "$sock" ] || echo "export AW_TEST_REDIS_UNIX_URL=unix://$sock?db=1"
                } >"$dir/env"
                echo "redis on 127.0.0.1:$port${sock:+ and $sock}"
                return 0
            fi
            # Bind failure: the daemon logs it and exits; try the next port.
            if grep -q "Could not create server TCP listening socket\|Address already in use" \
                "$dir/redis.log" 2>/dev/null; then
                break
            fi
            sleep 0.05
        done
        echo "redis did not answer on port $port (attempt $attempt)" >&2
        _redis_stop_pid "$dir" "$port" || true
    done
    echo "giving up starting redis; log:" >&2
    cat "$dir/redis.log" >&2 2>/dev/null || true
    return 1
}

# Has the process exited? A zombie (exited, not yet reaped by its new
# parent) has released its port and files: it counts as gone.
_redis_pid_gone() {
    [ -z "$1" ] && return 0
    kill -0 "$1" 2>/dev/null || return 0
    grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Stop the server whose pid is in DIR/redis.pid (listening on port $2).
# Written for `set -e` callers: nothing here may fail by accident.
_redis_stop_pid() {
    local dir=$1 port=$2 pid deadline termed=
    pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
    if [ -n "$port" ] && _redis_ping "$port"; then
        timeout 5 redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ]; do
        # Gone = the pidfile was removed (Redis does on exit) or names a
        # process that has exited, and the port no longer answers.
        if { [ ! -f "$dir/redis.pid" ] || _redis_pid_gone "$pid"; } &&
            { [ -z "$port" ] || ! _redis_ping "$port"; }; then
            rm -f "$dir/redis.pid"
            return 0
        fi
        # SHUTDOWN not answered within 2 s: SIGTERM the daemon we started.
        if [ -z "$termed" ] && [ -n "$pid" ] && [ $((deadline - SECONDS)) -lt 8 ]; then
            kill "$pid" 2>/dev/null || true
            termed=1
        fi
        sleep 0.05
    done
    if [ -n "$pid" ] && ! _redis_pid_gone "$pid"; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    echo "redis (pid ${pid:-?}) did not stop within 10 s" >&2
    return 1
}

redis_stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    [ -f "$dir/redis.pid" ] || [ -f "$dir/port" ] || return 0
    _redis_stop_pid "$dir" "$(cat "$dir/port" 2>/dev/null)" || return 1
    rm -f "$dir/port"
}
