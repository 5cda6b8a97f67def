#!/usr/bin/env bash
# The state backend fails: every 5th call transiently, then a 4-second outage
# in the middle of the run. Calls are retried with backoff, the in-flight
# window fills and consumption pauses, and when the backend is back the run
# completes with the exact outcomes: nothing lost, nothing executed twice.
source "$(dirname "$0")/lib.sh"

start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook
STATE_BACKEND=faulty
# about 130 state calls in all (one claim and one or two completes per batch)
STATE_URL="memory?transient_every=5&outage_after=40&outage_ms=4000"
MAX_IN_FLIGHT=100
write_config "$T/worker.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"

start_worker worker "$T/worker.conf"
wait_for 180 "988 replies" topic_has "$REPLY_TOPIC" 988
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"

check_exact_run 880 100 8
pass "exact outcomes and one call per id despite injected faults"

grep -q "injected outage starts" "$T/worker.log" || fail "the outage never happened"
grep -q "injected fault" "$T/worker.log" || fail "no injected fault was retried"
grep -q "pausing consumption" "$T/worker.log" || fail "consumption never paused"
grep -q "resumed fetching" "$T/worker.log" || fail "consumption never resumed"
grep -q "state backend down: " "$T/worker.log" || fail "no \"state backend down\" line"
grep -q "state backend up again after " "$T/worker.log" || fail "no \"state backend up again\" line"
pass "faults retried with backoff; consumption paused during the outage and resumed"
