#!/usr/bin/env bash
# SIGTERM while a rebalance event waits, unserved, on the stopping worker's
# consumer queue. Once its in-flight drain is over, a stopping worker does
# not poll the consumer until it leaves the group (it joins its workers,
# writes the last audit records, flushes the producer); a revoke librdkafka
# delegates to it meanwhile used to be served only inside
# rd_kafka_consumer_close(), which in librdkafka 2.0.2 unsubscribes without
# waiting for it: the late callback's commit then tripped an assertion in the
# terminating group (SIGABRT, after "COMMITFAIL ... Unknown member"), or its
# rd_kafka_assign() never got an answer (a hang past every bound).
#
# Made to happen every run: w2's webhook answers 10 s after each call, and
# w2's stop gives up on its in-flight work after 1 s (hard stop), after which
# joining its workers waits for the calls they have running. During that
# wait w1 stops and leaves the group, and the group's rebalance reaches w2
# (the revoke is delegated to it, see librdkafka's debug line). w2 must then
# exit 0 within its bounds. Mock cluster only (tests/CMakeLists.txt).
export AW_KAFKA=mock
source "$(dirname "$0")/lib.sh"
start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:2" "$DLQ_TOPIC:1"
start_webhook # w1's, answering at once
# w2's, holding every call for 10 s (its own port, log and stats).
"$SUPPORT/webhook_target" --port-file "$T/slow.port" --log "$T/slow.calls" --delay-ms 10000 \
    >>"$T/slow-webhook.log" 2>&1 &
PIDS+=($!)
wait_for 20 "the slow webhook target" test -s "$T/slow.port"
SLOW_URL="http://127.0.0.1:$(cat "$T/slow.port")"

EXTRA_CONFIG='http = { listen = "127.0.0.1:0"; };'
LOG_LEVEL=debug
write_config "$T/w1.conf"
cp "$T/w1.conf" "$T/worker.conf" # produce_file's
# w2: calls held longer than its stop's bound (so the stop gives up on them),
# but within the call timeout (so its workers wait for the answer), and
# librdkafka's group debugging, which says when a revoke is delegated.
HOOK_URL="$SLOW_URL/hook" WEBHOOK_TIMEOUT_MS=15000 SHUTDOWN_TIMEOUT_MS=1000 \
    KAFKA_PROPERTIES='"debug=cgrp"' write_config "$T/w2.conf"

# owns W N: W's /metrics says N partitions are assigned to it.
owns() {
    local url
    url=$(metrics_url "$T/$1.log")
    [ -n "$url" ] && curl -fsS "$url" >"$T/$1.metrics" 2>/dev/null &&
        [ "$(metric acteon_assigned_partitions "$T/$1.metrics")" = "$2" ]
}
split_evenly() { owns w1 2 && owns w2 2; }
# slow_calls_arrived: w2's webhook has a call (held) in progress.
slow_calls_arrived() {
    curl -fsS "$SLOW_URL/stats" 2>/dev/null | python3 -c \
        'import json, sys; sys.exit(0 if json.load(sys.stdin)["requests"] > 0 else 1)'
}

start_worker w1 "$T/w1.conf"
W1=$WORKER_PID
start_worker w2 "$T/w2.conf"
W2=$WORKER_PID
wait_for 60 "the group (2 partitions each)" split_evenly
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 40 --dups 0 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
wait_for 60 "a call of w2 held at its webhook" slow_calls_arrived

# w2 stops; its drain gives up after 1 s and it waits for its workers.
kill -TERM "$W2"
t0=$SECONDS
wait_for 30 "w2 giving up on its in-flight work" grep -q "giving up on" "$T/w2.log"
# w1 leaves the group meanwhile: the rebalance reaches w2 while it waits.
stop_worker "$W1"
deadline=$((SECONDS + 40))
while kill -0 "$W2" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "w2 still running $((SECONDS - t0)) s after SIGTERM"
    sleep 0.1
done
rc=0
wait "$W2" || rc=$?
[ $rc -eq 0 ] || fail "w2 exited with $rc after SIGTERM: $(grep -E '\*\*\*|ERROR' "$T/w2.log" | tail -3)"
pass "w2 exited 0 after $((SECONDS - t0)) s"

# The case exercised: after w2's drain gave up, librdkafka delegated a revoke
# to it before it began to leave the group.
order=$(grep -n -E "giving up on|delegating revoke|leaving the group" "$T/w2.log" |
    sed -n '/giving up on/,$p' | head -3)
echo "$order" | cut -c1-160
echo "$order" | sed -n 2p | grep -q "delegating revoke" ||
    fail "no revoke was waiting when w2 began to leave the group: the case was not exercised"
pass "a revoke delegated to w2 while it stopped was handled before it left the group"
