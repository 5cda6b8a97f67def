#!/usr/bin/env bash
# The operator endpoint of a running worker, read with a real HTTP client:
# /healthz is 200, /readyz turns 200 once partitions are assigned, /metrics
# is Prometheus text whose counters match what the run did, and unknown
# paths are 404.
source "$(dirname "$0")/lib.sh"

start_kafka "$ACTIONS_TOPIC:2" "$REPLY_TOPIC:2" "$DLQ_TOPIC:1"
start_webhook
EXTRA_CONFIG='http = { listen = "127.0.0.1:0"; };'
write_config "$T/worker.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 60 --dups 5 --bad 5 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker worker "$T/worker.conf"

port_known() { grep -q 'serving /metrics' "$T/worker.log"; }
wait_for 30 "the HTTP endpoint" port_known
PORT=$(sed -n 's/.*serving \/metrics.*(port \([0-9]*\)).*/\1/p' "$T/worker.log" | head -1)
URL="http://127.0.0.1:$PORT"

[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] || fail "/healthz not 200"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ]; }
wait_for 60 "/readyz 200" ready
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope")" = 404 ] || fail "unknown path not 404"
pass "/healthz, /readyz and 404"

# 55 valid (50 distinct + 5 repeats) and 5 malformed.
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
all_done() { [ "$(metric acteon_messages_consumed_total)" = 60 ] &&
             [ "$(metric 'acteon_outcomes_total{outcome="executed"}')" = 50 ] &&
             [ "$(metric acteon_dlq_messages_total)" = 5 ] &&
             [ "$(metric acteon_audit_records_total)" = 60 ]; }
wait_for 60 "60 messages through" all_done
curl -s "$URL/metrics" >"$T/metrics.txt"
check() { grep -qx "$1" "$T/metrics.txt" || fail "metrics: no line '$1'"; }
check 'acteon_outcomes_total{outcome="deduplicated"} 5'
check 'acteon_outcomes_total{outcome="rejected"} 5'
check 'acteon_dlq_messages_total 5'
check 'acteon_assigned_partitions 2'
check 'acteon_audit_queue_depth 0'
check 'acteon_audit_queue_capacity 10000'
check 'acteon_audit_refused_total 0'
grep -q '^# TYPE acteon_claim_seconds histogram$' "$T/metrics.txt" || fail "no claim histogram"
grep -q '^acteon_provider_seconds_count 50$' "$T/metrics.txt" || fail "provider histogram count"
grep -q '^acteon_claim_seconds_bucket{le="+Inf"} ' "$T/metrics.txt" || fail "no +Inf bucket"
lag_seen() { curl -s "$URL/metrics" | grep -q "^acteon_consumer_lag{topic=\"$ACTIONS_TOPIC\",partition=\"0\"} "; }
wait_for 30 "per-partition lag from librdkafka statistics" lag_seen
pass "metrics match the run (outcomes, DLQ, partitions, histograms, lag)"
stop_worker "$WORKER_PID"
