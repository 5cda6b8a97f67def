# The body of the clock skew tests (sourced by test_clock_skew_<backend>.sh,
# which set STATE_BACKEND, STATE_URL and SKEW_PHASES first): three workers in
# one group, the third with its wall clock moved ahead (AW_CLOCK_OFFSET_MS,
# common/aw_clock.h: every decision the worker takes by its wall clock;
# its monotonic clock is left alone, as a wrong clock leaves it). Not
# libfaketime: under its offsets librdkafka's timers stall and the replica
# loses its partitions instead of showing the skew (aw_clock.h).
#
# A phase: 300 identities, each sent twice as two actions with their own id
# and the same dedup_key, keyed by id (kcat), so most pairs land on
# different partitions and are claimed by different workers at the same
# time; the webhook answers after 400-700 ms, so a claim often comes while
# the other copy's call runs. SKEW_PHASES lists "OFFSET:EXPECT" pairs:
# OFFSET the skewed worker's clock offset in seconds,
# EXPECT "once" (every identity called exactly once) or "fenced" (identities
# may be called again, but each call under a lease of its own: no two calls
# of an identity carry the same fencing token, and at least one repeat
# happens, which shows the skew took effect). The order of arrival is not
# checked there: the taken-over holder still believes its lease held (by
# its own clock, docs/operations.md) and may call after the new holder,
# with the lower token, which a token-checking provider refuses. Every phase: nothing lost
# (one reply per message), every identity called at least once.
#
# Leases last LEASE_MS = 20 s (dynalite, one Node thread, stalled a
# loaded machine for 30 s once with 10 s leases: leases lost to load, not
# to skew, would blur the count): a worker knows its lease held until a tenth
# of it before its end (docs/operations.md), which is the skew margin the
# docs state for DynamoDB, whose expiry is judged by the requesting
# worker's clock; Redis and PostgreSQL judge it by their own clock.

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 400-700
LEASE_MS=20000
THREADS=2
MAX_IN_FLIGHT=400
write_config "$T/worker.conf"
migrate_and_check "$T/worker.conf"

# start_skewed NAME OFFSET: a worker whose wall clock runs OFFSET seconds
# ahead (sets WORKER_PID).
start_skewed() {
    AW_CLOCK_OFFSET_MS=$(($2 * 1000)) "$WORKER" --log-level "${LOG_LEVEL:-info}" run -c "$T/worker.conf" >"$T/$1.log" 2>&1 &
    WORKER_PID=$!
    PIDS+=($WORKER_PID)
}

start_worker w1 "$T/worker.conf"; W1=$WORKER_PID
start_worker w2 "$T/worker.conf"; W2=$WORKER_PID
phase=0 total=0
for spec in $SKEW_PHASES; do
    offset=${spec%%:*} expect=${spec##*:}
    phase=$((phase + 1))
    start_skewed "w3-$phase" "$offset"; W3=$WORKER_PID
    wait_for 60 "the skewed worker's start" grep -q "wall clock offset by" "$T/w3-$phase.log"
    grep -q "wall clock offset by $((offset * 1000)) ms" "$T/w3-$phase.log" \
        || fail "the skewed worker does not say its clock offset"
    # Produced once the rebalances are over with all three holding
    # partitions: a rebalance mid-phase would hand both copies of a pair to
    # one worker (no concurrent claims, nothing to show).
    wait_for 60 "the 8 partitions settled at the three workers" group_settled 8 "$T/w1.log" \
        "$T/w2.log" "$T/w3-$phase.log"
    python3 - "$phase" >"$T/phase$phase.keyed" <<'PY'
import json, sys
p = sys.argv[1]
for i in range(300):
    for copy in ("a", "b"):
        a = {"id": f"skew{p}-{i:03d}-{copy}", "dedup_key": f"skew{p}-{i:03d}",
             "namespace": "it", "tenant": "acme", "provider": "webhook",
             "action_type": "notify", "payload": {"i": i}}
        print(f"{a['id']}\t{json.dumps(a)}")
PY
    : >"$HOOK_LOG"
    kcat -P -b "$BOOT" -t "$ACTIONS_TOPIC" -K $'\t' -z none <"$T/phase$phase.keyed" 2>"$T/kcat.log" \
        || fail "kcat produce: $(cat "$T/kcat.log")"
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
    sys.exit("no identity called twice: the skew did not show (is faketime in effect?)")
PY
    stop_worker "$W3"
done
wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$W1"
stop_worker "$W2"
pass "clock skew on $STATE_BACKEND: $SKEW_PHASES"
