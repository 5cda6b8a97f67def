#!/usr/bin/env bash
# The hostile input corpus (tests/integration/hostile_inputs.py), each case
# followed by a valid action, sent byte for byte by kcat (one file = one
# message) to a 1-partition actions topic; ingest.max_message_bytes = 256 KiB.
# Asserts: every hostile case reaches the DLQ once, with its exact
# acteon.dlq.reason, its original bytes (sha256) and an acteon.audit_record
# header naming its source offset; every valid action is executed exactly
# once (webhook log); a throttle rule's key field that cannot be rendered is
# rule_field; a reply_to naming a missing topic is answered on the
# default reply topic; offsets are committed to the end; the worker is still
# running afterwards and exits cleanly.
source "$(dirname "$0")/lib.sh"

CASES="$AW_SOURCE_DIR/tests/integration/hostile_inputs.py"
start_kafka "$ACTIONS_TOPIC:1" "$REPLY_TOPIC:1" "$DLQ_TOPIC:1"
start_webhook
# A throttle keyed on a payload field: the rule_field cases of the corpus.
EXTRA_CONFIG='ingest = { max_message_bytes = 262144; };
rules = ( { name = "per-user"; match = { action_type = "keyed"; }; verdict = "throttle";
            key = "{payload.user.id}"; max_count = 1000000; window_s = 3600; } );' \
    write_config "$T/worker.conf"

mkdir "$T/msgs"
total=$(python3 "$CASES" write "$T/msgs" "$RUN_ID")
# kcat sends each file as one message, in order (idempotence keeps that
# order on the wire), but skips empty files: an empty value goes as
# "key<TAB>" with -K instead. message.max.bytes: the too_large case must pass.
kcat_produce() {
    kcat -P -b "$BOOT" -t "$ACTIONS_TOPIC" -p 0 -X enable.idempotence=true \
        -X message.max.bytes=8000000 "$@" >>"$T/kcat.log" 2>&1 \
        || fail "kcat produce: $(cat "$T/kcat.log")"
}
batch=()
for f in "$T"/msgs/*.msg; do
    if [ -s "$f" ]; then
        batch+=("$f")
        continue
    fi
    [ ${#batch[@]} -eq 0 ] || kcat_produce "${batch[@]}"
    batch=()
    printf 'empty\t\n' | kcat_produce -K '\t'
done
[ ${#batch[@]} -eq 0 ] || kcat_produce "${batch[@]}"
wait_for 30 "$total messages on the actions topic" topic_has "$ACTIONS_TOPIC" "$total"

start_worker worker "$T/worker.conf"
hostile=$(python3 -c 'import json,sys; print(sum(m["kind"] == "hostile" for m in json.load(open(sys.argv[1]))["messages"]))' "$T/msgs/manifest.json")
wait_for 120 "$hostile DLQ messages" topic_has "$DLQ_TOPIC" "$hostile"
wait_for 120 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
kill -0 "$WORKER_PID" 2>/dev/null || fail "the worker is gone after the hostile inputs"
pass "worker still running after $hostile hostile inputs; offsets committed to the end"

# %S is the value's length, so the dumps are binary-safe.
dump() { timeout 60 kcat -C -b "$BOOT" -t "$1" -e -q -X fetch.message.max.bytes=8000000 \
    -f '%o\t%S\t%s\t%h\n' >"$T/$2" 2>>"$T/kcat.log"; }
dump "$ACTIONS_TOPIC" actions.dump
dump "$DLQ_TOPIC" dlq.dump
dump "$REPLY_TOPIC" replies.dump
# Absent on a real broker (kcat then fails: an empty dump); auto-created by
# the mock cluster (see hostile_inputs.py).
dump "$(python3 "$CASES" reply-to-missing "$RUN_ID")" reply_to.dump || : >"$T/reply_to.dump"
python3 "$CASES" check "$T/msgs/manifest.json" "$T/actions.dump" "$T/dlq.dump" \
    "$T/replies.dump" "$T/reply_to.dump" "$HOOK_LOG" "$KAFKA_PEER" || fail "hostile input checks"
pass "every hostile case in the DLQ with its reason, bytes and audit record"

stop_worker "$WORKER_PID"
pass "worker exited cleanly"
