#!/usr/bin/env bash
# Broker failures, injected through the mock cluster's control channel while
# the worker consumes 3000 actions (duplicates and malformed ones among them)
# from a 3-broker cluster:
#  a. the broker leading a third of the action partitions and a reply
#     partition goes down, the others keep working, then it comes back;
#  b. every partition leader moves to another broker;
#  c. Fetch, Produce and OffsetCommit requests fail with the errors
#     librdkafka retries (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT,
#     NOT_COORDINATOR), each until the worker has used them all up;
#  d. the broker of the group coordinator goes down for longer than the
#     session timeout: the assignment is lost and comes back.
# Then: every message has exactly one terminal outcome on the reply topic
# (a re-sent reply carries the original outcome), the webhook saw one call
# per executed id, every offset is committed and the worker stops cleanly.
# Mock cluster only: faults need its control channel.
export AW_KAFKA=mock
source "$(dirname "$0")/lib.sh"
MOCK_BROKERS=3
start_kafka "$ACTIONS_TOPIC:6" "$REPLY_TOPIC:3" "$DLQ_TOPIC:1"
# Place the leaders ourselves (the mock picks them at random): action
# partition p on broker p%3+1, reply partition r on broker r+1, the DLQ and
# the group coordinator on broker 1.
place_leaders() { # place_leaders SHIFT
    local p
    for p in 0 1 2 3 4 5; do mock_ctl leader "$ACTIONS_TOPIC" $p $(((p + $1) % 3 + 1)); done
    for p in 0 1 2; do mock_ctl leader "$REPLY_TOPIC" $p $(((p + $1) % 3 + 1)); done
}
place_leaders 0
mock_ctl leader "$DLQ_TOPIC" 0 1
mock_ctl coordinator group "$GROUP" 1

# About 200 calls/s (one call at a time per worker thread): the run lasts
# long enough for every fault to hit it.
start_webhook --delay-ms 15
WEBHOOK_EXTRA="max_concurrency = 1;"
# A window that the replies held up by a down broker (a third of them) cannot
# fill: with a small one, consumption pauses until the broker is back (by
# design: those messages cannot be committed) and "work goes on meanwhile"
# below would depend on how many happened to be in flight.
MAX_IN_FLIGHT=1500
METRICS_PORT=$(free_port)
EXTRA_CONFIG="http = { listen = \"127.0.0.1:$METRICS_PORT\"; };"
write_config "$T/worker.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 3000 --dups 300 --bad 30 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker worker "$T/worker.conf"

calls() { wc -l <"$HOOK_LOG"; }
calls_at_least() { [ "$(calls)" -ge "$1" ]; }
# progress N: wait until the webhook saw N more calls (the worker works on).
progress() {
    local want=$(($(calls) + $1))
    wait_for 60 "$1 more webhook calls" calls_at_least "$want"
}

# ---- a. a broker down, then up
wait_for 60 "the first 300 calls" calls_at_least 300
mock_ctl broker-down 2
# Work goes on meanwhile on the other brokers' partitions (the replies
# bound for broker 2 wait in the in-flight window).
progress 300
grep -q '/2: \(Disconnected\|Connect to .* failed\)' "$T/worker.log" \
    || fail "the worker never noticed broker 2 going down"
mock_ctl broker-up 2
pass "broker 2 (leader of action partitions 1 and 4, reply partition 1) down and up"

# ---- b. every leader moves
progress 200
place_leaders 1
progress 200
pass "every partition leader moved"

# ---- c. request errors, each used up by the worker
errors_left() { # errors_left BROKER APIKEY...: sum of the unused injected errors
    local b=$1 n=0 k; shift
    for k in "$@"; do n=$((n + $(mock_ctl error-count "$b" "$k"))); done
    echo $n
}
all_used() {
    local b
    for b in 1 2 3; do [ "$(errors_left $b Fetch Produce OffsetCommit)" -eq 0 ] || return 1; done
}
for b in 1 2 3; do
    mock_ctl broker-errors $b Fetch NOT_LEADER_FOR_PARTITION 3
    mock_ctl broker-errors $b Fetch REQUEST_TIMED_OUT 3 50
    mock_ctl broker-errors $b Produce NOT_LEADER_FOR_PARTITION 3
    mock_ctl broker-errors $b Produce REQUEST_TIMED_OUT 3 50
