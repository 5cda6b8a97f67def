#!/usr/bin/env bash
# A worker that lost partitions with a backlog in a scale-out. librdkafka's
# statistics keep reporting a partition its consumer lost with the high
# watermark and committed offset of the moment it stopped fetching and
# committing it: a lag > 0 for good on that worker, whatever the new owner
# does. Two things must ignore that frozen lag:
#  - the fetch-stall watchdog: the idle worker has no lag of its own and must
#    leave the fetch alone (it used to "restart" it after every scale-out);
#  - /metrics: acteon_consumer_lag has series for the partitions a worker
#    owns now, none for those it lost.
# The case is made to happen every run, with no timing of ours:
#  1. w1 alone drains a first round: every partition committed to its end;
#  2. a second round comes while the webhook answers every call of it with
#     500 (retried): w1 takes all of it in (/metrics: all of it in flight, a
#     lag on all 8 partitions) and can finish none of it;
#  3. w2 joins: w1's revoke gives up on the held work after
#     workers.rebalance_timeout_ms and has nothing new to commit, so each
#     partition it lost keeps the lag of its second round in w1's statistics;
#  4. the webhook answers again, and both workers drain everything.
# Three brokers, so the partition leaders (and fetchers) are spread as on a
# real cluster; mock cluster only (tests/CMakeLists.txt).
export AW_KAFKA=mock
export MOCK_BROKERS=${MOCK_BROKERS:-3}
source "$(dirname "$0")/lib.sh"
start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
GATE="$T/gate.ids" # the ids the webhook answers with 500 (read per request)
: >"$GATE"
start_webhook --fail-ids-file "$GATE"
# Frequent statistics and a short threshold, so the watchdog looks soon
# after the drain.
KAFKA_PROPERTIES='"statistics.interval.ms=500"'
KAFKA_EXTRA="fetch_stall_ms = 3000;"
# Room for the whole second round in flight: w1 never pauses, so it fetches
# every partition of it.
MAX_IN_FLIGHT=2000
# w1's revoke gives the held work up after 2 s, well within the 5 s the mock
# group waits for its members to rejoin (a longer wait gets w1 evicted).
WORKERS_EXTRA="rebalance_timeout_ms = 2000;"
# A held call is retried for more than 90 s before it would fail, far longer
# than the bounded waits below keep the gate closed.
WEBHOOK_MAX_ATTEMPTS=100
WEBHOOK_BACKOFF_MS=20
WEBHOOK_BACKOFF_MAX_MS=1000
LOG_LEVEL=debug
EXTRA_CONFIG='http = { listen = "127.0.0.1:0"; };'
write_config "$T/worker.conf"
N=1200
N1=800
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total $N --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
head -n $N1 "$T/actions.jsonl" >"$T/round1.jsonl"
tail -n +$((N1 + 1)) "$T/actions.jsonl" >"$T/round2.jsonl"
python3 -c 'import json, sys; [print(json.loads(l)["id"]) for l in sys.stdin]' \
    <"$T/round2.jsonl" >"$T/round2.ids"

# scrape W: W's /metrics into $T/W.metrics.
scrape() {
    local url
    url=$(metrics_url "$T/$1.log")
    [ -n "$url" ] && curl -fsS "$url" >"$T/$1.metrics" 2>/dev/null
}
# lag_series W: "PARTITION LAG" per acteon_consumer_lag series of the last scrape.
lag_series() {
    sed -n 's/^acteon_consumer_lag{topic="[^"]*",partition="\([0-9]*\)"} \(-\{0,1\}[0-9]*\)$/\1 \2/p' \
        "$T/$1.metrics"
}
# partitions_lagging W N: W's /metrics shows a lag > 0 on N partitions.
partitions_lagging() { scrape "$1" && [ "$(lag_series "$1" | awk '$2 > 0' | wc -l)" -eq "$2" ]; }
# holding W N: W has N messages in flight (consumed, not finished).
holding() { scrape "$1" && [ "$(metric acteon_in_flight "$T/$1.metrics")" = "$2" ]; }
# owns W N: W's /metrics says N partitions are assigned to it.
owns() { scrape "$1" && [ "$(metric acteon_assigned_partitions "$T/$1.metrics")" = "$2" ]; }
split_evenly() { owns w1 4 && owns w2 4; }

