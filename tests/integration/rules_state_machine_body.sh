# The body of the state machine tests (sourced by
# test_rules_state_machine_<backend>.sh, which set STATE_BACKEND and
# STATE_URL first): three worker processes in one group move the events of
# one machine in the shared state backend.
#   machine "incident": fingerprint {payload.alert}; new -> open (alert, also
#   from resolved and stale), open -> acked (ack), open/acked -> resolved
#   (resolve); open times out after 2 s to stale.
#   100 events, 6 actions each (alert, ack, resolve drawn at random, seeded),
#   keyed by their own ids so one event's actions spread over the
#   partitions: the three workers race to move each event.
# Checked from the reply topic (check_state_machine.py): per event the moves
# (actions' and timeouts') are seq 1..n, each once, each leaving the state
# the one before entered; no event is left in open (every timeout fired,
# once); the webhook was called exactly once per state_changed action and
# never for a suppressed one; `acteon-worker state get` shows the last move;
# with an audit backend other than memory, one state_changed record per move.
#
# With SM_KILL=1 (test_rules_state_machine_kill9_redis.sh): each worker calls
# its own path (/hook/w1 ...), the webhook answers after 150-300 ms, leases
# last 3 s; once w2 has a call in flight it is killed with SIGKILL and w3
# started. The actions w2 had moved are retried elsewhere, find their move
# made (details.state.retried) and execute without moving again: the chains
# stay complete; an action may be called twice only if its earlier call was
# w2's.

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
SM_KILL=${SM_KILL:-0}
if [ "$SM_KILL" = 1 ]; then
    start_webhook --delay-ms 150-300 --peer-log "$T/hook.peer"
    LEASE_MS=3000
else
    start_webhook --delay-ms 1-5 --peer-log "$T/hook.peer"
fi
EXTRA_CONFIG="schedule = { poll_ms = 100; };
rules = ( { name = \"incidents\"; match = { provider = \"webhook\"; };
            verdict = \"state_machine\"; machine = \"incident\"; } );
state_machines = ( { name = \"incident\"; fingerprint = \"{payload.alert}\"; initial = \"new\";
    states = [\"new\", \"open\", \"acked\", \"resolved\", \"stale\"];
    transitions = ( { from = [\"new\", \"resolved\", \"stale\"]; to = \"open\"; on = \"alert\"; },
                    { from = [\"open\"]; to = \"acked\"; on = \"ack\"; },
                    { from = [\"open\", \"acked\"]; to = \"resolved\"; on = \"resolve\"; } );
    timeouts = ( { in = \"open\"; after_s = 2; to = \"stale\"; } );
    retention_s = 3600; } );"
BASE_URL=$HOOK_URL
for w in w1 w2 w3; do
    [ "$SM_KILL" = 1 ] && HOOK_URL="$BASE_URL/$w"
    write_config "$T/$w.conf"
done
cp "$T/w1.conf" "$T/worker.conf" # produce_file reads it
"$WORKER" --log-level warn migrate -c "$T/worker.conf" >"$T/migrate.log" 2>&1 \
    || fail "migrate: $(cat "$T/migrate.log")"
"$WORKER" config check -c "$T/worker.conf" >"$T/check.txt" || fail "config check"
grep -q 'machine = "incident"' "$T/check.txt" || fail "config check does not print the rule's machine"

start_worker w1 "$T/w1.conf"; W1=$WORKER_PID
start_worker w2 "$T/w2.conf"; W2=$WORKER_PID
workers=(w1 w2)
if [ "$SM_KILL" != 1 ]; then
    start_worker w3 "$T/w3.conf"; W3=$WORKER_PID
    workers+=(w3)
fi
wait_for 60 "partitions at all the workers" workers_assigned "${workers[@]}"
python3 - "$T/actions.jsonl" <<'PY'
import json, random, sys
rng = random.Random(20)
with open(sys.argv[1], "w") as f:
    for k in range(6):
        for e in range(100):
            t = rng.choice(["alert", "alert", "ack", "resolve"])
            f.write(json.dumps({"id": f"sm-{e:03d}-{k}", "namespace": "it", "tenant": "acme",
                                "provider": "webhook", "action_type": t,
                                "payload": {"alert": f"ev-{e:03d}"}}) + "\n")
PY
SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ) # this run's audit records only (a shared database)
produce_file "$T/actions.jsonl"
KILLED_ARGS=()
if [ "$SM_KILL" = 1 ]; then
    kill_in_call w2 "$W2"
    start_worker w3 "$T/w3.conf"; W3=$WORKER_PID
    KILLED_ARGS=(--peer-log "$T/hook.peer" --killed /hook/w2)
fi
check_until 180 "600 replies and every timeout fired" check_state_machine.py \
    --actions "$T/actions.jsonl" --replies "$T/replies.jsonl" --hook-log "$HOOK_LOG" \
    "${KILLED_ARGS[@]}"
head -1 "$T/check.out"
for e in ev-000 ev-042 ev-099; do
    want=$(awk -v e="$e" '$1 == "last" && $2 == e { print $3 " " $4 }' "$T/check.out")
    "$WORKER" --log-level warn state get -c "$T/worker.conf" --machine incident "$e" \
        >"$T/state-$e.json" 2>"$T/state-$e.err" || fail "state get $e: $(cat "$T/state-$e.err")"
    got=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["state"], e["seq"])' \
        "$T/state-$e.json")
    [ "$got" = "$want" ] || fail "state get $e: $got, the replies say $want"
done
if [ "${AUDIT_BACKEND:-memory}" != memory ]; then
    # The audit trail holds one state_changed record per move, timeouts
    # included (their outcome passes the audit's CHECK: migration 0008).
    moves=$(sed -n 's/.* \([0-9]*\) moves over .*/\1/p' "$T/check.out")
    audited_moves() {
        local n
        n=$("$WORKER" --log-level warn audit search -c "$T/worker.conf" --outcome state_changed \
            --since "$SINCE" --all 2>>"$T/search.err" | grep -c '"record_id"')
        [ "$n" -eq "$moves" ]
    }
    wait_for 60 "$moves state_changed audit records" audited_moves
    # Every record of one event carries its fingerprint: its moves by
    # `audit search --fingerprint` are the replies' (seq 1..n).
    want=$(awk '$1 == "last" && $2 == "ev-042" { print $4 }' "$T/check.out")
    got=$("$WORKER" --log-level warn audit search -c "$T/worker.conf" --fingerprint ev-042 \
        --outcome state_changed --since "$SINCE" --all | grep -c '"fingerprint":"ev-042"')
    [ "$got" -eq "$want" ] || fail "audit search --fingerprint ev-042: $got moves, the replies say $want"
fi
if declare -F audit_wipe >/dev/null; then
    # Replay rebuilds the trail of state outcomes (state_changed, timeouts'
    # and refusals' records, fingerprints) from the reply topic.
    check_replay_rebuilds '"outcome":"state_changed"' '"fingerprint"' '"action_type":"timeout"'
fi
if [ "$SM_KILL" = 1 ]; then
    pass "kill -9 of a worker on $STATE_BACKEND: every event's moves seq 1..n once each, the killed worker's moves found by their retries, timeouts fired once"
else
    pass "3 workers on $STATE_BACKEND: 600 actions over 100 events, every event's moves seq 1..n once each, timeouts fired once, one call per move"
    stop_worker "$W2"
fi
stop_worker "$W1"
stop_worker "$W3"