done
# The group coordinator stays on broker 1.
mock_ctl broker-errors 1 OffsetCommit NOT_COORDINATOR 2
mock_ctl broker-errors 1 OffsetCommit REQUEST_TIMED_OUT 2
wait_for 60 "the worker to run into every injected error" all_used
pass "Fetch, Produce and OffsetCommit errors injected and all hit"

# ---- d. the group coordinator's broker down beyond the session timeout
# (6 s): the consumer loses its assignment, drops its in-flight work without
# commit and rejoins once the broker is back; the redelivered messages are
# answered with their original outcomes, never executed again.
n_lost() { grep -c "assignment lost" "$T/worker.log" || true; }
lost_before=$(n_lost)
mock_ctl broker-down 1
lost() { [ "$(n_lost)" -gt "$lost_before" ]; }
wait_for 60 "the consumer to lose its assignment" lost
mock_ctl broker-up 1
pass "coordinator broker down beyond the session timeout: assignment lost, rejoined"

# ---- the end: exact outcomes, nothing lost, nothing executed twice
wait_for 120 "2982 replies" topic_has "$REPLY_TOPIC" 2982
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" >"$T/metrics.txt" \
    || fail "cannot read /metrics"
stop_worker "$WORKER_PID"
check_exact_run 2670 300 12
# Every malformed message is dead-lettered (a re-sent copy has the same
# source coordinates): each rejected outcome's DLQ copy acknowledged by the
# broker, and found on the DLQ topic.
metric() { sed -n "s/^$1 \([0-9]*\)$/\1/p" "$T/metrics.txt"; }
rejected=$(metric 'acteon_outcomes_total{outcome="rejected"}')
acked=$(metric acteon_dlq_messages_total)
[ -n "$rejected" ] && [ "$rejected" -ge 30 ] && [ "$acked" = "$rejected" ] \
    || fail "DLQ: ${acked:-?} copies acknowledged for ${rejected:-?} rejected outcomes"
read_topic "$DLQ_TOPIC" '%h\n' | grep -o 'acteon.dlq.source_partition=[0-9]*,acteon.dlq.source_offset=[0-9]*' \
    | sort -u >"$T/dlq.sources"
stored=$(count_topic "$DLQ_TOPIC")
distinct=$(wc -l <"$T/dlq.sources")
# librdkafka's mock cluster sometimes acknowledges a DLQ copy it never
# stores (about 1 run in 15 under load: the worker's delivery reports 30,
# the topic 26 or 27, the mock's own log without those appends; see
# AW_MOCK_DEBUG in tests/support/mock_cluster.c). A real broker does not.
# Those copies, and only those, are not asked of the topic.
lost_by_mock=$((acked - stored))
if [ "$distinct" -ne 30 ]; then
    [ "$lost_by_mock" -gt 0 ] && [ $((distinct + lost_by_mock)) -ge 30 ] \
        || fail "DLQ: want 30 distinct sources, got $distinct ($stored stored, $acked acknowledged)"
    echo "note: the mock cluster acknowledged $lost_by_mock DLQ copies it did not store" \
        "($acked acknowledged, $stored on the topic): $distinct of 30 sources there"
fi
# Between the lost assignment and the rejoin nothing is assigned: the
# fetch-stall watchdog has nothing to restart and must stay quiet (it used
# to fire on the stale lag of the last statistics).
grep "restarted the fetch of 0 partition" "$T/worker.log" \
    && fail "the fetch-stall watchdog fired with no partition to restart"
pass "exact outcomes after the faults: 2670 executed once each, 300 deduplicated, 30 rejected"
