# The body of the real-server outage tests (sourced by
# test_outage_<backend>.sh after lib.sh; they set STATE_BACKEND and define
# server_start PORT, server_stop and server_url PORT).
#
# The state server of this test (its own instance, so parallel tests are
# not disturbed) stops mid-run and comes back on the same port with its
# data: the workers log and back off, the in-flight window fills and
# consumption pauses, and once the server is back the run completes with
# exact outcomes: nothing lost, nothing executed twice.
start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 2
MAX_IN_FLIGHT=100
LEASE_MS=20000
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_start "$PORT"
STATE_URL=$(server_url "$PORT")
write_config "$T/worker.conf"
if [ "$STATE_BACKEND" = postgres ]; then
    "$WORKER" --log-level warn migrate -c "$T/worker.conf" >"$T/migrate.log" 2>&1 \
        || fail "migrate: $(cat "$T/migrate.log")"
fi
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker worker "$T/worker.conf"

hook_calls_at_least() { [ "$(wc -l <"$HOOK_LOG")" -ge "$1" ]; }
wait_for 120 "the first 150 calls" hook_calls_at_least 150
server_stop
retrying() { grep -q "(attempt 3)" "$T/worker.log" && grep -q "pausing consumption" "$T/worker.log"; }
wait_for 60 "retries with backoff and a paused consumer" retrying
before=$(wc -l <"$HOOK_LOG")
server_start "$PORT"
pass "state server down: workers retried with backoff and paused consumption ($before calls so far)"

wait_for 180 "988 replies" topic_has "$REPLY_TOPIC" 988
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
check_exact_run 880 100 8
grep -q "resumed fetching" "$T/worker.log" || fail "consumption never resumed"
grep -q "state backend down: " "$T/worker.log" || fail "no \"state backend down\" line"
grep -q "state backend up again after " "$T/worker.log" || fail "no \"state backend up again\" line"
pass "server back: exact outcomes, one call per id, consumption resumed"