# 1. w1 alone, the first round committed to the end of every partition.
produce_file "$T/round1.jsonl"
mv "$T/produce.log" "$T/produce1.log"
start_worker w1 "$T/worker.conf"
W1=$WORKER_PID
wait_for 60 "the first round committed" committed_at_end "$GROUP" "$ACTIONS_TOPIC"

# 2. The second round, held at the webhook: all of it in w1's hands (a lag
# in the statistics alone does not say w1 polled it yet), and its statistics
# know the new end of every partition.
cp "$T/round2.ids" "$GATE"
produce_file "$T/round2.jsonl"
wait_for 60 "w1 holding the whole second round" holding w1 $((N - N1))
wait_for 60 "w1's statistics: a lag on all 8 partitions" partitions_lagging w1 8

# 3. The scale-out.
start_worker w2 "$T/worker.conf"
W2=$WORKER_PID
wait_for 60 "the rebalance (4 partitions each)" split_evenly
grep -q "rebalance: abandoning [1-9][0-9]* in-flight message(s)" "$T/w1.log" \
    || fail "w1's revoke did not give up on held work: the second round was not held"
pass "w1 lost 4 partitions while holding their second round"

# 4. The webhook answers again.
: >"$GATE"
wait_for 120 "$N distinct replies" has_distinct_replies $N
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
pass "two workers drained $N actions across a rebalance"

# Each worker's watchdog must look at its idle consumer and find no lag on
# its 4 partitions (logged once per idle stretch), or restart the fetch,
# which fails below (what w1 did before the watchdog ignored the lag of the
# partitions it had lost).
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
# The case exercised: w1's look saw the frozen lag of the partitions it lost
# and ignored it.
ignored=$(grep -E "fetch-stall watchdog: idle for .* no lag on the 4 assigned" "$T/w1.log" |
    grep -E "ignored a lag of [1-9][0-9]* on [1-9][0-9]* partition" | head -1)
[ -n "$ignored" ] || fail "w1's watchdog saw no lag on partitions it lost: $(grep -E \
    "fetch-stall watchdog: idle for" "$T/w1.log" | tail -1)"
echo "w1: ${ignored#*\[runtime\] }"
pass "the watchdog looked at both idle workers, ignored w1's lost partitions and restarted no fetch"

# /metrics: each worker exports the lag of the 4 partitions it owns, none of
# the 4 it does not (w1's statistics still carry their frozen lag, above).
scrape w1 || fail "w1's /metrics"
scrape w2 || fail "w2's /metrics"
for w in w1 w2; do
    lag_series $w | sed "s/^/$w: partition /"
    [ "$(lag_series $w | wc -l)" -eq 4 ] || fail "$w: want the lag of its 4 partitions"
    [ "$(lag_series $w | awk '$2 != 0' | wc -l)" -eq 0 ] || fail "$w: lag left after the drain"
done
[ "$( (lag_series w1; lag_series w2) | cut -d' ' -f1 | sort -u | wc -l)" -eq 8 ] \
    || fail "the two workers export the lag of the same partition"
pass "/metrics: each worker exports the lag of its own partitions only"

stop_worker "$W1"
stop_worker "$W2"
# One reply per action. The webhook may have been called twice for an
# action: work w1 gave up in the rebalance is redelivered to the new owner,
# and the memory state backend dedups only within one worker.
read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --executed $N --deduplicated 0 \
    --rejected 0 <"$T/replies.jsonl" || fail "reply outcomes"
answered=$(awk -F'\t' '$5 == 200 { print $1 }' "$HOOK_LOG" | sort -u | wc -l)
[ "$answered" -eq $N ] || fail "webhook: want all $N ids answered with 200, got $answered"
pass "every one of the $N actions executed and replied to"
