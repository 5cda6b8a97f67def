#!/usr/bin/env bash
# The clickhouse state backend through the real binary (a database of this
# run's own on the test ClickHouse):
#  - `migrate` applies the embedded sequence, a second run applies nothing;
#  - `config check` and `run` refuse it (no atomic compare-and-set) with a
#    message naming state.allow_eventual_consistency, exit 2 (run before
#    connecting to anything);
#  - with state.allow_eventual_consistency = true config check warns (and
#    refuses a lock rule, as run does, and notes that scheduled actions
#    will be rejected: no due-time index), run starts, logs a warning
#    that duplicates may execute, and (one worker, so no concurrent
#    duplicates) executes 180 distinct actions and deduplicates 20 repeats;
#  - the same with a webhook slower than a third of the lease, so the lease
#    keeper renews during every call and its renewals race the completes:
#    40 actions, then the same 40 again once all were answered, execute
#    exactly once (a renewal landing after the done record used to bring
#    the lease back, and the repeat ran when it expired).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_CLICKHOUSE_URL:-}" ] || {
    echo "SKIP: AW_TEST_CLICKHOUSE_URL not set (scripts/test.sh starts ClickHouse)"
    exit 77
}
CH_BASE=${AW_TEST_CLICKHOUSE_URL%%\?*}
CH_BASE=${CH_BASE%/}
DB="awit_${RUN_ID//-/_}"
ch() { curl -sf "$CH_BASE/" --data-binary "$1" >/dev/null; }
ch "CREATE DATABASE $DB" || fail "cannot create the database $DB"
CLEANUP_HOOKS+=("ch 'DROP DATABASE IF EXISTS $DB'")

start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook
STATE_BACKEND=clickhouse
STATE_URL="$CH_BASE/?database=$DB"
write_config "$T/refused.conf"

"$WORKER" migrate -c "$T/refused.conf" >"$T/migrate1.log" 2>&1 || fail "migrate: $(cat "$T/migrate1.log")"
grep -q "state backend clickhouse: 4 migration(s) applied" "$T/migrate1.log" \
    || fail "first migrate: $(cat "$T/migrate1.log")"
"$WORKER" migrate -c "$T/refused.conf" >"$T/migrate2.log" 2>&1 || fail "migrate again: $(cat "$T/migrate2.log")"
grep -q "state backend clickhouse: schema up to date, nothing to apply" "$T/migrate2.log" \
    || fail "second migrate: $(cat "$T/migrate2.log")"
pass "migrate applies 0001 to 0003, then nothing"

rc=0
"$WORKER" config check -c "$T/refused.conf" >"$T/check1.log" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q 'state.allow_eventual_consistency = true' "$T/check1.log" \
    || fail "config check without the flag: want exit 2 naming the key, got $rc: $(cat "$T/check1.log")"
pass "config check refuses clickhouse state without the flag, naming the key"

rc=0
timeout 60 "$WORKER" run -c "$T/refused.conf" >"$T/refused.log" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "run without the flag: want exit 2 (config), got $rc"
grep -q 'state.allow_eventual_consistency = true' "$T/refused.log" \
    || fail "refusal does not name the key: $(cat "$T/refused.log")"
pass "run refuses clickhouse state without state.allow_eventual_consistency (exit 2, key named)"

STATE_EXTRA="allow_eventual_consistency = true;"
write_config "$T/worker.conf"
"$WORKER" config check -c "$T/worker.conf" >"$T/check2.log" 2>&1 || fail "config check with the flag: $(cat "$T/check2.log")"
grep -q "warning: state backend clickhouse is eventually consistent" "$T/check2.log" \
    || fail "config check with the flag does not warn: $(cat "$T/check2.log")"
# A lock rule is refused even with the flag: a lock two replicas can both
# take excludes nothing (docs/rules.md, "lock").
cp "$T/worker.conf" "$T/lock.conf"
echo 'rules = ( { name = "one"; verdict = "lock"; key = "{tenant}"; } );' >>"$T/lock.conf"
rc=0
"$WORKER" config check -c "$T/lock.conf" >"$T/check3.log" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q 'rules\[0\].verdict: "lock" needs an atomic state backend' "$T/check3.log" \
    || fail "config check of a lock rule on clickhouse: want exit 2 naming the rule, got $rc: $(cat "$T/check3.log")"
rc=0
timeout 60 "$WORKER" run -c "$T/lock.conf" >"$T/lock-run.log" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q '"lock" needs an atomic state backend' "$T/lock-run.log" \
    || fail "run with a lock rule on clickhouse: want exit 2, got $rc: $(cat "$T/lock-run.log")"
pass "a lock rule on clickhouse state is refused by config check and run, even with the flag"
grep -q "note: actions with a future not_before will be rejected: the state backend has no due-time index" \
    "$T/check2.log" || fail "config check does not note that scheduling is unavailable: $(cat "$T/check2.log")"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 200 --dups 20 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker worker "$T/worker.conf"
wait_for 30 "the eventual-consistency warning" \
    grep -q "state backend clickhouse is eventually consistent: duplicates may execute" "$T/worker.log"
wait_for 30 "the note that scheduled actions are rejected" \
    grep -q "scheduled actions (not_before) are rejected: the state backend has no due-time index" \
    "$T/worker.log"
pass "with the flag the worker starts and warns (and says scheduled actions are rejected)"
wait_for 120 "200 replies" topic_has "$REPLY_TOPIC" 200
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
check_exact_run 180 20 0
pass "one worker: 180 executed, 20 deduplicated, one webhook call per id"

# Slow calls: renewals in flight while the done records are written.
stop_webhook
restart_webhook --delay-ms 1100
LEASE_MS=3000 write_config "$T/slow.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 40 --dups 0 --bad 0 \
    --ids "$T/slow-ids.txt" | sed 's/"id": "act-/"id": "slow-/' >"$T/slow.jsonl"
grep -q '"id": "slow-00039"' "$T/slow.jsonl" || fail "slow actions not renamed"
produce_file "$T/slow.jsonl"
start_worker slow "$T/slow.conf"
wait_for 60 "240 replies" topic_has "$REPLY_TOPIC" 240
produce_file "$T/slow.jsonl"
wait_for 60 "280 replies" topic_has "$REPLY_TOPIC" 280
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
check_exact_run 220 60 0
pass "slow calls (renewed leases), repeated once answered: 40 executed once, 40 deduplicated"
