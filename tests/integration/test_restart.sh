#!/usr/bin/env bash
# Restarts mid-run on the Kafka peer (lib.sh: real broker or mock cluster)
# with memory state:
#  1. graceful (SIGTERM) then restart: every action executed exactly once,
#     a reply for every message, offsets committed at the end;
#  2. crash (kill -9) then restart: nothing lost (every action executed at
#     least once, a reply for every message). Memory state dies with the
#     process, so a crash may repeat in-flight executions: that is what the
#     shared backends (Redis, PostgreSQL) are for.
source "$(dirname "$0")/lib.sh"

start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
# 200 ms per call and a window of 40: at most 40 calls in flight, so at most
# 200 calls/s whatever the machine; the stop after 100 calls (0.5 s at the
# least) lands with most of the topic still unconsumed.
MAX_IN_FLIGHT=40
start_webhook --delay-ms 200
write_config "$T/worker.conf"


# ---- 1. graceful restart --------------------------------------------------
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 600 --dups 0 --bad 0 \
    --ids "$T/ids1.txt" >"$T/batch1.jsonl"
produce_file "$T/batch1.jsonl"
start_worker worker-a "$T/worker.conf"
# Stopped on the webhook's count, read without a Kafka client: counting the
# replies takes kcat about a second a look, long enough for the worker to
# finish all 600 in between (it did on the mock once it needed fewer
# instructions per action).
wait_for 60 "some webhook calls" hook_calls_at_least 100
stop_worker "$WORKER_PID"
done_a=$(wc -l <"$HOOK_LOG")
[ "$done_a" -lt 600 ] || fail "worker A finished everything before it was stopped"
start_worker worker-b "$T/worker.conf"
wait_for 120 "600 distinct replies" has_distinct_replies 600
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
calls=$(wc -l <"$HOOK_LOG")
distinct=$(cut -f1 "$HOOK_LOG" | sort -u | wc -l)
[ "$distinct" -eq 600 ] || fail "graceful: distinct webhook ids: want 600, got $distinct"
[ "$calls" -eq 600 ] || fail "graceful: webhook calls: want 600 (none twice), got $calls"
pass "graceful restart after $done_a calls: 600 executed exactly once, all committed"

# ---- 2. crash and restart --------------------------------------------------
: >"$HOOK_LOG"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 600 --dups 0 --bad 0 \
    --seed 11 --ids "$T/ids2.txt" >"$T/batch2.jsonl"
sed -i 's/"act-/"crash-/' "$T/batch2.jsonl"
sed -i 's/^act-/crash-/' "$T/ids2.txt"
produce_file "$T/batch2.jsonl"
start_worker worker-c "$T/worker.conf"
wait_for 60 "some webhook calls" hook_calls_at_least 100
kill -KILL "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
start_worker worker-d "$T/worker.conf"
wait_for 180 "1200 distinct replies" has_distinct_replies 1200
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
missing=$(cut -f1 "$HOOK_LOG" | sort -u | comm -13 - <(sort "$T/ids2.txt") | wc -l)
[ "$missing" -eq 0 ] || fail "crash: $missing action(s) never executed"
pass "crash restart: nothing lost ($(wc -l <"$HOOK_LOG") calls for 600 actions)"
