# The body of the chain tests (sourced by test_rules_chain_<backend>.sh,
# which set STATE_BACKEND and STATE_URL first): three worker processes in
# one group run the chains of one rule in the shared state backend.
#   chain "order": reserve -> charge -> ship, each a webhook call whose
#   payload is {"order": the trigger's payload.order_id, "prev": the step
#   before's result id} (the webhook answers {"ok":true,"id":<action id>},
#   so charge's prev is "<chain id>:reserve").
#   200 triggers (action_type "order"), keyed by their own ids.
# Checked from the reply topic, the webhook's peer and detail logs
# (check_chain.py): one chain_started per trigger, one chain_completed per
# chain listing the 3 steps executed once each (with the trigger's metadata), each step called exactly
# once with the payload its template makes; `acteon-worker chain get`
# shows a chain completed; with an audit backend other than memory, one
# chain_completed record per chain and `audit search --chain ID` finding a
# chain's 5 records (trigger, steps, end); /metrics counts the steps.
#
# With CHAIN_KILL=1 (test_rules_chain_kill9_redis.sh): the webhook answers
# after 150-300 ms, dedup and
# due leases last 3 s; once w2 has a step call in flight it is killed with
# SIGKILL and w3 started. w2's chains are continued by the others from
# their records: every chain completes; a step may be called twice only if
# its earlier call was w2's, and then with a higher fencing token.

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
CHAIN_KILL=${CHAIN_KILL:-0}
N_CHAINS=${N_CHAINS:-200}
DELAY=1-5 SCHEDULE_LEASE_MS=10000
[ "$CHAIN_KILL" != 1 ] || DELAY=150-300 LEASE_MS=3000 SCHEDULE_LEASE_MS=3000
start_webhook --delay-ms "$DELAY" --peer-log "$T/hook.peer" --detail-log "$T/hook.detail"
EXTRA_CONFIG="schedule = { poll_ms = 100; lease_ms = $SCHEDULE_LEASE_MS; batch_size = 100; };
http = { listen = \"127.0.0.1:0\"; };
$(cat <<'CONF'
rules = ( { name = "orders"; match = { action_type = "order"; };
            verdict = "chain"; chain = "order"; } );
chains = ( { name = "order"; retention_s = 3600; steps = (
    { name = "reserve"; provider = "webhook"; action_type = "reserve";
      payload = "{\"order\": {{action.payload.order_id}}, \"prev\": null}"; },
    { name = "charge"; provider = "webhook"; action_type = "charge";
      payload = "{\"order\": {{action.payload.order_id}}, \"prev\": {{steps.reserve.result.id}}}"; },
    { name = "ship"; provider = "webhook"; action_type = "ship";
      payload = "{\"order\": {{action.payload.order_id}}, \"prev\": {{steps.charge.result.id}}}"; } ); } );
CONF
)"
write_worker_configs w1 w2 w3 # each calls its own path (/hook/w1 ...)
grep -q 'chain = "order"' "$T/config-check.log" || fail "config check does not print the rule's chain"
grep -q 'name = "charge"' "$T/config-check.log" || fail "config check does not print the chain's steps"

start_worker w1 "$T/w1.conf"; W1=$WORKER_PID
start_worker w2 "$T/w2.conf"; W2=$WORKER_PID
workers=(w1 w2)
if [ "$CHAIN_KILL" != 1 ]; then
    start_worker w3 "$T/w3.conf"; W3=$WORKER_PID
    workers+=(w3)
fi
wait_for 60 "partitions at all the workers" workers_assigned "${workers[@]}"
python3 - "$T/actions.jsonl" "$N_CHAINS" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for k in range(int(sys.argv[2])):
        f.write(json.dumps({"id": f"ord-{k:03d}", "namespace": "it", "tenant": "acme",
                            "provider": "webhook", "action_type": "order",
                            "payload": {"order_id": f"o-{k:03d}"},
                            "metadata": {"order": f"o-{k:03d}"}}) + "\n")
PY
SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ) # this run's audit records only (a shared database)
produce_file "$T/actions.jsonl"
KILLED_ARGS=()
if [ "$CHAIN_KILL" = 1 ]; then
    kill_in_call w2 "$W2"
    start_worker w3 "$T/w3.conf"; W3=$WORKER_PID
    KILLED_ARGS=(--killed /hook/w2)
