#!/usr/bin/env bash
# End to end on the Kafka peer (lib.sh: real broker or mock cluster) with
# memory backends (or the state backend a wrapper names) and a real webhook:
# 1,000 actions, 100 repeating an earlier id, 20 malformed ->
# 880 executed, 100 deduplicated, exactly one webhook call per distinct id,
# 20 DLQ messages each with a reason, committed offsets at the end of every
# partition, and a clean exit on SIGTERM.
source "$(dirname "$0")/lib.sh"

start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook
write_config "$T/worker.conf"
# A no-op for memory state; creates the schema of a shared backend when a
# wrapper (test_e2e_<backend>.sh) sets STATE_BACKEND/STATE_URL.
"$WORKER" --log-level warn migrate -c "$T/worker.conf" >"$T/migrate.log" 2>&1 \
    || fail "migrate: $(cat "$T/migrate.log")"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"

start_worker worker "$T/worker.conf"
# 8 of the malformed lines carry a readable id: they get a "rejected" reply too.
wait_for 120 "988 replies" topic_has "$REPLY_TOPIC" 988
wait_for 60 "20 DLQ messages" topic_has "$DLQ_TOPIC" 20
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"

read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --executed 880 --deduplicated 100 \
    --rejected 8 <"$T/replies.jsonl" || fail "reply outcomes"
pass "880 executed, 100 deduplicated replies"

calls=$(wc -l <"$HOOK_LOG")
distinct=$(cut -f1 "$HOOK_LOG" | sort -u | wc -l)
[ "$calls" -eq 880 ] || fail "webhook calls: want 880, got $calls"
[ "$distinct" -eq 880 ] || fail "distinct webhook ids: want 880, got $distinct"
cut -f1 "$HOOK_LOG" | sort | diff -q - <(sort "$T/ids.txt") >/dev/null \
    || fail "webhook ids differ from the distinct action ids"
awk -F'\t' '$2 < 1 || $3 !~ /^it:/ { bad = 1 } END { exit bad }' "$HOOK_LOG" \
    || fail "webhook calls without fencing token or idempotency key"
pass "exactly one webhook call per distinct id, with fencing token and idempotency key"

dlq=$(count_topic "$DLQ_TOPIC")
[ "$dlq" -eq 20 ] || fail "DLQ: want 20, got $dlq"
read_topic "$DLQ_TOPIC" '%h\n' >"$T/dlq.headers"
reasons=$(grep -c 'acteon.dlq.reason=' "$T/dlq.headers" || true)
[ "$reasons" -eq 20 ] || fail "DLQ messages with a reason header: want 20, got $reasons"
grep -q 'acteon.dlq.source_offset=' "$T/dlq.headers" || fail "DLQ without source offset"
grep -q 'acteon.dlq.reason=invalid_json' "$T/dlq.headers" || fail "no invalid_json reason"
grep -q 'acteon.dlq.reason=missing_field' "$T/dlq.headers" || fail "no missing_field reason"
read_topic "$DLQ_TOPIC" '%s\n' | grep -qx 'this is not json' || fail "DLQ body not the original bytes"
pass "20 DLQ messages with reasons and original bytes"

committed_at_end "$GROUP" "$ACTIONS_TOPIC" || fail "offsets not committed at the end"
pass "committed offsets at the end of every partition"
grep -q "executed=880 failed=0 deduplicated=100 rejected=20" "$T/worker.log" \
    || fail "worker's final counters"
pass "worker exited cleanly with the expected counters"
