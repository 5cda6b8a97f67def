# The body of the scale-out tests (sourced by test_scaleout_<backend>.sh,
# which set STATE_BACKEND and STATE_URL first).

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 2
# A backend test may ask for a longer lease (a slow test server).
LEASE_MS=${SCALEOUT_LEASE_MS:-3000}
MAX_IN_FLIGHT=200
EXTRA_CONFIG=""
write_config "$T/worker.conf"
# The schema comes from `migrate`, as a deploy job runs it, for every
# backend (a no-op for those without a schema, e.g. Redis).
"$WORKER" --log-level warn migrate -c "$T/worker.conf" >"$T/migrate.log" 2>&1 \
    || fail "migrate: $(cat "$T/migrate.log")"

distinct_replies() { read_topic "$REPLY_TOPIC" '%s\n' | python3 -c '
import json, sys
print(len({(r["source"]["partition"], r["source"]["offset"]) for r in map(json.loads, filter(str.strip, sys.stdin))}))'; }
has_distinct_replies() { [ "$(distinct_replies)" -ge "$1" ]; }

# ---- 1. three workers, one group --------------------------------------------
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 2000 --dups 200 --bad 0 \
    --ids "$T/ids1.txt" >"$T/batch1.jsonl"
produce_file "$T/batch1.jsonl"
start_worker w1 "$T/worker.conf"; W1=$WORKER_PID
start_worker w2 "$T/worker.conf"; W2=$WORKER_PID
start_worker w3 "$T/worker.conf"; W3=$WORKER_PID
wait_for 180 "2000 distinct replies" has_distinct_replies 2000
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies1.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --executed 1800 --deduplicated 200 \
    <"$T/replies1.jsonl" || fail "reply outcomes"
calls=$(wc -l <"$HOOK_LOG")
distinct=$(cut -f1 "$HOOK_LOG" | sort -u | wc -l)
[ "$calls" -eq 1800 ] && [ "$distinct" -eq 1800 ] \
    || fail "3 workers: want 1800 calls for 1800 ids, got $calls for $distinct"
for w in w1 w2 w3; do
    grep -q "assigned" "$T/$w.log" || fail "$w never got partitions"
done
pass "3 workers: every distinct action executed exactly once"

# ---- 2. SIGTERM one of them mid-run, start a replacement: exactly once ----
: >"$HOOK_LOG"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 1500 --dups 150 --bad 0 \
    --seed 3 --ids "$T/ids_g.txt" >"$T/batch_g.jsonl"
sed -i 's/"act-/"term-/' "$T/batch_g.jsonl"
sed -i 's/^act-/term-/' "$T/ids_g.txt"
produce_file "$T/batch_g.jsonl"
wait_for 60 "some calls of the graceful batch" hook_calls_at_least 200
stop_worker "$W2"
start_worker w4 "$T/worker.conf"; W2=$WORKER_PID
wait_for 240 "3500 distinct replies" has_distinct_replies 3500
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
calls=$(wc -l <"$HOOK_LOG")
distinct=$(cut -f1 "$HOOK_LOG" | sort -u | wc -l)
[ "$calls" -eq 1350 ] && [ "$distinct" -eq 1350 ] \
    || fail "SIGTERM + replacement: want 1350 calls for 1350 ids, got $calls for $distinct"
pass "SIGTERM one worker, start a replacement: every action executed exactly once"

# ---- 3. kill -9 one of them mid-run, start a replacement -------------------
: >"$HOOK_LOG"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 1500 --dups 0 --bad 0 \
    --seed 5 --ids "$T/ids2.txt" >"$T/batch2.jsonl"
sed -i 's/"act-/"kill-/' "$T/batch2.jsonl"
sed -i 's/^act-/kill-/' "$T/ids2.txt"
produce_file "$T/batch2.jsonl"
wait_for 60 "some calls of the second batch" hook_calls_at_least 200
kill -KILL "$W2"
wait "$W2" 2>/dev/null || true
start_worker w5 "$T/worker.conf"; W2=$WORKER_PID
wait_for 240 "5000 distinct replies" has_distinct_replies 5000
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
missing=$(cut -f1 "$HOOK_LOG" | sort -u | comm -13 - <(sort "$T/ids2.txt") | wc -l)
[ "$missing" -eq 0 ] || fail "after kill -9: $missing action(s) never executed"
# Every repeated call of one id carries a strictly higher fencing token.
python3 - "$HOOK_LOG" <<'PY' || fail "a repeated call without a higher fencing token"
import sys
seen = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    aid, token = f[0], int(f[1])
    seen.setdefault(aid, []).append(token)
again = {a: t for a, t in seen.items() if len(t) > 1}
for a, t in again.items():
    if any(t[i] >= t[i + 1] for i in range(len(t) - 1)):
        sys.exit(f"{a}: tokens {t}")
print(f"{len(again)} action(s) called again after the kill, each with a higher token")
# Only calls the killed worker had made and not yet recorded can repeat: at
# most one execution round per thread, that is its 4 threads x the webhook's
# max_concurrency (64 calls in flight each); done records are written after
# every round.
if len(again) > 4 * 64:
    sys.exit(f"{len(again)} repeats: done records are not written promptly")
PY
pass "kill -9: nothing lost; repeats only with higher fencing tokens"
stop_worker "$W1"
stop_worker "$W2"
stop_worker "$W3"
