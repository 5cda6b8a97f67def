#!/usr/bin/env bash
# The webhook target misbehaves; every message still gets one terminal
# outcome and no action succeeds twice.
#  1. slow beyond the lease: every call takes 1.5 s with a 1 s lease (the
#     lease keeper renews it while the call runs): one call per id, no
#     takeover, no second fencing token;
#  2. failing: the first 40 requests answer 503, then it recovers: retries
#     with backoff (max_attempts 4) turn most into executed; an id is called
#     at most 4 times, succeeds at most once, and every message ends
#     executed or failed (never both, never missing);
#  3. refusing connections (stopped), then back on the same port: see the
#     phase below.
source "$(dirname "$0")/lib.sh"
# Phase 2 gets topics and a group of its own; the mock cluster makes every
# topic at its start.
A2="$ACTIONS_TOPIC.2"; R2="$REPLY_TOPIC.2"; G2="$GROUP.2"
A3="$ACTIONS_TOPIC.3"; R3="$REPLY_TOPIC.3"; G3="$GROUP.3"
start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1" "$A2:4" "$R2:4" "$A3:4" "$R3:4"

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

# ---- 3. connections refused, then the target comes back on the same port
# (fresh topics). max_attempts 3 with a 200..400 ms backoff: an action
# whose three attempts all fall in the outage fails ("connect"), one still
# retrying when the target is back succeeds on a later attempt. Two
# outages: a short one (back as soon as a refused call was retried: some
# actions succeed on a later attempt) and a long one (until at least 6
# actions have failed). Outcomes are counted per batch, when its last
# attempts are done, hence two outages rather than one. Expected exactly: every
# message ends executed or failed, never both, never missing; the target
# logged one call per executed id (the one that succeeded, with the attempt
# number the reply reports) and none for a failed id; every failure used
# its 3 attempts on refused connections.
ACTIONS_TOPIC=$A3; REPLY_TOPIC=$R3; GROUP=$G3
# 4 threads, one call at a time each: about 80 calls/s, the run outlasts the stops
start_webhook --delay-ms 50
WEBHOOK_MAX_ATTEMPTS=3 WEBHOOK_BACKOFF_MS=200 WEBHOOK_BACKOFF_MAX_MS=400
WEBHOOK_EXTRA="max_concurrency = 1;"
EXTRA_CONFIG='http = { listen = "127.0.0.1:0"; };'
write_config "$T/worker.conf"
cp "$T/worker.conf" "$T/worker3.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 400 --dups 0 --bad 0 --seed 12 \
    --ids "$T/ids3.txt" >"$T/actions3.jsonl"
produce_file "$T/actions3.jsonl"
start_worker worker3 "$T/worker3.conf"
metric_at_least() { # metric_at_least NAME N
    local url
    url=$(metrics_url "$T/worker3.log")
    [ -n "$url" ] && curl -sf "$url" >"$T/metrics3.txt" &&
        [ "$(metric "$1" "$T/metrics3.txt")" -ge "$2" ]
}
# 3a. a short outage: back as soon as the worker has retried a refused call,
# so actions still inside their attempts succeed on a later one.
wait_for 60 "the first 20 calls" hook_calls_at_least 20
stop_webhook
wait_for 60 "a retried refused call" metric_at_least 'acteon_retries_total{target="provider"}' 1
restart_webhook --delay-ms 50
# 3b. a long outage: until at least 6 actions used all their attempts.
calls_then=$(wc -l <"$HOOK_LOG")
wait_for 60 "100 more calls" hook_calls_at_least $((calls_then + 100))
stop_webhook
wait_for 60 "6 actions failed on refused connections" \
    metric_at_least 'acteon_outcomes_total{outcome="failed"}' 6
restart_webhook --delay-ms 50
wait_for 120 "400 replies" topic_has "$REPLY_TOPIC" 400
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies3.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --summary <"$T/replies3.jsonl" \
    >"$T/summary3.txt" || fail "reply outcomes: $(cat "$T/summary3.txt")"
python3 - "$T/replies3.jsonl" "$HOOK_LOG" "$T/ids3.txt" <<'PY' || fail "refused connections, then recovery"
import json, sys
replies = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
calls = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
ids = {l.strip() for l in open(sys.argv[3]) if l.strip()}
by_src = {}
for r in replies:
    s = r["source"]
    by_src[(s["partition"], s["offset"])] = r  # check_replies: one outcome per source
assert len(by_src) == 400, f"{len(by_src)} messages with a reply, want 400"
outcome = {r["action_id"]: r for r in by_src.values()}
assert set(outcome) == ids, "replies do not cover exactly the produced ids"
executed = {i for i, r in outcome.items() if r["outcome"] == "executed"}
failed = {i for i, r in outcome.items() if r["outcome"] == "failed"}
assert len(executed) + len(failed) == 400, "an outcome other than executed or failed"
call_ids = [c[0] for c in calls]
assert all(c[4] == "200" for c in calls), "the target answered something other than 200"
assert len(call_ids) == len(set(call_ids)), "an id was called (and succeeded) twice"
assert set(call_ids) == executed, (f"called ids != executed ids: {len(set(call_ids) - executed)} "
                                   f"called not executed, {len(executed - set(call_ids))} executed not called")
for c in calls:
    assert int(c[3]) == outcome[c[0]]["attempts"], f"{c[0]}: call attempt {c[3]}, reply {outcome[c[0]]['attempts']}"
for i in failed:
    r = outcome[i]
    assert r["attempts"] == 3 and r["details"].get("error_code") == "connect", f"failed {i}: {r}"
late = sum(1 for c in calls if int(c[3]) > 1)
assert len(failed) >= 6 and late >= 1, f"{len(failed)} failed, {late} succeeded after a retry"
print(f"{len(executed)} executed ({late} on a later attempt), {len(failed)} failed after 3 refused attempts")
PY
pass "connections refused, then the target back on its port: each message executed or failed, one call per executed id, failures after 3 attempts"
