#!/usr/bin/env bash
# SIGTERM after every broker is gone: the worker still exits, within its
# bounds (drain, producer flush, and the group leave that can no longer
# finish), instead of hanging in the consumer close. Mock cluster only: the
# test kills the cluster.
export AW_KAFKA=mock
source "$(dirname "$0")/lib.sh"
start_kafka "$ACTIONS_TOPIC:2" "$REPLY_TOPIC:2" "$DLQ_TOPIC:1"
start_webhook
write_config "$T/worker.conf"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 50 --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker worker "$T/worker.conf"
wait_for 60 "50 replies" topic_has "$REPLY_TOPIC" 50

kill -9 "$MOCK_PID"
wait "$MOCK_PID" 2>/dev/null || true
t0=$SECONDS
kill -TERM "$WORKER_PID"
gone() { ! kill -0 "$WORKER_PID" 2>/dev/null; }
wait_for 90 "the worker to exit with the brokers gone" gone
wait "$WORKER_PID" 2>/dev/null || true
pass "exited $((SECONDS - t0)) s after SIGTERM with every broker gone"
