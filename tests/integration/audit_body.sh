# The audit trail acceptance run, shared by test_audit_<backend>.sh (sourced
# after lib.sh; the caller sets AUDIT_BACKEND and AUDIT_URL and defines
# audit_wipe, which empties the audit store so that `migrate` recreates it).
# State lives in the test Redis, so that a second worker process remembers
# what the first one executed.
#
#  1. 2,000 actions (200 repeating an id, 20 malformed) through the worker:
#     the store holds exactly one record per message (1,780 executed, 200
#     deduplicated, 20 rejected), each record id once;
#  2. `audit search` paged 37 at a time matches --all row for row, and a
#     filter returns exactly the matching records;
#  3. the store is wiped, `replay` of the reply and DLQ topics rebuilds the
#     same records (the payload aside, which replies never carry);
#  4. a second replay adds nothing and changes nothing;
#  5. the action topic consumed again by a fresh consumer group executes
#     nothing again (dedup) and adds no record.
: "${AUDIT_BACKEND:?}" "${AUDIT_URL:?}"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL is not set"; exit 77; }
STATE_BACKEND=redis
STATE_URL=$AW_TEST_REDIS_URL
AUDIT_EXTRA="batch_size = 300; flush_interval_ms = 20;"
CHECK="python3 $AW_SOURCE_DIR/tests/integration/audit_check.py"

start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook
write_config "$T/worker.conf"
"$WORKER" migrate -c "$T/worker.conf" >"$T/migrate.log" 2>&1 || fail "migrate: $(cat "$T/migrate.log")"

python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 2000 --dups 200 --bad 20 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
t0=$(date +%s.%N)
start_worker worker "$T/worker.conf"
# 8 of the malformed lines carry a readable id: they get a reply as well.
wait_for 180 "1988 replies" topic_has "$REPLY_TOPIC" 1988
wait_for 60 "20 DLQ messages" topic_has "$DLQ_TOPIC" 20
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
t1=$(date +%s.%N)
stop_worker "$WORKER_PID"
echo "2000 messages through the worker with audit on $AUDIT_BACKEND in $(echo "$t1 - $t0" | bc) s"

search_all() {
    "$WORKER" audit search -c "$T/worker.conf" --all >"$1" 2>"$T/search.err" \
        || fail "audit search: $(cat "$T/search.err")"
}
read_topic "$ACTIONS_TOPIC" '%t:%p:%o\n' >"$T/record_ids.txt"
search_all "$T/audit1.jsonl"
$CHECK exact "$T/record_ids.txt" "$T/audit1.jsonl" --executed 1780 --deduplicated 200 \
    --rejected 20 || fail "audit trail after the run"
check_exact_run 1780 200 8
pass "exactly one audit record per message, outcomes as executed"

# ---- paging and filters
: >"$T/pages.jsonl"
cursor=""
pages=0
while :; do
    "$WORKER" audit search -c "$T/worker.conf" --limit 37 ${cursor:+--cursor "$cursor"} \
        >"$T/page.jsonl" 2>"$T/search.err" || fail "audit search page: $(cat "$T/search.err")"
    head -n -1 "$T/page.jsonl" >>"$T/pages.jsonl"
    cursor=$(tail -n 1 "$T/page.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"] or "")')
    pages=$((pages + 1))
    [ -n "$cursor" ] || break
    [ "$pages" -lt 200 ] || fail "paging does not end"
done
[ "$pages" -eq 55 ] || fail "2000 records in pages of 37: want 55 pages, got $pages"
$CHECK order "$T/audit1.jsonl" "$T/pages.jsonl" || fail "paged search"
want=$($CHECK count "$T/audit1.jsonl" tenant=globex outcome=executed)
"$WORKER" audit search -c "$T/worker.conf" --all --tenant globex --outcome executed \
    >"$T/filtered.jsonl" || fail "filtered search"
got=$(($(wc -l <"$T/filtered.jsonl") - 1))
[ "$want" -gt 0 ] && [ "$got" -eq "$want" ] || fail "filter tenant+outcome: want $want, got $got"
"$WORKER" audit search -c "$T/worker.conf" --format table --limit 5 >"$T/table.txt" \
    || fail "table format"
[ "$(wc -l <"$T/table.txt")" -eq 7 ] && grep -q '^next cursor: ' "$T/table.txt" \
    || fail "table format: $(cat "$T/table.txt")"
pass "paged search: 55 pages, no gap, no repeat; filters exact; table format"

# ---- wipe and replay
audit_wipe
"$WORKER" migrate -c "$T/worker.conf" >>"$T/migrate.log" 2>&1 || fail "migrate after wipe"
search_all "$T/empty.jsonl"
[ "$(wc -l <"$T/empty.jsonl")" -eq 1 ] || fail "the audit store is not empty after the wipe"
t0=$(date +%s.%N)
"$WORKER" replay -c "$T/worker.conf" --no-progress >"$T/replay1.out" 2>"$T/replay1.log" \
    || fail "replay: $(cat "$T/replay1.out" "$T/replay1.log")"
t1=$(date +%s.%N)
cat "$T/replay1.out"
grep -q "2008 message(s) read, 2008 record(s) written, 2000 new, 8 already present, 0 skipped" \
    "$T/replay1.out" || fail "first replay summary"
search_all "$T/audit2.jsonl"
$CHECK same "$T/audit1.jsonl" "$T/audit2.jsonl" --ignore payload || fail "replayed trail"
pass "wiped and replayed: the same 2000 records in $(echo "$t1 - $t0" | bc) s"

"$WORKER" replay -c "$T/worker.conf" --no-progress >"$T/replay2.out" 2>"$T/replay2.log" \
    || fail "second replay: $(cat "$T/replay2.out" "$T/replay2.log")"
grep -q " 0 new, 2008 already present" "$T/replay2.out" || fail "second replay: $(cat "$T/replay2.out")"
search_all "$T/audit3.jsonl"
$CHECK same "$T/audit2.jsonl" "$T/audit3.jsonl" || fail "second replay changed the trail"
pass "a second replay adds and changes nothing"

# ---- the action topic again, through a fresh consumer group
sed "s/group_id = \"$GROUP\"/group_id = \"$GROUP-again\"/" "$T/worker.conf" >"$T/again.conf"
start_worker again "$T/again.conf"
wait_for 120 "the action topic consumed again" committed_at_end "$GROUP-again" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
calls=$(wc -l <"$HOOK_LOG")
[ "$calls" -eq 1780 ] || fail "re-consuming the actions called the webhook again: $calls calls"
search_all "$T/audit4.jsonl"
$CHECK same "$T/audit3.jsonl" "$T/audit4.jsonl" || fail "re-consuming the actions changed the trail"
pass "re-consuming the action topic with a fresh group executes nothing and adds no record"
