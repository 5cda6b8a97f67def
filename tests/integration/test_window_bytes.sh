#!/usr/bin/env bash
# The in-flight window counted in bytes (workers.max_in_flight_bytes,
# docs/operations.md "The in-flight window"): a message is taken only while
# one of ingest.max_message_bytes still fits.
#  1. 60 actions of about 40 KB, ingest.max_message_bytes = 50,000 and
#     max_in_flight_bytes = 150,000: three fit when the window is empty and
#     none more until one finishes, so the webhook target (200 ms a call)
#     never sees more than 3 calls at once, however many the threads could
#     make (4 threads x 64); every action is still replied to, once.
#  2. The same load with max_in_flight_bytes = 10,000,000: more than 3 at
#     once (the bound, not the webhook or the threads, held step 1 to 3).
source "$(dirname "$0")/lib.sh"

start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 200
EXTRA_CONFIG='ingest = { max_message_bytes = 50000; };'

# big_actions PREFIX N: N actions whose payload carries 40,000 bytes.
big_actions() {
    python3 - "$1" "$2" <<'PY'
import json, sys
prefix, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    print(json.dumps({"id": f"{prefix}-{i:03d}", "namespace": "it", "tenant": "acme",
                      "provider": "webhook", "action_type": "notify",
                      "payload": {"blob": "x" * 40000}}))
PY
}
# most_at_once: the most calls the target handled at once since it started.
most_at_once() {
    curl -sf --max-time 5 "http://127.0.0.1:$HOOK_PORT/stats" |
        sed -n 's/.*"max_in_flight": \([0-9]*\).*/\1/p'
}

# ---- 1. bounded by bytes -----------------------------------------------------
WORKERS_EXTRA="max_in_flight_bytes = 150000;"
write_config "$T/worker.conf"
big_actions small 60 >"$T/a1.jsonl"
produce_file "$T/a1.jsonl"
start_worker bounded "$T/worker.conf"
wait_for 120 "60 distinct replies" has_distinct_replies 60
wait_for 30 "offsets committed" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
most=$(most_at_once)
[ -n "$most" ] || fail "no /stats from the webhook target"
[ "$(wc -l <"$HOOK_LOG")" -eq 60 ] || fail "bounded: want 60 calls, got $(wc -l <"$HOOK_LOG")"
[ "$most" -ge 1 ] && [ "$most" -le 3 ] ||
    fail "bounded: the target saw $most calls at once; 150,000 bytes hold 3 of 50,000"
pass "150,000 bytes in flight: at most $most calls at once, 60 replied"

# ---- 2. the same load, a bound that holds all of it ------------------------
stop_webhook
restart_webhook --delay-ms 200
: >"$HOOK_LOG"
WORKERS_EXTRA="max_in_flight_bytes = 10000000;"
write_config "$T/wide.conf"
big_actions wide 60 >"$T/a2.jsonl"
produce_file "$T/a2.jsonl"
start_worker wide "$T/wide.conf"
wait_for 120 "120 distinct replies" has_distinct_replies 120
stop_worker "$WORKER_PID"
most=$(most_at_once)
[ "$(wc -l <"$HOOK_LOG")" -eq 60 ] || fail "wide: want 60 calls, got $(wc -l <"$HOOK_LOG")"
[ "${most:-0}" -gt 3 ] || fail "wide: the target saw only ${most:-0} calls at once"
pass "10,000,000 bytes in flight: $most calls at once (the byte bound held step 1)"
