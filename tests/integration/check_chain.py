#!/usr/bin/env python3
"""Check the replies of a chain rule run (rules_chain_body.sh).

  check_chain.py --actions FILE --replies FILE --peer-log FILE --detail-log FILE
                 --steps a,b,c [--wait] [--killed PATH]

Every trigger (the actions file) has exactly one outcome, chain_started,
naming its chain's id; every chain has its end replied (record_id
chain:<id>:end), chain_completed, listing one executed run of every step
in order (the same content if replied again), with the trigger's
metadata. The webhook saw each step's
action (id <chain id>:<step>) called exactly once, its body's payload
built from the trigger and the step before: payload.order is the trigger's
order_id, payload.prev the step before's result id (its answer body's id,
which the webhook answers with the action's id). With --killed (the URL
path of a worker killed with SIGKILL) a step may have been called more
than once if every call but its last was the killed worker's and the last
call carried a higher fencing token. With --wait: exit 3, quietly, while
replies are still missing."""
import argparse
import collections
import json
import sys

import checklib
from checklib import load_actions

ap = argparse.ArgumentParser()
ap.add_argument("--actions", required=True)
ap.add_argument("--replies", required=True)
ap.add_argument("--peer-log", required=True)
ap.add_argument("--detail-log", required=True)
ap.add_argument("--steps", required=True)
ap.add_argument("--wait", action="store_true")
ap.add_argument("--killed")
args = ap.parse_args()
steps = args.steps.split(",")

actions = load_actions(args.actions)


def incomplete(msg):
    checklib.incomplete(msg, args.wait)


started = {}  # trigger id -> chain id
ends = {}     # chain id -> reply
step_replies = collections.defaultdict(dict)  # chain id -> record id -> reply
with open(args.replies) as f:
    for line in f:
        if not line.strip():
            continue
        r = json.loads(line)
        if r["record_id"].startswith("chain:") and not r["record_id"].endswith(":end"):
            # a step's run (replied like any action; its chain in chain_id)
            step_replies[r["chain_id"]][r["record_id"]] = r
            continue
        if r["record_id"].startswith("chain:"):
            cid = r["details"]["chain"]["id"]
            if r["record_id"] != f"chain:{cid}:end":
                sys.exit(f"a chain reply that is not an end: {r['record_id']}")
            prev = ends.get(cid)
            if prev is not None and (prev["outcome"], prev["details"]) != (r["outcome"],
                                                                           r["details"]):
                sys.exit(f"chain {cid}: its end replied twice, differently")
            ends[cid] = r
            continue
        if r["outcome"] != "chain_started":
            sys.exit(f"{r['action_id']}: outcome {r['outcome']}: {r['details']}")
        cid = r["details"]["chain"]["id"]
        if started.setdefault(r["action_id"], cid) != cid:
            sys.exit(f"{r['action_id']}: two chains {started[r['action_id']]} and {cid}")
if set(started) - set(actions):
    sys.exit(f"replies for unknown triggers: {sorted(set(started) - set(actions))[:5]}")
if len(set(started.values())) != len(started):
    sys.exit("two triggers share a chain id")
if len(started) < len(actions):
    incomplete(f"{len(started)} of {len(actions)} triggers answered")
missing = [c for c in started.values() if c not in ends]
if missing:
    incomplete(f"{len(missing)} chain(s) without their end, e.g. {missing[:3]}")
trigger_of = {cid: a for a, cid in started.items()}
for cid, r in ends.items():
    d = r["details"]
    if r.get("metadata") != actions[trigger_of[cid]].get("metadata"):
        sys.exit(f"chain {cid}: its end's metadata {r.get('metadata')} is not the trigger's")
    runs = [(s["step"], s["attempt"], s["outcome"]) for s in d["steps"]]
    if r["outcome"] != "chain_completed" or d["chain"]["status"] != "completed" or \
            runs != [(s, 1, "executed") for s in steps]:
        sys.exit(f"chain {cid}: {r['outcome']} {d}")
    # every step run replied too, with the outcome the end lists (an end
    # is stored after its steps' records are durable, not after their
    # replies are read here: a missing one may still come)
    got = {k: v["outcome"] for k, v in step_replies.get(cid, {}).items()}
    want_steps = {f"chain:{cid}:{s}": "executed" for s in steps}
    if got != want_steps:
        if set(got) <= set(want_steps) and all(got[k] == want_steps[k] for k in got):
            incomplete(f"chain {cid}: {len(got)} of {len(steps)} step replies")
        sys.exit(f"chain {cid}: step replies {got}, want {want_steps}")

calls = collections.defaultdict(list)  # action id -> [(arrival ms, token, path)]
with open(args.peer_log) as f:
    for line in f:
        if line.strip():
            x = line.rstrip("\n").split("\t")
            calls[x[0]].append((int(x[6]), int(x[1]), x[9]))
want = {f"{cid}:{s}" for cid in started.values() for s in steps}
if set(calls) != want:
    sys.exit(f"calls of unknown actions: {sorted(set(calls) - want)[:5]}; "
             f"steps never called: {sorted(want - set(calls))[:5]}")
again = 0
for i, cs in calls.items():
    if len(cs) == 1:
        continue
    cs.sort()
    ok = args.killed and all(p == args.killed for _, _, p in cs[:-1]) and \
        all(cs[k][1] < cs[k + 1][1] for k in range(len(cs) - 1))
    if not ok:
        sys.exit(f"{i} called {len(cs)} times: {cs}")
    again += 1

order_of = {cid: actions[a]["payload"]["order_id"] for a, cid in started.items()}
bodies = 0
with open(args.detail_log) as f:
    for line in f:
        if not line.strip():
            continue
        b = json.loads(json.loads(line)["body"])
        cid, step = b["id"].split(":")
        p = b["payload"]
        k = steps.index(step)
        prev = f"{cid}:{steps[k - 1]}" if k else None
        if p.get("order") != order_of[cid] or p.get("prev") != prev:
            sys.exit(f"{b['id']}: payload {p}, wanted order {order_of[cid]} and prev {prev}")
        bodies += 1
print(f"{len(actions)} triggers: {len(ends)} chains completed, {len(want)} steps called, "
      f"{again} called again after the kill, {bodies} payloads checked")
print("chain", next(iter(started.values())))
