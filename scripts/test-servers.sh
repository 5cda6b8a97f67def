#!/usr/bin/env bash
# Start or stop the real servers the test suite needs (Redis, PostgreSQL, ...)
# on 127.0.0.1, each in its own folder under DIR, on free ports.
#
#   scripts/test-servers.sh start DIR [NAME...]  # prints each server's URL; then: source DIR/env
#                                                # NAMEs: redis postgres clickhouse chdb dynalite (default: all)
#   scripts/test-servers.sh stop DIR
#
# Each scripts/servers/NAME.sh defines NAME_start DIR and NAME_stop DIR.
# NAME_start starts the server (bounded wait until it answers) and writes
# export lines (AW_TEST_<NAME>_URL=...) to DIR/env; NAME_stop stops it and
# waits (bounded) until it is gone. Servers start in parallel; each is
# reported on its own (a failed one with its log's last lines, in DIR/failed).
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
# Optional NAMEs after DIR: only those servers (start), e.g. redis postgres.
if [ $# -gt 2 ]; then
    for s in "${@:3}"; do
        [ -f "scripts/servers/$s.sh" ] || { echo "unknown server \"$s\" (${servers[*]})" >&2; exit 2; }
    done
    servers=("${@:3}")
fi

case "$cmd" in
start)
    # Each server is reported on its own. One that fails is named with the
    # last lines of its log; the others are still written to DIR/env (their
    # tests can run) and DIR/failed lists the failed ones. Exit 1 if any failed.
    : >"$dir/env"
    : >"$dir/failed"
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
            echo "started $s: $(sed -n 's/^export \([A-Z_]*\)=\(.*\)$/\1=\2/p' "$dir/$s/env" | tr '\n' ' ')"
        else
            echo "$s" >>"$dir/failed"
            echo "FAILED to start $s (log: $dir/$s.start.log, last lines:)" >&2
            tail -n 15 "$dir/$s.start.log" | sed 's/^/    /' >&2
            rc=1
        fi
    done
    [ $rc -eq 0 ] || echo "test servers not started: $(tr '\n' ' ' <"$dir/failed")" >&2
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
