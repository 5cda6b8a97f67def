#!/usr/bin/env bash
# A DLQ copy the producer refuses as too large is dead-lettered without its
# value, with acteon.dlq.value_omitted saying why, instead of being retried
# forever with its offset holding back every later commit (worker/outcome.c).
# Here: a 512 KiB message (a real broker takes ~1 MB), over the 128 KiB
# ingest.max_message_bytes, and producer message.max.bytes = 256 KiB.
source "$(dirname "$0")/lib.sh"

start_kafka "$ACTIONS_TOPIC:1" "$REPLY_TOPIC:1" "$DLQ_TOPIC:1"
start_webhook
EXTRA_CONFIG='ingest = { max_message_bytes = 131072; };' \
    KAFKA_PROPERTIES='"producer.message.max.bytes=262144"' write_config "$T/worker.conf"

python3 - "$T" <<'PY'
import json, sys
base = {"namespace": "it", "tenant": "t1", "provider": "webhook", "action_type": "notify"}
open(f"{sys.argv[1]}/1.msg", "w").write(json.dumps(dict(base, id="big", payload="x" * 524288)))
open(f"{sys.argv[1]}/2.msg", "w").write(json.dumps(dict(base, id="after-big", payload=1)))
PY
kcat -P -b "$BOOT" -t "$ACTIONS_TOPIC" -p 0 -X enable.idempotence=true \
    -X message.max.bytes=8000000 "$T/1.msg" "$T/2.msg" >"$T/kcat.log" 2>&1 \
    || fail "kcat produce: $(cat "$T/kcat.log")"
big_len=$(stat -c %s "$T/1.msg")

start_worker worker "$T/worker.conf"
wait_for 60 "1 DLQ message" topic_has "$DLQ_TOPIC" 1
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
kill -0 "$WORKER_PID" 2>/dev/null || fail "the worker is gone"

read_topic "$DLQ_TOPIC" '%S\t%h\n' >"$T/dlq.txt"
[ "$(wc -l <"$T/dlq.txt")" -eq 1 ] || fail "DLQ: want 1 message, got $(wc -l <"$T/dlq.txt")"
# kcat prints -1 for a NULL value
grep -qE '^(-1|0)	' "$T/dlq.txt" || fail "DLQ copy has a value: $(cut -c1-200 "$T/dlq.txt")"
grep -q 'acteon.dlq.reason=too_large,' "$T/dlq.txt" || fail "DLQ reason"
grep -q "acteon.dlq.value_omitted=$big_len bytes: " "$T/dlq.txt" || fail "no value_omitted header"
grep -q 'acteon.dlq.source_offset=0,' "$T/dlq.txt" || fail "DLQ source offset"
grep -q 'acteon.audit_record={' "$T/dlq.txt" || fail "DLQ audit record"
pass "too large for the producer: DLQ copy without value, reason and value_omitted headers"
[ "$(cut -f1 "$HOOK_LOG")" = "after-big" ] || fail "webhook: want one call for after-big"
pass "the next action executed once; offsets committed to the end"
stop_worker "$WORKER_PID"
grep -q "delivery_failures=0" "$T/worker.log" || fail "delivery failures counted"
pass "worker exited cleanly"
