#!/usr/bin/env bash
# A real three-node Kafka cluster under broker faults (issue 22): the test
# starts its own cluster (scripts/kafka-broker.sh start-cluster: three
# broker+controller KRaft nodes), makes the topics with replication factor 3
# and min.insync.replicas=2, and runs two workers (Redis state, so the dedup
# is shared; kafka.transactional_replies = true) through four phases. Each
# phase produces its own slice of distinct actions and, once replies are
# flowing, injects one fault:
#   1. kill -9 of the leader of actions partition 0, restart it
#   2. kill -9 of the leader of a reply partition (another node if one leads
#      one), restart it
#   3. controlled shutdown (SIGTERM) of the leader of actions partition 1,
#      restart it
#   4. kill -9 of the active KRaft controller, restart it
#   5. the reply topic refuses replies (max.message.bytes) until a
#      transaction was aborted, then accepts them again (skipped with
#      AW_TXN_REPLIES=false)
# After each, once the restarted node is back in every ISR: every action
# so far has exactly one committed reply (read_committed, by source; none
# missing, none twice), every action was called by the webhook, and an
# action called more than once (only a call in flight at a fault may be) was
# called again with a higher fencing token; the repeats are counted and
# printed. AW_TXN_REPLIES=false runs the same without transactions.
source "$(dirname "$0")/lib.sh"
command -v java >/dev/null || { echo "SKIP: java not on PATH (the cluster needs Java 17)"; exit 77; }
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }

TXN=${AW_TXN_REPLIES:-true}
PER_PHASE=800
PHASES=5
KB="$AW_SOURCE_DIR/scripts/kafka-broker.sh"
CL="$T/cluster"
KAFKA_PEER="three-node cluster" # for lib.sh's failure message

CLEANUP_HOOKS+=("bash '$KB' stop-cluster '$CL'")
t0=$SECONDS
bash "$KB" start-cluster "$CL" 3 >"$T/cluster.log" 2>&1 || fail "cluster start: $(tail -n 20 "$T/cluster.log")"
BOOT=$(cat "$CL/bootstrap")
for t in "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"; do
    bash "$KB" create-topic "$CL" "${t%:*}" "${t#*:}" 3 min.insync.replicas=2 >>"$T/cluster.log" 2>&1 \
        || fail "create-topic $t: $(tail -n 5 "$T/cluster.log")"
done
"$SUPPORT/kafka_admin" -b "$BOOT" --check -t "$ACTIONS_TOPIC:4" -t "$REPLY_TOPIC:4" -t "$DLQ_TOPIC:1" \
    >"$T/admin.log" 2>&1 || fail "topics not ready: $(cat "$T/admin.log")"
echo "cluster of 3 at $BOOT, topics RF 3 / min.insync.replicas 2, in $((SECONDS - t0))s"

# 60 ms per call, 2 threads x 2 workers: about 65 actions/s, so a phase's
# 800 actions take about 12 s and the fault lands early in the phase.
start_webhook --delay-ms 60
THREADS=2
WEBHOOK_EXTRA="max_concurrency = 1;"
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
LEASE_MS=3000
KAFKA_EXTRA="transactional_replies = $TXN;"
EXTRA_CONFIG='worker_id = "kc-a";'
write_config "$T/worker.conf"
EXTRA_CONFIG='worker_id = "kc-b";'
write_config "$T/worker-b.conf"

python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total $((PER_PHASE * PHASES)) \
    --dups 0 --bad 0 --ids "$T/ids.txt" >"$T/actions.jsonl"

start_worker worker-a "$T/worker.conf"
PID_A=$WORKER_PID
start_worker worker-b "$T/worker-b.conf"
PID_B=$WORKER_PID

