#!/usr/bin/env bash
# README command 1 keeps its promise: `acteon-worker dev` (embedded mock
# cluster, memory backends, sample actions) shows executed, deduplicated and
# rejected outcomes, keeps consuming, and exits 0 on Ctrl-C (SIGINT).
set -euo pipefail
: "${AW_BUILD_DIR:?}" "${AW_SOURCE_DIR:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/aw-dev.XXXXXX")
trap 'kill -KILL $pid 2>/dev/null || true; rm -rf "$T"' EXIT
cd "$AW_SOURCE_DIR"
"$AW_BUILD_DIR/acteon-worker" dev >"$T/out" 2>"$T/err" &
pid=$!
# Counts from examples/actions.jsonl: 21 distinct actions, 5 duplicates,
# 4 malformed lines.
outcomes_seen() {
    [ "$(grep -c '^executed ' "$T/out")" -eq 21 ] &&
        [ "$(grep -c '^deduplicated ' "$T/out")" -eq 5 ] &&
        [ "$(grep -c '^rejected ' "$T/out")" -eq 4 ]
}
deadline=$((SECONDS + 60))
until outcomes_seen; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 $pid 2>/dev/null; then
        echo "FAIL: dev did not show 21 executed, 5 deduplicated, 4 rejected within 60 s" >&2
        cat "$T/out" "$T/err" >&2
        exit 1
    fi
    sleep 0.2
done
grep -q 'bootstrap: 127.0.0.1:' "$T/out" || { echo "FAIL: no bootstrap address printed" >&2; exit 1; }
kill -INT $pid
rc=0
wait $pid || rc=$?
[ $rc -eq 0 ] || { echo "FAIL: dev exited with $rc on SIGINT" >&2; cat "$T/err" >&2; exit 1; }
grep -qx 'summary: 21 executed, 0 failed, 5 deduplicated, 4 rejected' "$T/out" ||
    { echo "FAIL: no closing summary on stdout" >&2; tail -n 5 "$T/out" >&2; exit 1; }
# stdout is for the newcomer: outcome lines, the banner and the summary only;
# logs go to stderr, and at the demo's default level (warn) there are none.
if grep -vE '^(executed|failed|deduplicated|rejected) |^(Kafka|  produce|  read|Feeding|Fed|summary:)|^$' \
    "$T/out" >&2; then
    echo "FAIL: unexpected lines on stdout (above)" >&2
    exit 1
fi
[ ! -s "$T/err" ] || { echo "FAIL: the demo logged at its default level:" >&2; cat "$T/err" >&2; exit 1; }
echo "ok: dev shows executed, deduplicated and rejected outcomes, stops cleanly with a summary"
