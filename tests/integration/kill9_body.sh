# The body of the kill -9 tests (sourced by test_kill9_<backend>.sh, which
# set STATE_BACKEND and STATE_URL first, and may set KILL9_TOTAL, KILL9_DUPS,
# KILL9_LEASE_MS, KILL9_DELAY_MS, KILL9_THREADS and KILL9_CONCURRENCY).
# Issue 18: nothing executed twice under crashes.
#
# Two workers (8 threads, webhook max_concurrency 32: hundreds of calls in
# flight) share a state backend; a webhook target answers every call after
# 50-100 ms (KILL9_DELAY_MS). Once the workload is under way, one worker is killed with
# SIGKILL and a replacement started. The webhook's --peer-log records per
# call its fencing token, arrival time, answer time and URL path (each
# worker calls its own path: /hook/w1, /hook/w2 (killed), /hook/w3); the
# test records the realtime clock just before and just after kill(2).
#
# Asserted (tests/integration/kill9_check.py):
#  - nothing lost: one terminal outcome per message (check_replies.py), every
#    action called, offsets committed at the end;
#  - a repeated call carries a higher fencing token than the one before it;
#  - every repeated action's earlier call was made by the killed worker and
#    was either (a) in flight at the kill (answer not queued before it) or
#    (b) answered within [kill - COMPLETE_LINGER_MS - margin, kill], or (e)
#    answered earlier but its done record, handed over within the linger and
#    margin of the answer, not acknowledged by the state backend before the
#    kill (w2's AW_TEST_RECORD_TRACE, worker/record_trace.h, says when each
#    was handed over and acknowledged); (c) one whose record was
#    acknowledged before the kill or not handed over in time, or (d) one
#    made by a live worker, fails the test.
#
# The margin: the worker hands an answer's done record to a recorder thread
# within COMPLETE_LINGER_MS = 2 ms (worker/pipeline_records.c) of receiving
# it, which sends it at once while one is free, but the window is measured
# on other clocks. KILL9_MARGIN_MS (20 ms) covers (1) the answer's way from
# the target to the worker: the target reads its clock just before queueing
# the response, then the response crosses loopback and the worker thread,
# woken from curl_multi_poll, must be scheduled to read it, on a 2-core
# machine shared with other work (several ms are common there); (2) the
# ms granularity of the target's clock. The kill itself is not in it:
# bash's builtin kill is bracketed by $EPOCHREALTIME reads (no fork), and
# the window is measured from the earlier one, which the kill cannot
# precede (SIGKILL is delivered before kill(2) returns; the reads were up to
# 6 ms apart when the script was preempted). The state backend's own write
# time is not in it either: the trace gives it, class (e).
# KILL9_LINGER_MS (2 ms, COMPLETE_LINGER_MS in worker/pipeline_records.c)
# and KILL9_MARGIN_MS (20 ms) are set in lib.sh.

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
PEER_LOG="$T/hook.peer"
start_webhook --delay-ms "${KILL9_DELAY_MS:-50-100}" --peer-log "$PEER_LOG"
THREADS=${KILL9_THREADS:-8}
WEBHOOK_EXTRA="max_concurrency = ${KILL9_CONCURRENCY:-32};"
# Leases long enough that live workers keep theirs: with 3 s leases (and 6 s
# on dynalite) and a 2,000-message window, this loaded 2-core machine saw
# w1 lose leases of calls it was making (renewals late, "answered after
# their lease was lost") and call those actions again itself with a new
# token: fenced, but a re-execution without a crash, which this test counts
# as (d) and fails on. A window of 2 rounds of calls per thread keeps
# batches short for the same reason. The replacement waits for the killed
# worker's leases to expire, so the lease is also most of the test's time.
LEASE_MS=${KILL9_LEASE_MS:-10000}
MAX_IN_FLIGHT=1024
# /metrics: w2's state write latencies just before the kill (a diagnostic
# printed with the counts; nothing is asserted on them).
EXTRA_CONFIG='http = { listen = "127.0.0.1:0"; };'
write_worker_configs w1 w2 w3

TOTAL=${KILL9_TOTAL:-6000}
DUPS=${KILL9_DUPS:-600}
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total "$TOTAL" --dups "$DUPS" \
    --bad 0 --seed 18 --ids "$T/ids.txt" >"$T/actions.jsonl"

distinct_replies() { read_topic "$REPLY_TOPIC" '%s\n' | python3 -c '
import json, sys
print(len({(r["source"]["partition"], r["source"]["offset"]) for r in map(json.loads, filter(str.strip, sys.stdin))}))'; }
has_distinct_replies() { [ "$(distinct_replies)" -ge "$1" ]; }

start_worker w1 "$T/w1.conf"; W1=$WORKER_PID
# w2 traces its done records (worker/record_trace.h) for kill9_check.py.
AW_TEST_RECORD_TRACE="$T/w2.records" start_worker w2 "$T/w2.conf"; W2=$WORKER_PID
# The actions once both hold partitions: produced earlier, the first worker
# to join takes the whole in-flight window (1,024) before the second is
# assigned anything (a real broker's rebalance takes seconds), and on
# dynalite's 1,200 actions w2 then never gets enough to be killed mid-run.
both_assigned() { grep -q "assigned" "$T/w1.log" && grep -q "assigned" "$T/w2.log"; }
wait_for 60 "partitions at both workers" both_assigned
produce_file "$T/actions.jsonl"
# Mid-run: w2 calling, with most of its share (about half the actions; a
# worker here makes about 2,000 calls/s, the poll looks every 0.2 s) still
# ahead.
wait_for 60 "w2 under way" calls_of /hook/w2 $((TOTAL / 12))
url=$(metrics_url "$T/w2.log")
[ -z "$url" ] || curl -sf --max-time 5 "$url" >"$T/w2.metrics" || true
# ... and with calls under way right now (not between batches or in a
# rebalance): the kill must find some in flight.
wait_for 60 "w2 with calls in flight" in_flight_at /hook/w2 8
kill9_timed "$W2"
echo "killed w2 at ${KILL_BEFORE}..${KILL_AFTER} us after $(wc -l <"$PEER_LOG") calls"
start_worker w3 "$T/w3.conf"; W3=$WORKER_PID

wait_for 180 "$TOTAL distinct replies" has_distinct_replies "$TOTAL"
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --executed $((TOTAL - DUPS)) \
    --deduplicated "$DUPS" <"$T/replies.jsonl" || fail "reply outcomes"
pass "nothing lost: $((TOTAL - DUPS)) executed, $DUPS deduplicated, offsets committed"
stop_worker "$W1"
stop_worker "$W3"
# Every answer queued is in the peer log once the target has stopped.
stop_webhook
python3 "$AW_SOURCE_DIR/tests/integration/kill9_check.py" --calls "$PEER_LOG" --ids "$T/ids.txt" \
    --killed /hook/w2 --kill-before "$KILL_BEFORE" --kill-after "$KILL_AFTER" \
    --linger-ms "$KILL9_LINGER_MS" --margin-ms "$KILL9_MARGIN_MS" --records "$T/w2.records" --metrics "$T/w2.metrics" \
    || fail "re-executions beyond the calls in flight at the kill and the answers not yet recorded"
pass "kill -9: only calls in flight at the kill or answered but not yet recorded ran again, each with a higher fencing token"
