# The body of the scheduled-action tests (sourced by test_schedule_<backend>.sh,
# which set STATE_BACKEND and STATE_URL first; docs/scheduling.md): three
# worker processes in one group share the due index in the state backend.
#   200 distinct actions with not_before spread over 20 s, starting 3 s
#   after they are produced (so every one is consumed before its time):
#   each is answered `scheduled`, then executed exactly once (webhook log),
#   never before its not_before (the webhook's arrival clock; the same
#   machine's clock as the workers'), with a second reply for its
#   execution after the first; offsets committed at the end.

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
PEER_LOG="$T/hook.peer"
start_webhook --peer-log "$PEER_LOG"
EXTRA_CONFIG="schedule = { poll_ms = 100; stats_interval_ms = 200; };
http = { listen = \"127.0.0.1:0\"; };"
write_config "$T/worker.conf"
migrate_and_check "$T/worker.conf"
# Settled, not merely assigned once: a rebalance still under way at the
# produce can hold the partitions past the first not_before.
start_settled_group 8 "$T/worker.conf" w1 w2 w3

now_ms() { python3 -c "import time; print(int(time.time() * 1000))"; }
CHECK="$AW_SOURCE_DIR/tests/integration/schedule_check.py"
python3 "$CHECK" gen --total 200 --from-ms $(( $(now_ms) + 3000 )) --spread-ms 20000 \
    >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
# 200 `scheduled` replies and 200 execution replies: 400 distinct records.
replies_records() { read_topic "$REPLY_TOPIC" '%s\n' | python3 -c '
import json, sys
print(len({json.loads(l)["record_id"] for l in sys.stdin if l.strip()}))'; }
has_records() { [ "$(replies_records)" -ge "$1" ]; }
wait_for 20 "200 scheduled replies" has_records 200
# The due-index gauges of one worker (every worker reports the same pool):
# DUE_ITEMS, DUE_WAITING and DUE_LAG after due_gauges NAME.
due_gauges() {
    local url
    url=$(metrics_url "$T/$1.log")
    [ -n "$url" ] && curl -sf --max-time 2 "$url" >"$T/$1.metrics" || return 1
    DUE_ITEMS=$(metric 'acteon_due_pool_items{kind="scheduled"}' "$T/$1.metrics")
    DUE_WAITING=$(metric 'acteon_due_waiting{kind="scheduled"}' "$T/$1.metrics")
    DUE_LAG=$(metric 'acteon_due_oldest_lag_seconds{kind="scheduled"}' "$T/$1.metrics")
    [ -n "$DUE_ITEMS" ] && [ -n "$DUE_WAITING" ] && [ -n "$DUE_LAG" ]
}
pool_seen() { due_gauges "$1" && [ "$DUE_ITEMS" -gt 0 ]; }
# The last action is due 23 s after it was produced: the pool is not empty
# yet. (With 13 s, a TSan build on a loaded machine took most of it to
# answer the 200 `scheduled` replies, and the pool was empty before w2's
# gauges were read.)
wait_for 10 "w2's gauges show the pool" pool_seen w2
wait_for 60 "200 webhook calls" hook_calls_at_least 200
wait_for 60 "400 distinct replies (scheduled + executed)" has_records 400
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"

pool_empty() { due_gauges "$1" && [ "$DUE_ITEMS" -eq 0 ] && [ "$DUE_WAITING" -eq 0 ] &&
               [ "$DUE_LAG" = "0.000" ]; }
for w in w1 w2 w3; do wait_for 10 "$w's gauges show the pool empty" pool_empty $w; done
pass "due-index gauges on every worker: the pool seen, then empty"

read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 "$CHECK" check --actions "$T/actions.jsonl" --replies "$T/replies.jsonl" \
    --peer-log "$PEER_LOG" || fail "scheduled actions"
[ "$(count_topic "$DLQ_TOPIC")" -eq 0 ] || fail "DLQ copies: $(count_topic "$DLQ_TOPIC")"
pass "3 workers on $STATE_BACKEND: 200 scheduled actions, each executed once, never early"
if [ "${AUDIT_BACKEND:-memory}" != memory ]; then
    # Only this run's records (the audit database may be shared): by topic.
    audit_count() {
        "$WORKER" --log-level warn audit search -c "$T/worker.conf" --outcome "$1" --all \
            | grep -F "\"record_id\":\"$ACTIONS_TOPIC:" | grep -c "$2" || true
    }
    audit_has() { [ "$(audit_count scheduled '"outcome":"scheduled"')" -eq 200 ] &&
                  [ "$(audit_count executed ':run"')" -eq 200 ]; }
    wait_for 30 "200 scheduled and 200 executed (:run) audit records" audit_has
    pass "audit ($AUDIT_BACKEND): 200 scheduled records and 200 execution records"
fi
for pid in "${GROUP_PIDS[@]}"; do stop_worker "$pid"; done
# Which replica ran what (information: whoever polled first).
for w in w1 w2 w3; do
    echo "$w: $(grep -o 'executed=[0-9]*' "$T/$w.log" | tail -1)"
done
