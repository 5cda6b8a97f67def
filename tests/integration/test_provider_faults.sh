#!/usr/bin/env bash
# The webhook target misbehaves; every message still gets one terminal
# outcome and no action succeeds twice.
#  1. slow beyond the lease: every call takes 1.5 s with a 1 s lease (the
#     lease keeper renews it while the call runs): one call per id, no
#     takeover, no second fencing token;
#  2. failing: the first 40 requests answer 503, then it recovers: retries
#     with backoff (max_attempts 4) turn most into executed; an id is called
#     at most 4 times, succeeds at most once, and every message ends
#     executed or failed (never both, never missing).
source "$(dirname "$0")/lib.sh"
# Phase 2 gets topics and a group of its own; the mock cluster makes every
# topic at its start.
A2="$ACTIONS_TOPIC.2"; R2="$REPLY_TOPIC.2"; G2="$GROUP.2"
start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1" "$A2:4" "$R2:4"

# ---- 1. slow beyond the lease
start_webhook --delay-ms 1500
LEASE_MS=1000
THREADS=8
write_config "$T/worker.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 40 --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker worker "$T/worker.conf"
wait_for 120 "40 replies" topic_has "$REPLY_TOPIC" 40
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
check_exact_run 40 0 0
awk -F'\t' '{ n[$1]++; t[$1] = t[$1] " " $2 } END { for (i in n) if (n[i] != 1) { print i, t[i]; bad = 1 } exit bad }' \
    "$HOOK_LOG" || fail "an id was called more than once (lease taken over?)"
grep -q "lease lost" "$T/worker.log" && fail "a lease was lost although the keeper renews it"
pass "calls 50% longer than the lease: one call per id, leases renewed, none lost"

# ---- 2. failing with 503, then recovering (fresh topics of their own)
ACTIONS_TOPIC=$A2; REPLY_TOPIC=$R2; GROUP=$G2
rm -f "$T/hook.port" # a second target: wait for its own port
start_webhook --fail-first 40 --fail-status 503
LEASE_MS=10000
THREADS=4
write_config "$T/worker.conf" # produce_file reads worker.conf
cp "$T/worker.conf" "$T/worker2.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 60 --dups 0 --bad 0 --seed 11 \
    --ids "$T/ids2.txt" >"$T/actions2.jsonl"
produce_file "$T/actions2.jsonl"
start_worker worker2 "$T/worker2.conf"
wait_for 120 "60 replies" topic_has "$REPLY_TOPIC" 60
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies2.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --summary <"$T/replies2.jsonl" \
    >"$T/summary2.txt" || fail "reply outcomes"
executed=$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print(len({(x["source"]["partition"],x["source"]["offset"]) for x in r if x["outcome"]=="executed"}))' "$T/replies2.jsonl")
failed=$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print(len({(x["source"]["partition"],x["source"]["offset"]) for x in r if x["outcome"]=="failed"}))' "$T/replies2.jsonl")
[ $((executed + failed)) -eq 60 ] || fail "want 60 terminal outcomes, got $executed executed + $failed failed"
awk -F'\t' '$5 == 200 { ok[$1]++ } { n[$1]++ } END { for (i in n) if (n[i] > 4 || ok[i] > 1) bad = 1; exit bad }' \
    "$HOOK_LOG" || fail "an id called more than max_attempts times, or succeeded twice"
oks=$(awk -F'\t' '$5 == 200' "$HOOK_LOG" | wc -l)
[ "$oks" -eq "$executed" ] || fail "$oks successful calls for $executed executed outcomes"
[ "$(awk -F'\t' '$5 == 503' "$HOOK_LOG" | wc -l)" -eq 40 ] || fail "want 40 failed requests"
pass "40 x 503 then recovery: $executed executed, $failed failed, each success exactly once"
