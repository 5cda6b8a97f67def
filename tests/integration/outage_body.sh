# The body of the real-server outage tests (sourced by
# test_outage_<backend>.sh after lib.sh; they define server_start PORT,
# server_stop and server_url PORT, and set either STATE_BACKEND (the server
# is the state backend) or OUTAGE_OF=audit with AUDIT_BACKEND (the server is
# the audit backend; state then lives in the shared test Redis).
#
# The server of this test (its own instance, so parallel tests are not
# disturbed) stops mid-run and comes back on the same port with its data:
# the workers (or the audit writer) log and back off, the in-flight window
# (or the audit queue, then the in-flight window) fills and consumption
# pauses, and once the server is back the run completes with exact
# outcomes: nothing lost, nothing executed twice, one audit record per
# message.
#
# Audit outages also check, from the operator endpoint and /proc, that the
# pause bounds memory and drops nothing: once the queue is full and
# consumption paused, for a few seconds of samples, the queue depth stays
# <= its capacity, in-flight <= max_in_flight, nothing more is consumed,
# the consumer lag stays > 0 and the worker's RSS stays within a bound (see
# outage_paused.sh).
start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 2
MAX_IN_FLIGHT=100
LEASE_MS=20000
PORT=$(free_port)
server_start "$PORT"
OUTAGE_OF=${OUTAGE_OF:-state}
if [ "$OUTAGE_OF" = audit ]; then
    [ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL is not set"; exit 77; }
    STATE_BACKEND=redis
    STATE_URL=$AW_TEST_REDIS_URL
    AUDIT_URL=$(server_url "$PORT")
    AUDIT_EXTRA="queue_capacity = 40; batch_size = 20; flush_interval_ms = 10;"
    EXTRA_CONFIG='http = { listen = "127.0.0.1:0"; };'
    KAFKA_PROPERTIES='"statistics.interval.ms=1000"' # consumer lag every second
    source "$AW_SOURCE_DIR/tests/integration/outage_paused.sh"
else
    STATE_URL=$(server_url "$PORT")
fi
write_config "$T/worker.conf"
"$WORKER" --log-level warn migrate -c "$T/worker.conf" >"$T/migrate.log" 2>&1 \
    || fail "migrate: $(cat "$T/migrate.log")"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --ids "$T/ids.txt" >"$T/actions.jsonl"
# The first 300 messages before the outage, the other 700 during it: the
# outage meets work however fast the first part went.
head -n 300 "$T/actions.jsonl" >"$T/actions-1.jsonl"
tail -n +301 "$T/actions.jsonl" >"$T/actions-2.jsonl"
produce_file "$T/actions-1.jsonl"
start_worker worker "$T/worker.conf"

wait_for 120 "the first 150 calls" hook_calls_at_least 150
if [ "$OUTAGE_OF" = audit ]; then rss_before=$(vm_rss_kb "$WORKER_PID"); fi
server_stop
produce_file "$T/actions-2.jsonl"
# Failed attempts are logged once per outage ("<backend> down: ...
# (retrying with backoff ...)"), not per attempt.
retrying() { grep -q "$OUTAGE_OF backend down: " "$T/worker.log" && grep -q "pausing consumption" "$T/worker.log"; }
wait_for 60 "retries with backoff and a paused consumer" retrying
if [ "$OUTAGE_OF" = audit ]; then check_paused_bounds "$rss_before"; fi
before=$(wc -l <"$HOOK_LOG")
server_start "$PORT"
pass "$OUTAGE_OF server down: retried with backoff, consumption paused ($before calls so far)"

wait_for 180 "988 replies" topic_has "$REPLY_TOPIC" 988
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
check_exact_run 880 100 8
grep -q "resumed fetching" "$T/worker.log" || fail "consumption never resumed"
grep -q "$OUTAGE_OF backend down: " "$T/worker.log" || fail "no \"$OUTAGE_OF backend down\" line"
grep -q "$OUTAGE_OF backend up again after " "$T/worker.log" || fail "no \"$OUTAGE_OF backend up again\" line"
if [ "$OUTAGE_OF" = audit ]; then
    "$WORKER" audit search -c "$T/worker.conf" --all >"$T/audit.jsonl" || fail "audit search"
    read_topic "$ACTIONS_TOPIC" '%t:%p:%o\n' >"$T/record_ids.txt"
    python3 "$AW_SOURCE_DIR/tests/integration/audit_check.py" exact "$T/record_ids.txt" \
        "$T/audit.jsonl" --executed 880 --deduplicated 100 --rejected 20 \
        || fail "audit trail after the outage"
    grep -q "audit_refused\|refuses this record" "$T/worker.log" && fail "records refused"
fi
pass "server back: exact outcomes, one call per id, one audit record per message, consumption resumed"
