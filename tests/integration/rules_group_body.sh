# The body of the group tests (sourced by test_rules_group_<backend>.sh,
# which set STATE_BACKEND and STATE_URL first): three worker processes in
# one group join 10,000 alerts to the groups of one group rule in the shared
# state backend.
#   rule "alerts": group_by {payload.host}, max_size 20, window_ms 600000
#   (longer than the test may wait: every group must flush because it is
#   full, at once, so the count of groups is exact and a full group left
#   waiting for its window fails the test); 500 hosts, 20 alerts each, interleaved
#   (alert n is host n % 500) and keyed by their own ids, so one group's
#   members spread over the partitions and the three workers race to join
#   them.
# Checked from the reply topic and the webhook's logs (check_group.py):
# every alert replied grouped with its group's id; exactly 500 grouped
# calls (one per group id), each listing 20 members, complete and disjoint,
# each member's reply naming that group; each group replied group_flushed;
# `acteon-worker group get` shows a group closed with its 20 members; with
# an audit backend other than memory, 500 group_flushed records, and
# `audit search --group ID` finds a group's 20 members and its call; with
# audit_wipe (the PostgreSQL test), replay rebuilds the trail.
#
# ALERTS (default 10000, a multiple of 20) scales the run down for a slow
# backend (test_rules_group_dynamodb.sh: dynalite, one Node thread).
#
# With GROUP_KILL=1 (test_rules_group_kill9_redis.sh): each worker calls its
# own path (/hook/w1 ...), the webhook answers after 150-300 ms, dedup and
# due leases last 3 s; once w2 has a grouped call in flight it is killed
# with SIGKILL and w3 started. w2's members are redelivered and found joined
# (no member twice); its flushes are taken again after their due lease and
# find their group closed: a group is called twice only if its first call
# was w2's, the second with a higher fencing token.

start_kafka "$ACTIONS_TOPIC:8" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
GROUP_KILL=${GROUP_KILL:-0}
ALERTS=${ALERTS:-10000}
HOSTS=$((ALERTS / 20))
if [ "$GROUP_KILL" = 1 ]; then
    start_webhook --delay-ms 150-300 --peer-log "$T/hook.peer" --detail-log "$T/hook.detail"
    LEASE_MS=3000
    SCHEDULE_LEASE_MS=3000
else
    start_webhook --delay-ms 1-5 --peer-log "$T/hook.peer" --detail-log "$T/hook.detail"
    SCHEDULE_LEASE_MS=10000
fi
EXTRA_CONFIG="schedule = { poll_ms = 100; lease_ms = $SCHEDULE_LEASE_MS; };
rules = ( { name = \"alerts\"; match = { provider = \"webhook\"; };
            verdict = \"group\"; group_by = \"{payload.host}\"; window_ms = 600000;
            max_size = 20; group_action_type = \"alert_group\"; } );"
write_worker_configs w1 w2 w3
[ "$GROUP_KILL" = 1 ] || for w in w2 w3; do cp "$T/w1.conf" "$T/$w.conf"; done
grep -q 'group_by = "{payload.host}"' "$T/config-check.log" \
    || fail "config check does not print the rule's group_by"

start_worker w1 "$T/w1.conf"; W1=$WORKER_PID
start_worker w2 "$T/w2.conf"; W2=$WORKER_PID
workers=(w1 w2)
if [ "$GROUP_KILL" != 1 ]; then
    start_worker w3 "$T/w3.conf"; W3=$WORKER_PID
    workers+=(w3)
fi
wait_for 60 "partitions at all the workers" workers_assigned "${workers[@]}"
python3 - "$T/actions.jsonl" "$ALERTS" "$HOSTS" <<'PY'
import json, sys
alerts, hosts = int(sys.argv[2]), int(sys.argv[3])
with open(sys.argv[1], "w") as f:
    for n in range(alerts):
        f.write(json.dumps({"id": f"al-{n:05d}", "namespace": "it", "tenant": "acme",
                            "provider": "webhook", "action_type": "alert",
                            "payload": {"host": f"host-{n % hosts:03d}", "n": n}}) + "\n")
PY
SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ) # this run's audit records only (a shared database)
produce_file "$T/actions.jsonl"
KILLED_ARGS=()
if [ "$GROUP_KILL" = 1 ]; then
    kill_in_call w2 "$W2"
    start_worker w3 "$T/w3.conf"; W3=$WORKER_PID
    KILLED_ARGS=(--killed /hook/w2)
fi
check_args() {
    echo --actions "$T/actions.jsonl" --replies "$T/replies.jsonl" --hook-log "$HOOK_LOG" \
        --detail-log "$T/hook.detail" --peer-log "$T/hook.peer" --groups "$HOSTS" --size 20 \
        "${KILLED_ARGS[@]}"
}
check_until 180 "$ALERTS replies and $HOSTS grouped calls" check_group.py $(check_args)
cat "$T/check.out"
gid=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["outcome"] == "grouped": print(r["details"]["group"]["id"]); break' "$T/replies.jsonl")
"$WORKER" --log-level warn group get -c "$T/worker.conf" "$gid" >"$T/group.json" \
    2>"$T/group.err" || fail "group get $gid: $(cat "$T/group.err")"
python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))
assert g["state"] == "closed" and len(g["members"]) == 20, g' "$T/group.json" \
    || fail "group get $gid: not closed with 20 members"
if [ "${AUDIT_BACKEND:-memory}" != memory ] && [ "$GROUP_KILL" != 1 ]; then
    audited_flushes() {
        local n
        n=$("$WORKER" --log-level warn audit search -c "$T/worker.conf" --outcome group_flushed \
            --since "$SINCE" --all 2>>"$T/search.err" | grep -c '"record_id"')
        [ "$n" -eq "$HOSTS" ]
    }
    wait_for 60 "$HOSTS group_flushed audit records" audited_flushes
    # One group's trail: its 20 members and its call, by group id.
    n=$("$WORKER" --log-level warn audit search -c "$T/worker.conf" --group "$gid" --all \
        2>>"$T/search.err" | grep -c '"record_id"')
    [ "$n" -eq 21 ] || fail "audit search --group $gid: $n records, not 21 (20 members, 1 call)"
fi
if declare -F audit_wipe >/dev/null; then
    # Replay rebuilds the trail of the group outcomes (members' and calls'
    # records, their group ids) from the reply topic.
    check_replay_rebuilds '"outcome":"grouped"' '"outcome":"group_flushed"' '"group_id"'
fi
if [ "$GROUP_KILL" = 1 ]; then
    pass "kill -9 of a worker on $STATE_BACKEND: $ALERTS alerts in $HOSTS groups of 20, complete and disjoint, a group called again only after the killed worker's call, with a higher token"
else
    pass "3 workers on $STATE_BACKEND: $ALERTS alerts in $HOSTS groups of 20, exactly $HOSTS grouped calls, member lists complete and disjoint"
    stop_worker "$W2"
fi
stop_worker "$W1"
stop_worker "$W3"
