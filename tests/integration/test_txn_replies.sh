#!/usr/bin/env bash
# Exactly-once replies with kafka.transactional_replies on the REAL broker
# (the mock cluster does not honour transactions), Redis state:
#   2,000 distinct actions; worker A is killed with SIGKILL mid-run (after
#   replies are visible), worker B (same worker_id, so the same
#   transactional.id: it fences A and aborts A's open transaction at once)
#   finishes. Read with isolation.level=read_committed, the reply topic holds
#   exactly one reply per input message (by source partition/offset): none
#   missing, none twice. The read_uncommitted count is printed too: the
#   difference is the aborted replies that read_committed filtered out.
# AW_TXN_REPLIES=false runs the same scenario without transactions (to show
# that the test tells the difference: it then fails with duplicates).
source "$(dirname "$0")/lib.sh"
[ "$KAFKA_PEER" = real ] || { echo "SKIP: needs the real Kafka broker (AW_KAFKA_BOOTSTRAP); the mock cluster does not honour transactions"; exit 77; }
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }

TXN=${AW_TXN_REPLIES:-true}
TOTAL=2000
start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
# 5 ms per call and 2 threads: about 400 actions/s, so the kill lands with
# most of the topic still to do.
start_webhook --delay-ms 5
THREADS=2
WEBHOOK_EXTRA="max_concurrency = 1;" # one call at a time per thread
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
LEASE_MS=3000
KAFKA_EXTRA="transactional_replies = $TXN;"
# A stable worker_id per replica: the restarted worker has the same
# transactional.id and aborts its killed predecessor's open transaction.
EXTRA_CONFIG='worker_id = "txn-worker";'
write_config "$T/worker.conf"
grep -q "transactional_replies = $TXN;" "$T/worker.conf" || fail "could not set transactional_replies"

python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total $TOTAL --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"

start_worker worker-a "$T/worker.conf"
wait_for 120 "some committed replies" committed_replies_at_least 200
kill -KILL "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
calls_a=$(wc -l <"$HOOK_LOG")
[ "$calls_a" -lt $TOTAL ] || fail "worker A finished everything before it was killed"
echo "worker A killed after $calls_a webhook calls"

start_worker worker-b "$T/worker.conf"
wait_for 240 "$TOTAL distinct committed replies" committed_replies_at_least $TOTAL
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"

kcat -C -b "$BOOT" -t "$ACTIONS_TOPIC" -e -q -f '%p %o\n' 2>/dev/null | sort >"$T/inputs.txt"
[ "$(wc -l <"$T/inputs.txt")" -eq $TOTAL ] || fail "input topic: want $TOTAL messages, got $(wc -l <"$T/inputs.txt")"
reply_sources read_committed | sort >"$T/committed.txt"
reply_sources read_uncommitted | sort >"$T/uncommitted.txt"
n_committed=$(wc -l <"$T/committed.txt")
n_uncommitted=$(wc -l <"$T/uncommitted.txt")
dups=$(uniq -d "$T/committed.txt" | wc -l)
missing=$(sort -u "$T/committed.txt" | comm -13 - "$T/inputs.txt" | wc -l)
extra=$(sort -u "$T/committed.txt" | comm -23 - "$T/inputs.txt" | wc -l)
echo "transactional_replies=$TXN: read_committed $n_committed replies, read_uncommitted" \
     "$n_uncommitted: $((n_uncommitted - n_committed)) aborted reply(ies) filtered out;" \
     "webhook calls $(wc -l <"$HOOK_LOG") for $TOTAL actions"
[ "$dups" -eq 0 ] || fail "read_committed: $dups message(s) replied more than once ($n_committed replies for $TOTAL messages)"
[ "$missing" -eq 0 ] || fail "read_committed: $missing message(s) without a reply"
[ "$extra" -eq 0 ] || fail "read_committed: $extra reply(ies) for no input message"
[ "$n_committed" -eq $TOTAL ] || fail "read_committed: want $TOTAL replies, got $n_committed"
pass "kill -9 mid-run: exactly one committed reply per input message ($TOTAL)"
missing_calls=$(cut -f1 "$HOOK_LOG" | sort -u | comm -13 - <(sort "$T/ids.txt") | wc -l)
[ "$missing_calls" -eq 0 ] || fail "$missing_calls action(s) never executed"
pass "every action executed"