# leader_of TOPIC PART / controller: node ids, from the cluster script.
leader_of() { bash "$KB" leader "$CL" "$1" "$2" 2>/dev/null; }
controller() { bash "$KB" controller "$CL" 2>/dev/null; }
leader_moved() { local l; l=$(leader_of "$1" "$2") && [ "$l" != "$3" ] && [ "$l" != -1 ]; }
controller_moved() { local c; c=$(controller) && [ "$c" != "$1" ]; }
# full_isr: every partition of the three topics has all 3 replicas in sync.
full_isr() {
    local t
    for t in "$ACTIONS_TOPIC" "$REPLY_TOPIC" "$DLQ_TOPIC"; do
        kcat -L -b "$BOOT" -t "$t" -m 5 2>/dev/null | grep '^ *partition ' >"$T/isr.txt" || return 1
        ! grep -vq 'isrs: [0-9]*,[0-9]*,[0-9]*$' "$T/isr.txt" || return 1
    done
}

# check_so_far N PHASE: the checks listed at the top for the first N actions.
check_so_far() {
    local n=$1 phase=$2
    wait_for 120 "$n committed replies after $phase" committed_replies_at_least "$n"
    reply_sources read_committed | sort >"$T/committed.txt"
    kcat -C -b "$BOOT" -t "$ACTIONS_TOPIC" -e -q -f '%p %o\n' 2>/dev/null | sort >"$T/inputs.txt"
    [ "$(wc -l <"$T/inputs.txt")" -eq "$n" ] || fail "$phase: input topic holds $(wc -l <"$T/inputs.txt"), want $n"
    local dups missing
    dups=$(uniq -d "$T/committed.txt" | wc -l)
    missing=$(sort -u "$T/committed.txt" | comm -13 - "$T/inputs.txt" | wc -l)
    [ "$missing" -eq 0 ] || fail "$phase: $missing action(s) without a committed reply"
    [ "$dups" -eq 0 ] || fail "$phase: $dups action(s) with more than one committed reply"
    [ "$(wc -l <"$T/committed.txt")" -eq "$n" ] || fail "$phase: $(wc -l <"$T/committed.txt") committed replies for $n actions"
    local called
    called=$(cut -f1 "$HOOK_LOG" | sort -u | comm -12 - <(sort "$T/ids-sent.txt") | wc -l)
    [ "$called" -eq "$n" ] || fail "$phase: $((n - called)) action(s) never called"
    # Repeated calls: each must carry a higher fencing token than the last.
    local repeats
    repeats=$(python3 - "$HOOK_LOG" <<'PY'
import sys
last, repeats, bad = {}, 0, []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    aid, token = f[0], int(f[1])
    if aid in last:
        repeats += 1
        if token <= last[aid]:
            bad.append(f"{aid}: token {token} after {last[aid]}")
    last[aid] = token
if bad:
    print("repeated call without a higher token: " + "; ".join(bad[:5]), file=sys.stderr)
    sys.exit(1)
print(repeats)
PY
) || fail "$phase: webhook repeats"
    FIG+=("$phase: $n actions, $n committed replies (0 missing, 0 twice), $(wc -l <"$HOOK_LOG") webhook calls, $repeats repeat(s)")
    echo "ok: ${FIG[-1]}"
}

FIG=()
# produce_slice K: produce the K-th slice of PER_PHASE actions and note
# their ids in ids-sent.txt.
produce_slice() {
    local from=$(( ($1 - 1) * PER_PHASE + 1 ))
    sed -n "$from,$((from + PER_PHASE - 1))p" "$T/actions.jsonl" >"$T/slice.jsonl"
    produce_file "$T/slice.jsonl"
    python3 -c 'import json, sys; [print(json.loads(l)["id"]) for l in sys.stdin]' \
        <"$T/slice.jsonl" >>"$T/ids-sent.txt"
}
# phase N DESCRIPTION FAULT...: produce slice N, wait for replies to flow,
# run FAULT (which sets DOWN: the node to restart), restart DOWN, wait until
# it is back in every ISR, check.
phase() {
    local k=$1 what=$2 done_before=$(( ($1 - 1) * PER_PHASE ))
    shift 2
    produce_slice "$k"
    wait_for 60 "replies flowing in phase $k" committed_replies_at_least $((done_before + 20))
    local calls
    calls=$(wc -l <"$HOOK_LOG")
    "$@"
    echo "phase $k: $what (node $DOWN) at $((calls - done_before)) of the phase's $PER_PHASE calls"
    bash "$KB" restart "$CL" "$DOWN" >>"$T/cluster.log" 2>&1 || fail "restart node $DOWN: $(tail -n 5 "$T/cluster.log")"
    wait_for 90 "node $DOWN back in every ISR" full_isr
    check_so_far $((k * PER_PHASE)) "phase $k ($what)"
}