fi
check_args() {
    echo --actions "$T/actions.jsonl" --replies "$T/replies.jsonl" --peer-log "$T/hook.peer" \
        --detail-log "$T/hook.detail" --steps reserve,charge,ship "${KILLED_ARGS[@]}"
}
check_until 180 "$N_CHAINS chains completed" check_chain.py $(check_args)
head -1 "$T/check.out"
cid=$(awk '$1 == "chain" { print $2 }' "$T/check.out")
"$WORKER" --log-level warn chain get -c "$T/worker.conf" "$cid" >"$T/chain.json" \
    2>"$T/chain.err" || fail "chain get $cid: $(cat "$T/chain.err")"
python3 - "$T/chain.json" <<'PY' || fail "chain get: $(cat "$T/chain.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "completed", d["status"]
assert [s["step"] for s in d["steps"]] == ["reserve", "charge", "ship"], d["steps"]
assert d["steps"][1]["result"]["id"] == d["id"] + ":charge", d["steps"][1]
PY
if [ "$CHAIN_KILL" != 1 ]; then
    # Counted where the chain's record changed, so once across replicas.
    metric_sum() {
        local total=0 w n
        for w in w1 w2 w3; do
            curl -sf "$(metrics_url "$T/$w.log")" >"$T/metrics-$w.txt" || fail "/metrics of $w"
            n=$(metric "$1" "$T/metrics-$w.txt")
            total=$((total + ${n:-0}))
        done
        echo "$total"
    }
    [ "$(metric_sum acteon_chain_steps_total)" -eq $((3 * N_CHAINS)) ] \
        || fail "acteon_chain_steps_total summed over the workers: not $((3 * N_CHAINS))"
    [ "$(metric_sum 'acteon_chains_total{event="started"}')" -eq "$N_CHAINS" ] \
        || fail "chains started summed over the workers: not $N_CHAINS"
    [ "$(metric_sum 'acteon_chains_total{event="completed"}')" -eq "$N_CHAINS" ] \
        || fail "chains completed summed over the workers: not $N_CHAINS"
    [ "$(metric_sum acteon_chain_start_seconds_count)" -ge "$N_CHAINS" ] \
        || fail "acteon_chain_start_seconds_count summed over the workers: below $N_CHAINS"
fi
if [ "${AUDIT_BACKEND:-memory}" != memory ]; then
    # The audit trail holds one chain_completed record per chain (the
    # outcome passes the audit's CHECK: migration 0010).
    audited_ends() {
        local n
        n=$("$WORKER" --log-level warn audit search -c "$T/worker.conf" --outcome chain_completed \
            --since "$SINCE" --all 2>>"$T/search.err" | grep -c '"record_id"')
        [ "$n" -eq "$N_CHAINS" ]
    }
    wait_for 60 "$N_CHAINS chain_completed audit records" audited_ends
    # A chain's records, found by its id: the trigger, its 3 steps, its end.
    "$WORKER" --log-level warn audit search -c "$T/worker.conf" --chain "$cid" --all \
        >"$T/chain-records.jsonl" 2>>"$T/search.err" || fail "audit search --chain $cid"
    python3 - "$T/chain-records.jsonl" "$cid" <<'PY' || fail "audit search --chain $cid: $(cat "$T/chain-records.jsonl")"
import json, sys
cid = sys.argv[2]
rs = [r for r in map(json.loads, filter(str.strip, open(sys.argv[1]))) if "record_id" in r]
assert all(r["chain_id"] == cid for r in rs), rs
outs = sorted(r["outcome"] for r in rs)
assert outs == sorted(["chain_started", "executed", "executed", "executed",
                       "chain_completed"]), outs
runs = sorted(r["record_id"].rsplit(":", 1)[1] for r in rs if r["record_id"].startswith("chain:"))
assert runs == ["charge", "end", "reserve", "ship"], runs
PY
fi
if declare -F audit_wipe >/dev/null; then
    # Replay rebuilds a chain's whole trail from the reply topic: triggers,
    # every step run (replied like any action) and the ends.
    check_replay_rebuilds '"outcome":"chain_started"' '"outcome":"chain_completed"' \
        ':reserve","action_id"' '"chain_id"'
fi
if [ "$CHAIN_KILL" = 1 ]; then
    pass "kill -9 of a worker on $STATE_BACKEND: $N_CHAINS chains of 3 steps completed, a step called again only if the killed worker had called it, with a higher token"
else
    pass "3 workers on $STATE_BACKEND: $N_CHAINS chains of 3 steps completed, each step called exactly once, its payload from the step before's result"
    stop_worker "$W2"
fi
stop_worker "$W1"
stop_worker "$W3"
