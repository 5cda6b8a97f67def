# The body of the lock tests (sourced by test_rules_lock_<backend>.sh, which
# set STATE_BACKEND and STATE_URL first): three worker processes in one group
# share the locks of a lock rule in the state backend.
#   rule "per-account": verdict lock, key {payload.account}.
#   300 distinct actions over 5 accounts (60 each), produced once all three
#   workers hold partitions, so the three race for each account's lock.
# Checked from the webhook target's logs (check_lock_calls.py): exactly one
# call per action; per account no two calls overlap in time (arrival ..
# answer); the X-Acteon-Lock-Token of an account's calls only rises in
# arrival order; every message one terminal outcome (300 executed), each
# reply's details naming its lock; offsets committed at the end.
#
# With LOCK_KILL=1 (test_rules_lock_kill9_redis.sh): each worker calls its own
# path (/hook/w1, /hook/w2, /hook/w3), the webhook answers after 150-300 ms,
# locks and leases last 3 s; once w2 has a call in flight it is killed with
# SIGKILL and w3 started. Its locks then expire (nobody releases them) and
# the other workers go on: still no overlap per key (the lock outlives the
# call it covered), tokens still rising; an action may be called twice only
# if its earlier call was w2's (no done record was written for it).

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
LOCK_KILL=${LOCK_KILL:-0}
if [ "$LOCK_KILL" = 1 ]; then
    start_webhook --delay-ms 150-300 --peer-log "$T/hook.peer" --detail-log "$T/hook.detail"
    LEASE_MS=3000
    LOCK_TTL_MS=3000
else
    start_webhook --delay-ms 2-12 --peer-log "$T/hook.peer" --detail-log "$T/hook.detail"
    # Shorter than a third of the claim's lease (10 s): a round must start
    # its calls within a third of the lock's lease, not the claim's, or the
    # gate would refuse every call under the lock.
    LOCK_TTL_MS=2000
fi
MAX_IN_FLIGHT=400
EXTRA_CONFIG="rules = (
  { name = \"per-account\"; match = { provider = \"webhook\"; }; verdict = \"lock\";
    key = \"{payload.account}\"; lock_ttl_ms = $LOCK_TTL_MS; max_wait_ms = 170000; }
);"
BASE_URL=$HOOK_URL
for w in w1 w2 w3; do
    [ "$LOCK_KILL" = 1 ] && HOOK_URL="$BASE_URL/$w"
    write_config "$T/$w.conf"
done
cp "$T/w1.conf" "$T/worker.conf" # produce_file reads it
migrate_and_check "$T/worker.conf"

start_worker w1 "$T/w1.conf"; W1=$WORKER_PID
start_worker w2 "$T/w2.conf"; W2=$WORKER_PID
workers=(w1 w2)
if [ "$LOCK_KILL" != 1 ]; then
    start_worker w3 "$T/w3.conf"; W3=$WORKER_PID
    workers+=(w3)
fi
wait_for 60 "partitions at all the workers" workers_assigned "${workers[@]}"
python3 - "$T/actions.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(300):
        f.write(json.dumps({"id": f"lk-{i:04d}", "namespace": "it", "tenant": "acme",
                            "provider": "webhook", "action_type": "transfer",
                            "payload": {"account": f"acct-{i % 5}", "n": i}}) + "\n")
PY
produce_file "$T/actions.jsonl"
KILLED_ARGS=()
if [ "$LOCK_KILL" = 1 ]; then
    kill_in_call w2 "$W2"
    start_worker w3 "$T/w3.conf"; W3=$WORKER_PID
    KILLED_ARGS=(--killed /hook/w2)
fi
wait_for 180 "300 distinct replies" has_distinct_replies 300
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"

read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --executed 300 --deduplicated 0 \
    --rejected 0 --failed 0 <"$T/replies.jsonl" || fail "reply outcomes"
python3 "$AW_SOURCE_DIR/tests/integration/check_lock_calls.py" --actions "$T/actions.jsonl" \
    --key account --peer-log "$T/hook.peer" --detail-log "$T/hook.detail" \
    --replies "$T/replies.jsonl" "${KILLED_ARGS[@]}" || fail "lock calls"
if [ "$LOCK_KILL" = 1 ]; then
    pass "kill -9 of a lock holder on $STATE_BACKEND: its locks expired, the rest went on, no overlap per key, tokens rising"
else
    pass "3 workers on $STATE_BACKEND: 300 actions over 5 lock keys, no overlap per key, tokens rising"
    stop_worker "$W2"
fi
stop_worker "$W1"
stop_worker "$W3"
# How the work was shared (information, not a condition: the group decides).
for w in w1 w2 w3; do
    echo "$w: $(grep -o 'executed=[0-9]* .*' "$T/$w.log" | tail -1)"
done
