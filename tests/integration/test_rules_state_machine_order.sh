#!/usr/bin/env bash
# A state machine's events move in their partition's order: 300 events, each
# sent as alert, ack, resolve keyed by the event (kcat: one partition per
# event), to one worker with 8 threads. workers.dispatch = "auto" gives the
# messages of one key to one thread (aw_config_dispatch_by_key), so every
# action finds its event in the state its predecessor left: 900
# state_changed, none suppressed, each event new -> open -> acked ->
# resolved. With WORKERS_DISPATCH=identity (by hand) the actions of an event
# run on different threads and some are refused: that is what the test
# catches (docs/rules.md, "state_machine").
source "$(dirname "$0")/lib.sh"
start_kafka "$ACTIONS_TOPIC:4" "$REPLY_TOPIC:4" "$DLQ_TOPIC:1"
start_webhook --delay-ms 0-3
THREADS=8
WORKERS_EXTRA="dispatch = \"${WORKERS_DISPATCH:-auto}\";"
EXTRA_CONFIG="rules = ( { name = \"incidents\"; match = { provider = \"webhook\"; };
            verdict = \"state_machine\"; machine = \"incident\"; } );
state_machines = ( { name = \"incident\"; fingerprint = \"{payload.alert}\"; initial = \"new\";
    states = [\"new\", \"open\", \"acked\", \"resolved\"];
    transitions = ( { from = [\"new\"]; to = \"open\"; on = \"alert\"; },
                    { from = [\"open\"]; to = \"acked\"; on = \"ack\"; },
                    { from = [\"acked\"]; to = \"resolved\"; on = \"resolve\"; } ); } );"
write_config "$T/worker.conf"
migrate_and_check "$T/worker.conf"
python3 - >"$T/actions.keyed" <<'PY'
import json
for k, t in enumerate(["alert", "ack", "resolve"]):
    for e in range(300):
        a = {"id": f"ord-{e:03d}-{k}", "namespace": "it", "tenant": "acme",
             "provider": "webhook", "action_type": t, "payload": {"alert": f"ev-{e:03d}"}}
        print(f"ev-{e:03d}\t{json.dumps(a)}")
PY
kcat -P -b "$BOOT" -t "$ACTIONS_TOPIC" -K $'\t' -z none <"$T/actions.keyed" 2>"$T/kcat.log" \
    || fail "kcat produce: $(cat "$T/kcat.log")"
start_worker w1 "$T/worker.conf"; W1=$WORKER_PID
wait_for 120 "900 replies" has_distinct_replies 900
read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
python3 - "$T/replies.jsonl" <<'PY' || fail "the events did not move in order"
import json, sys
from collections import Counter
rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = Counter(r["outcome"] for r in rs)
print(f"{len(rs)} replies: {dict(out)}")
bad = [r["action_id"] for r in rs if r["outcome"] != "state_changed"]
if bad:
    sys.exit(f"{len(bad)} actions not applied in order, e.g. {bad[:5]}")
for r in rs:
    s = r["details"]["state"]
    k = int(r["action_id"].rsplit("-", 1)[1])
    want = [("new", "open"), ("open", "acked"), ("acked", "resolved")][k]
    if (s["from"], s["to"], s["seq"]) != (*want, k + 1):
        sys.exit(f"{r['action_id']}: moved {s}, want {want} as move {k + 1}")
PY
grep -q "by their Kafka key" "$T/w1.log" || fail "the worker does not say it dispatches by key"
stop_worker "$W1"
pass "300 events keyed by event, 8 threads: all 900 actions moved their event in order"
