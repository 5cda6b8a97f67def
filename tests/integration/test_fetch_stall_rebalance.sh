#!/usr/bin/env bash
# The fetch-stall watchdog must not take a scale-out for a stall. A second
# worker joins while the first has a backlog: the first loses partitions
# whose lag librdkafka's statistics keep reporting for good (high watermark
# and committed offset frozen at the revoke). Once everything is drained the
# first worker is idle with lag > 0 in its statistics, but none of it on a
# partition it owns: the watchdog must look, find no lag of its own and
# leave the fetch alone. Three brokers, so the partition leaders (and
# fetchers) are spread as on a real cluster. Mock cluster only: the
# statistics of a revoked partition on a real broker depend on timing we do
# not control here.
export AW_KAFKA=mock
export MOCK_BROKERS=${MOCK_BROKERS:-3}
source "$(dirname "$0")/lib.sh"
start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook
# Frequent statistics and a short threshold, so the watchdog looks several
# times within the bounded waits below; a small window keeps a backlog.
KAFKA_PROPERTIES='"statistics.interval.ms=500"'
KAFKA_EXTRA="fetch_stall_ms = 2000;"
MAX_IN_FLIGHT=200
LOG_LEVEL=debug
EXTRA_CONFIG='http = { listen = "127.0.0.1:0"; };'
write_config "$T/worker.conf"
N=20000
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total $N --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker w1 "$T/worker.conf"
W1=$WORKER_PID
wait_for 120 "1000 replies" topic_has "$REPLY_TOPIC" 1000
start_worker w2 "$T/worker.conf"
W2=$WORKER_PID
wait_for 60 "the rebalance" grep -q "assigned 4 partition(s), 4 in total" "$T/w2.log"
wait_for 300 "$N replies" topic_has "$REPLY_TOPIC" $N
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
pass "two workers drained $N actions across a rebalance"

# Each worker's watchdog must have looked at its idle consumer, with its
# four partitions: it either found no lag of its own (logged once per idle
# stretch) or restarted the fetch, which fails below (what w1 did before
# the watchdog ignored the lag of partitions it had lost).
looked() {
    grep -qE "fetch-stall watchdog: idle for .* no lag on the 4 assigned|restarted the fetch" "$1"
}
for w in w1 w2; do
    wait_for 60 "$w's watchdog looking at the idle consumer" looked "$T/$w.log"
    if grep -q "restarted the fetch" "$T/$w.log"; then
        grep "restarted the fetch" "$T/$w.log" >&2
        fail "$w: the fetch-stall watchdog fired although nothing stalled"
    fi
done

# The precondition, read after that look (the statistics are refreshed
# every 0.5 s, commits every 1 s): w1's statistics still report lag,
# necessarily on a partition it lost, or this test proves nothing.
stale_lag() {
    local url
    url=$(metrics_url "$T/w1.log")
    [ -n "$url" ] && curl -fsS "$url" >"$T/w1.metrics" 2>/dev/null || return 1
    awk '/^acteon_consumer_lag/ && $2 > 0 { found = 1 } END { exit !found }' "$T/w1.metrics"
}
# Whether a lost partition keeps a lag depends on where its consumption
# stood at the revoke (one in progress: committed, not finished), which
# the test does not control: without it nothing was exercised, so skip.
deadline=$((SECONDS + 10))
until stale_lag; do
    if [ $SECONDS -ge $deadline ]; then
        echo "SKIP: w1 reports no lag for a partition it lost: the case was not exercised"
        exit 77
    fi
    sleep 0.2
done
grep "^acteon_consumer_lag" "$T/w1.metrics"
! grep -q "restarted the fetch" "$T/w1.log" "$T/w2.log" \
    || fail "the fetch-stall watchdog fired later: $(grep -h "restarted the fetch" "$T"/w?.log)"
pass "the watchdog looked at both idle workers and never had to restart a fetch"

stop_worker "$W1"
stop_worker "$W2"
# One reply per action. The webhook may have seen an action twice: work
# abandoned in the rebalance is redelivered to the new owner, and the
# memory state backend dedups only within one worker.
read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --executed $N --deduplicated 0 \
    --rejected 0 <"$T/replies.jsonl" || fail "reply outcomes"
distinct=$(cut -f1 "$HOOK_LOG" | sort -u | wc -l)
[ "$distinct" -eq $N ] || fail "webhook: want all $N ids called, got $distinct"
pass "every one of the $N actions executed and replied to"
