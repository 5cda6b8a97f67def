#!/usr/bin/env bash
# The fetch-stall watchdog (kafka.fetch_stall_ms): every Fetch fails while
# new actions arrive, so the consumer is idle, not paused, with nothing in
# flight, and the statistics report lag (the failed Fetch answers still
# carry the high watermark). The watchdog must restart the fetch of the
# assigned partitions from their positions; once Fetch works again every
# action is executed exactly once: nothing skipped, nothing repeated.
# Mock cluster only: the fault needs its control channel.
export AW_KAFKA=mock
source "$(dirname "$0")/lib.sh"
start_kafka "$ACTIONS_TOPIC:2" "$REPLY_TOPIC:2" "$DLQ_TOPIC:1"
start_webhook
# Lag is read from the statistics: make them frequent, so that a snapshot
# taken before the last commit cannot outlive the stall threshold.
KAFKA_PROPERTIES='"statistics.interval.ms=500"'
KAFKA_EXTRA="fetch_stall_ms = 3000;"
write_config "$T/worker.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 200 --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
head -n 100 "$T/actions.jsonl" >"$T/first.jsonl"
tail -n 100 "$T/actions.jsonl" >"$T/second.jsonl"
produce_file "$T/first.jsonl"
start_worker worker "$T/worker.conf"
wait_for 60 "100 replies" topic_has "$REPLY_TOPIC" 100
wait_for 30 "offsets committed" committed_at_end "$GROUP" "$ACTIONS_TOPIC"

# Every Fetch fails from now on (until cleared), then 100 more actions.
watchdog() { grep -c "restarted the fetch of [1-9][0-9]* partition(s)" "$T/worker.log" || true; }
before=$(watchdog)
mock_ctl request-errors Fetch REQUEST_TIMED_OUT 100000
produce_file "$T/second.jsonl"
fired() { [ "$(watchdog)" -gt "$before" ]; }
wait_for 60 "the fetch-stall watchdog" fired
grep "restarted the fetch of" "$T/worker.log" | tail -n 1
mock_ctl clear-errors Fetch
pass "Fetch failing with lag reported: the watchdog restarted the fetch"

wait_for 60 "200 replies" topic_has "$REPLY_TOPIC" 200
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
check_exact_run 200 0 0
pass "Fetch back: all 200 actions executed exactly once, nothing skipped"
