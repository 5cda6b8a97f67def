#!/usr/bin/env bash
# Start or stop the real servers the test suite needs (Redis, PostgreSQL, ...)
# on 127.0.0.1, each in its own folder under DIR, on free ports.
#
#   scripts/test-servers.sh start DIR   # then: source DIR/env
#   scripts/test-servers.sh stop DIR
#
# Each scripts/servers/NAME.sh defines NAME_start DIR and NAME_stop DIR.
# NAME_start starts the server (bounded wait until it answers) and writes
# export lines (AW_TEST_<NAME>_URL=...) to DIR/env; NAME_stop stops it and
# waits (bounded) until it is gone. Servers start in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

servers=()
for f in scripts/servers/*.sh; do
    [ -f "$f" ] || continue
    servers+=("$(basename "$f" .sh)")
done

case "$cmd" in
start)
    : >"$dir/env"
    pids=()
    for s in "${servers[@]}"; do
        mkdir -p "$dir/$s"
        (source "scripts/servers/$s.sh" && "${s}_start" "$dir/$s") >"$dir/$s.start.log" 2>&1 &
        pids+=($!)
    done
    rc=0
    for i in "${!servers[@]}"; do
        s=${servers[$i]}
        if wait "${pids[$i]}"; then
            cat "$dir/$s/env" >>"$dir/env"
            echo "started $s"
        else
            echo "FAILED to start $s:" >&2
            cat "$dir/$s.start.log" >&2
            rc=1
        fi
    done
    exit $rc
    ;;
stop)
    for s in "${servers[@]}"; do
        [ -d "$dir/$s" ] || continue
        (source "scripts/servers/$s.sh" && "${s}_stop" "$dir/$s") || echo "stopping $s failed" >&2
    done
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
