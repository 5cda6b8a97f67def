# The body of the delaying-throttle tests (sourced by
# test_rules_delay_<backend>.sh, which set STATE_BACKEND and STATE_URL
# first; docs/rules.md, on_limit = "delay"): three worker processes share
# one throttle counter and the due index in the state backend.
#   rule "delayer": 100 executions per 4 s window of {namespace}:{action_type}
#   (every action), the rest delayed to the next window.
#   350 distinct actions, produced at the start of a window: 100 execute at
#   once; 250 are answered `scheduled` (not_before = the next window's
#   start) and run from the due index, 100 per window, the ones over the
#   limit again put off once more without a second reply:
#   rules_delay_check.py then wants calls per window 100, 100, 100, 50, each
#   action called exactly once, never before its not_before, a `scheduled`
#   reply then exactly one execution reply (:run) for each delayed one.
# The actions are produced right after a window boundary (waiting for it is
# the experiment's set-up, not a synchronisation): every burst of calls
# then starts at a window's start and is over long before its end, so the
# arrival clock of the webhook sees the windows the workers counted in.

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
PEER_LOG="$T/hook.peer"
start_webhook --peer-log "$PEER_LOG"
WINDOW_S=4
TOTAL=350
EXTRA_CONFIG="schedule = { poll_ms = 100; };
rules = (
  { name = \"delayer\"; match = { provider = \"web*\"; }; verdict = \"throttle\";
    key = \"{namespace}:{action_type}\"; max_count = 100; window_s = $WINDOW_S;
    on_limit = \"delay\"; }
);"
write_config "$T/worker.conf"
migrate_and_check "$T/worker.conf"
# The group settled, not only joined: a rebalance after the actions are
# produced would stall the first window's burst and split it over two.
start_settled_group 8 "$T/worker.conf" w1 w2 w3
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total $TOTAL --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/batch.jsonl"
python3 -c "
import time
w = $WINDOW_S * 1000
time.sleep((w - int(time.time() * 1000) % w) / 1000 + 0.02)"
produce_file "$T/batch.jsonl"

replies_records() { read_topic "$REPLY_TOPIC" '%s\n' | python3 -c '
import json, sys
print(len({json.loads(l)["record_id"] for l in sys.stdin if l.strip()}))'; }
has_records() { [ "$(replies_records)" -ge "$1" ]; }
# 100 executed + 250 scheduled + 250 executions of them.
wait_for 60 "$TOTAL webhook calls" hook_calls_at_least $TOTAL
wait_for 60 "600 distinct replies" has_records 600
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"

read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/rules_delay_check.py" --ids "$T/ids.txt" \
    --replies "$T/replies.jsonl" --peer-log "$PEER_LOG" --max-count 100 --window-s $WINDOW_S \
    || fail "delaying throttle"
[ "$(count_topic "$DLQ_TOPIC")" -eq 0 ] || fail "DLQ copies: $(count_topic "$DLQ_TOPIC")"
pass "3 workers on $STATE_BACKEND: 100 executions per window, the rest delayed and executed once"
for pid in "${GROUP_PIDS[@]}"; do stop_worker "$pid"; done
# The rule's verdicts at each replica (information: the group shares the work).
for w in w1 w2 w3; do
    echo "$w: $(grep -o 'executed=[0-9]*' "$T/$w.log" | tail -1)"
done