kill_leader() { # TOPIC PART
    DOWN=$(leader_of "$1" "$2") || fail "no leader for $1/$2"
    bash "$KB" kill "$CL" "$DOWN"
    wait_for 30 "a new leader for $1/$2" leader_moved "$1" "$2" "$DOWN"
}
kill_reply_leader() { # a reply partition led by another node than phase 1's
    local p l part=0
    for p in 0 1 2 3; do
        l=$(leader_of "$REPLY_TOPIC" $p) || continue
        if [ "$l" != "$DOWN" ]; then part=$p; break; fi
    done
    kill_leader "$REPLY_TOPIC" $part
}
term_leader() {
    DOWN=$(leader_of "$ACTIONS_TOPIC" 1) || fail "no leader for $ACTIONS_TOPIC/1"
    bash "$KB" term "$CL" "$DOWN"
    wait_for 30 "a new leader for $ACTIONS_TOPIC/1" leader_moved "$ACTIONS_TOPIC" 1 "$DOWN"
}
kill_controller() {
    DOWN=$(controller) || fail "no active controller"
    bash "$KB" kill "$CL" "$DOWN"
    wait_for 30 "a new active controller" controller_moved "$DOWN"
}

DOWN=""
phase 1 "kill -9 of the leader of actions partition 0" kill_leader "$ACTIONS_TOPIC" 0
phase 2 "kill -9 of the leader of a reply partition" kill_reply_leader
phase 3 "controlled shutdown of the leader of actions partition 1" term_leader
phase 4 "kill -9 of the active controller" kill_controller

# Phase 5, the transactional abort and rewind: the reply topic refuses
# replies (max.message.bytes=100, MESSAGE_TOO_LARGE) until some transaction
# was aborted; then the limit is removed. The aborted transactions' offsets
# were not committed: the workers rewind, dedup answers the messages again
# with their first outcome (no second webhook call), and their replies go
# into a later transaction.
if [ "$TXN" != true ]; then
    echo "phase 5 skipped: no transactions to abort with transactional_replies=$TXN"
else
    aborts() { cat "$T"/worker-*.log | grep -c 'transaction aborted' || true; }
    aborted_since() { [ "$(aborts)" -gt "$1" ]; }
    aborts0=$(aborts)
    bash "$KB" topic-config "$CL" "$REPLY_TOPIC" max.message.bytes=100 >>"$T/cluster.log" 2>&1 \
        || fail "topic-config: $(tail -n 5 "$T/cluster.log")"
    produce_slice 5
    wait_for 60 "an aborted transaction" aborted_since "$aborts0"
    bash "$KB" topic-config "$CL" "$REPLY_TOPIC" -max.message.bytes >>"$T/cluster.log" 2>&1 \
        || fail "topic-config: $(tail -n 5 "$T/cluster.log")"
    echo "phase 5: replies refused until $(( $(aborts) - aborts0 )) transaction(s) aborted"
    check_so_far $((5 * PER_PHASE)) "phase 5 (reply send failure: transactions aborted, rewound)"
    uncommitted=$(reply_sources read_uncommitted | wc -l)
    echo "read_uncommitted: $uncommitted replies ($((uncommitted - $(wc -l <"$T/committed.txt"))) in aborted transactions)"
fi

wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$PID_A"
stop_worker "$PID_B"
echo "transactional_replies=$TXN, $((SECONDS - t0))s in all:"
printf '  %s\n' "${FIG[@]}"
pass "broker faults on a three-node cluster (transactional_replies=$TXN): nothing lost, one committed reply per action"
