# The body of the throttle tests (sourced by test_rules_throttle_<backend>.sh,
# which set STATE_BACKEND and STATE_URL first): three worker processes in one
# group share one throttle counter in the state backend.
#   rules: "one-off" suppresses the action whose metadata seq is "7";
#          "hundred" allows 100 executions per window of {namespace}:{action_type}
#          (every other action), the rest throttled.
#   600 distinct actions -> exactly 100 webhook calls (100 distinct ids),
#   1 suppressed, 499 throttled, each message exactly one terminal outcome,
#   offsets committed at the end.
# The window is a year (window_s = 31536000, fixed windows aligned on the
# epoch) so the run is inside one window: checked by the window index at
# the start and the end, so a run that straddles a boundary fails loudly
# rather than passing with 200 calls.

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 2
WINDOW_S=31536000
MAX_IN_FLIGHT=200
EXTRA_CONFIG="rules = (
  { name = \"one-off\"; match = { metadata = { seq = \"7\"; }; }; verdict = \"suppress\"; },
  { name = \"hundred\"; match = { provider = \"web*\"; }; verdict = \"throttle\";
    key = \"{namespace}:{action_type}\"; max_count = 100; window_s = $WINDOW_S; }
);"
write_config "$T/worker.conf"
migrate_and_check "$T/worker.conf"

window_now() { python3 -c "import time; print(int(time.time() * 1000) // ($WINDOW_S * 1000))"; }
W_START=$(window_now)

# The workers first, the actions once all three hold partitions: the three
# then count on the shared counter at the same time.
start_settled_group 8 "$T/worker.conf" w1 w2 w3
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 600 --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/batch.jsonl"
produce_file "$T/batch.jsonl"
wait_for 180 "600 distinct replies" has_distinct_replies 600
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
[ "$(window_now)" = "$W_START" ] || fail "the run straddled a window boundary: rerun"

read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --executed 100 --deduplicated 0 \
    --rejected 0 --failed 0 --suppressed 1 --throttled 499 <"$T/replies.jsonl" \
    || fail "reply outcomes"
calls=$(wc -l <"$HOOK_LOG")
distinct=$(cut -f1 "$HOOK_LOG" | sort -u | wc -l)
[ "$calls" -eq 100 ] && [ "$distinct" -eq 100 ] \
    || fail "want exactly 100 webhook calls for 100 ids in the window, got $calls for $distinct"
grep -q '"rule":"one-off"' "$T/replies.jsonl" || fail "no reply names the suppress rule"
grep -q '"rule":"hundred","key":"it:notify","max_count":100' "$T/replies.jsonl" \
    || fail "no throttled reply with the rule's details"
pass "3 workers on $STATE_BACKEND: exactly 100 executions in the window, 1 suppressed, 499 throttled"
# The rule whose verdict applied is a member of every reply of its own:
# the suppress rule, and the throttle rule whether it throttled or counted
# the action and let it through.
python3 - "$T/replies.jsonl" <<'PY' || fail "the replies' rule member"
import collections, json, sys
# One per message: a message processed again after a rebalance (its done
# record written, its offset not yet committed) is replied again, the same.
by_record = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    k = (r["outcome"], r.get("rule"))
    if by_record.setdefault(r["record_id"], k) != k:
        sys.exit(f"{r['record_id']}: replied {by_record[r['record_id']]} and {k}")
seen = collections.Counter(by_record.values())
want = {("suppressed", "one-off"): 1, ("throttled", "hundred"): 499, ("executed", "hundred"): 100}
if dict(seen) != want:
    sys.exit(f"(outcome, rule) counts: got {dict(seen)}, want {want}")
PY
if [ "${AUDIT_BACKEND:-memory}" != memory ]; then
    # Only this run's records (the audit database may be shared): by topic.
    audit_count() {
        "$WORKER" --log-level warn audit search -c "$T/worker.conf" --all "$@" \
            | grep -cF "\"record_id\":\"$ACTIONS_TOPIC:" || true
    }
    # Offsets are committed only after the records are durable: no wait.
    got="$(audit_count --rule one-off) $(audit_count --rule one-off --outcome suppressed)"
    got+=" $(audit_count --rule hundred) $(audit_count --rule hundred --outcome throttled)"
    got+=" $(audit_count --rule hundred --outcome executed) $(audit_count --rule hund)"
    got+=" $(audit_count --outcome suppressed) $(audit_count --outcome throttled)"
    [ "$got" = "1 1 599 499 100 0 1 499" ] \
        || fail "audit search --rule/--outcome counts: got \"$got\", want \"1 1 599 499 100 0 1 499\""
    "$WORKER" --log-level warn audit search -c "$T/worker.conf" --rule one-off --format table \
        >"$T/table.txt" || fail "audit search --format table"
    grep -E "suppressed .* one-off +$ACTIONS_TOPIC:" "$T/table.txt" >/dev/null \
        || fail "the table shows no rule: $(cat "$T/table.txt")"
    pass "audit ($AUDIT_BACKEND): --rule finds 1 suppressed, 499 throttled, 100 executed"
fi
for pid in "${GROUP_PIDS[@]}"; do stop_worker "$pid"; done
# How the work was shared (information, not a condition: the group decides).
for w in w1 w2 w3; do
    echo "$w: $(grep -o 'executed=[0-9]* .*throttled=[0-9]*' "$T/$w.log" | tail -1)"
done
