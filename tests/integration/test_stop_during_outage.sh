#!/usr/bin/env bash
# Issue 18: the state backend (the test's own Redis) stops mid-run and
# SIGTERM arrives during the outage. The worker exits within
# workers.shutdown_timeout_ms (plus a margin) with exit status 0; the
# messages it could not finish stay uncommitted (committed offsets short of
# the end), and a restart once Redis is back processes them: every action
# has its reply and was executed, nothing lost.
source "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || { echo "SKIP: redis-server not installed"; exit 77; }
source "$(dirname "$0")/redis_server.sh"

start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 20
PORT=$(free_port)
server_start "$PORT"
STATE_BACKEND=redis
STATE_URL=$(server_url "$PORT")
MAX_IN_FLIGHT=100
LEASE_MS=3000 # the restart takes over the claims of the stopped worker soon
SHUTDOWN_TIMEOUT_MS=3000
write_config "$T/worker.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 600 --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker worker-a "$T/worker.conf"

wait_for 60 "the first 100 calls" hook_calls_at_least 100
server_stop
down() { grep -q "state backend down: " "$T/worker-a.log"; }
wait_for 30 "the worker to find Redis down" down

stop_within $((SHUTDOWN_TIMEOUT_MS / 1000 + 10)) "$WORKER_PID"
[ "$STOP_RC" -eq 0 ] || fail "exit status $STOP_RC after SIGTERM, want 0 (docs/operations.md)"
if committed_at_end "$GROUP" "$ACTIONS_TOPIC"; then
    fail "every offset committed although Redis was down: $(cat "$T/offsets.txt")"
fi
pass "stopped ${STOP_SECS}s after SIGTERM during the outage, exit 0, offsets short of the end"
grep -q "state backend up again" "$T/worker-a.log" && fail "Redis came back by itself?"

server_start "$PORT"
start_worker worker-b "$T/worker.conf"
wait_for 120 "600 distinct replies" has_distinct_replies 600
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
distinct=$(cut -f1 "$HOOK_LOG" | sort -u | wc -l)
[ "$distinct" -eq 600 ] || fail "distinct webhook ids: want 600, got $distinct"
pass "restart after the outage: a reply for each of the 600 messages, all executed, all committed"
