# The body of the clock skew tests (sourced by test_clock_skew_<backend>.sh,
# which set STATE_BACKEND, STATE_URL and SKEW_PHASES first): workers sharing
# one state backend, one of them with its wall clock moved ahead
# (AW_CLOCK_OFFSET_MS, common/aw_clock.h: every decision the worker takes
# by its wall clock; its monotonic clock is left alone, as a wrong clock
# leaves it). Not libfaketime: under its offsets librdkafka's timers stall
# and the replica loses its partitions instead of showing the skew
# (aw_clock.h).
#
# A phase: 300 identities, each sent twice as two actions with their own id
# and the same dedup_key. The first copies go to the actions topic, which
# w1 and w2 consume (one group); the webhook answers after 3-4 s. Once 100
# of their calls are in flight, the second copies go to a topic of their
# own that the skewed worker consumes alone (its own group, so none of its
# threads is busy with a first copy): it claims them while w1's and w2's
# leases are held, concurrent claims by construction, not by timing.
# SKEW_PHASES lists "OFFSET:EXPECT" pairs: OFFSET the skewed worker's clock
# offset in seconds, EXPECT "once" (every identity called exactly once) or
# "fenced" (identities may be called again, but each call under a lease of
# its own: no two calls of an identity carry the same fencing token, and at
# least one repeat happens, which shows the skew took effect). The order of
# arrival is not checked there: the taken-over holder still believes its
# lease held (by its own clock, docs/operations.md) and may call after the
# new holder, with the lower token, which a token-checking provider
# refuses. Every phase: nothing lost (one reply per message), every identity
# called at least once.
#
# Leases last LEASE_MS = 20 s: a worker knows its lease held until a tenth
# of it before its end (docs/operations.md), which is the skew margin the
# docs state for DynamoDB, whose expiry is judged by the requesting
# worker's clock; Redis and PostgreSQL judge it by their own clock.

SECOND_TOPIC="aw-it.$RUN_ID.second"
start_kafka "$ACTIONS_TOPIC:8" "$SECOND_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 3000-4000
LEASE_MS=20000
THREADS=2
MAX_IN_FLIGHT=400
write_config "$T/worker.conf"
migrate_and_check "$T/worker.conf"
# The skewed worker's: the second topic, a group of its own, the same state.
ACTIONS_TOPIC=$SECOND_TOPIC GROUP="$GROUP.second" write_config "$T/skewed.conf"

# produce_keyed FILE TOPIC: "key<TAB>value" lines to TOPIC.
produce_keyed() {
    kcat -P -b "$BOOT" -t "$2" -K $'\t' -z none <"$1" 2>"$T/kcat.log" \
        || fail "kcat produce: $(cat "$T/kcat.log")"
}
# hook_in_flight_at_least N: the webhook target handles N calls right now.
hook_in_flight_at_least() {
    local n
    n=$(curl -sf --max-time 2 "http://127.0.0.1:$HOOK_PORT/stats" |
        sed -n 's/.*"in_flight": \([0-9]*\).*/\1/p')
    [ "${n:-0}" -ge "$1" ]
}
# start_skewed NAME OFFSET: the skewed worker, its wall clock OFFSET seconds
# ahead (sets WORKER_PID).
start_skewed() {
    AW_CLOCK_OFFSET_MS=$(($2 * 1000)) "$WORKER" --log-level "${LOG_LEVEL:-info}" run \
        -c "$T/skewed.conf" >"$T/$1.log" 2>&1 &
    WORKER_PID=$!
    PIDS+=($WORKER_PID)
}

start_settled_group 8 "$T/worker.conf" w1 w2
phase=0 total=0
for spec in $SKEW_PHASES; do
    offset=${spec%%:*} expect=${spec##*:}
    phase=$((phase + 1))
    start_skewed "w3-$phase" "$offset"; W3=$WORKER_PID
    wait_for 60 "the skewed worker's partitions" group_settled 4 "$T/w3-$phase.log"
    grep -q "wall clock offset by $((offset * 1000)) ms" "$T/w3-$phase.log" \
        || fail "the skewed worker does not say its clock offset"
    python3 - "$phase" "$T/phase$phase" <<'PY'
import json, sys
p = sys.argv[1]
for copy in ("a", "b"):
    with open(f"{sys.argv[2]}.{copy}", "w") as f:
        for i in range(300):
            a = {"id": f"skew{p}-{i:03d}-{copy}", "dedup_key": f"skew{p}-{i:03d}",
                 "namespace": "it", "tenant": "acme", "provider": "webhook",
                 "action_type": "notify", "payload": {"i": i}}
            f.write(f"{a['id']}\t{json.dumps(a)}\n")
PY
    : >"$HOOK_LOG"
    produce_keyed "$T/phase$phase.a" "$ACTIONS_TOPIC"
    wait_for 60 "100 calls of the first copies in flight" hook_in_flight_at_least 100
    produce_keyed "$T/phase$phase.b" "$SECOND_TOPIC"
    total=$((total + 600))
    wait_for 180 "$total replies" has_distinct_replies "$total"
    python3 - "$HOOK_LOG" "$expect" "$offset" <<'PY' || fail "phase $phase (skew +${offset} s, $expect)"
import sys
from collections import defaultdict
log, expect, offset = sys.argv[1], sys.argv[2], sys.argv[3]
calls = defaultdict(list)  # identity -> tokens, by arrival
for line in open(log, encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    calls[f[2]].append(int(f[1]))
if len(calls) != 300:
    sys.exit(f"{len(calls)} identities called, want 300")
repeated = {k: t for k, t in calls.items() if len(t) > 1}
shared = [k for k, t in repeated.items() if len(set(t)) != len(t)]
late = [k for k, t in repeated.items() if any(b <= a for a, b in zip(t, t[1:]))]
print(f"skew +{offset} s: {sum(map(len, calls.values()))} calls for 300 identities, "
      f"{len(repeated)} called more than once ({len(late)} of them with a lower token "
      f"arriving after a higher one), {len(shared)} calls sharing a token")
if shared:
    sys.exit(f"two calls under one lease (same fencing token): {shared[:5]}")
if expect == "once" and repeated:  # the tokens of a repeat say who took it over
    sys.exit(f"want every identity called once: {sorted(repeated)[:5]}")
if expect == "fenced" and not repeated:
    sys.exit("no identity called twice: the skew did not show")
PY
    stop_worker "$W3"
done
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
wait_for 60 "the second topic's offsets committed" committed_at_end "$GROUP.second" "$SECOND_TOPIC"
stop_worker "${GROUP_PIDS[0]}"
stop_worker "${GROUP_PIDS[1]}"
pass "clock skew on $STATE_BACKEND: $SKEW_PHASES"
