#!/usr/bin/env python3
"""Check the replies of a state_machine rule run (rules_state_machine_body.sh).

  check_state_machine.py --actions FILE --replies FILE --hook-log FILE [--wait]
                         [--peer-log FILE --killed PATH]

Per event (the machine's fingerprint) the moves, from the actions' replies
(outcome state_changed, details.state) and the timeouts' replies (record_id
event:<machine>:<fingerprint>:<born_ms>:<seq>), must be seq 1..n, each once, each
leaving the state the one before entered (the first leaving "new"), and no
event may end in a state with a timeout ("open": its timeout must have
fired). Every action has exactly one outcome (state_changed or suppressed,
by source), the webhook saw exactly one call per state_changed action and
none for a suppressed one; with --killed (the URL path of a worker killed
with SIGKILL, the calls' paths read from --peer-log) an action may have
been called more than once if every call but its last was the killed
worker's (its done record never written). With --wait: exit 3, quietly, while replies are
still missing or an event still waits for its timeout."""
import argparse
import collections
import json
import sys

import checklib
from checklib import load_actions

ap = argparse.ArgumentParser()
ap.add_argument("--actions", required=True)
ap.add_argument("--replies", required=True)
ap.add_argument("--hook-log", required=True)
ap.add_argument("--timed-state", default="open")
ap.add_argument("--wait", action="store_true")
ap.add_argument("--peer-log")
ap.add_argument("--killed")
args = ap.parse_args()

actions = load_actions(args.actions)


def incomplete(msg):
    checklib.incomplete(msg, args.wait)


by_source = {}   # action replies: source -> reply
timeouts = {}    # record_id -> reply
with open(args.replies) as f:
    for line in f:
        if not line.strip():
            continue
        r = json.loads(line)
        if r["record_id"].startswith("event:"):
            prev = timeouts.get(r["record_id"])
            if prev is not None and prev["details"]["state"] != r["details"]["state"]:
                sys.exit(f"timeout {r['record_id']} replied twice, differently")
            timeouts[r["record_id"]] = r
            continue
        s = r["source"]
        key = (s["topic"], s["partition"], s["offset"])
        prev = by_source.get(key)
        if prev is not None and prev["outcome"] != r["outcome"]:
            sys.exit(f"message {key} has two outcomes: {prev['outcome']} and {r['outcome']}")
        by_source[key] = r

if len(by_source) < len(actions):
    incomplete(f"{len(by_source)} of {len(actions)} action replies")

moves = collections.defaultdict(list)  # fingerprint -> [(seq, from, to, who)]
changed, suppressed = set(), set()
for r in by_source.values():
    d = r["details"]
    a = actions.get(r["action_id"])
    if a is None:
        sys.exit(f"reply for an unknown action {r['action_id']}")
    if r["outcome"] == "state_changed":
        st = d["state"]
        if st["fingerprint"] != a["payload"]["alert"] or st["machine"] != "incident":
            sys.exit(f"{r['action_id']}: details name another event: {st}")
        moves[st["fingerprint"]].append((st["seq"], st["from"], st["to"], r["action_id"]))
        changed.add(r["action_id"])
    elif r["outcome"] == "suppressed":
        for m in ("rule", "reason", "machine", "fingerprint", "state", "action_type"):
            if not isinstance(d.get(m), str):
                sys.exit(f"{r['action_id']}: suppressed without details.{m}: {d}")
        if d["action_type"] != a["action_type"]:
            sys.exit(f"{r['action_id']}: suppressed naming another action_type: {d}")
        suppressed.add(r["action_id"])
    else:
        sys.exit(f"{r['action_id']}: unexpected outcome {r['outcome']}: {d}")
for r in timeouts.values():
    d = r["details"]
    st = d["state"]
    if r["outcome"] != "state_changed" or d.get("timeout") is not True:
        sys.exit(f"timeout {r['record_id']}: {r['outcome']} {d}")
    parts = r["record_id"].rsplit(":", 2)
    if parts[0] != f"event:incident:{st['fingerprint']}" or parts[2] != str(st["seq"]) \
            or not parts[1].isdigit():
        sys.exit(f"timeout {r['record_id']}: details say seq {st['seq']}")
    if st["from"] != args.timed_state:
        sys.exit(f"timeout {r['record_id']}: fired from {st['from']}")
    moves[st["fingerprint"]].append((st["seq"], st["from"], st["to"], r["record_id"]))

waiting = 0
for fp, ms in sorted(moves.items()):
    ms.sort()
    seqs = [m[0] for m in ms]
    if seqs != list(range(1, len(ms) + 1)):
        sys.exit(f"event {fp}: seqs {seqs}: skipped or repeated ({ms})")
    prev = "new"
    for seq, frm, to, who in ms:
        if frm != prev:
            sys.exit(f"event {fp}: seq {seq} ({who}) leaves {frm}, but the event was in {prev}")
        prev = to
    if prev == args.timed_state:
        waiting += 1
if waiting:
    incomplete(f"{waiting} event(s) still in {args.timed_state}: their timeout has not fired")

calls = collections.Counter()
with open(args.hook_log) as f:
    for line in f:
        if line.strip():
            calls[line.split("\t")[0]] += 1
paths = collections.defaultdict(list)  # action id -> the calls' paths, in order
if args.peer_log:
    with open(args.peer_log) as f:
        for line in f:
            if line.strip():
                fields = line.rstrip("\n").split("\t")
                paths[fields[0]].append((int(fields[6]), fields[9]))
twice = [i for i, n in calls.items() if n > 1 and not (
    args.killed and all(p == args.killed for _, p in sorted(paths[i])[:-1]))]
if twice:
    sys.exit(f"called more than once: {twice[:5]} {[sorted(paths[i]) for i in twice[:3]]}")
again = sum(1 for n in calls.values() if n > 1)
retried = sum(1 for r in by_source.values()
              if r["outcome"] == "state_changed" and r["details"]["state"].get("retried"))
if set(calls) != changed:
    sys.exit(f"calls without a state change: {sorted(set(calls) - changed)[:5]}; "
             f"state changes without a call: {sorted(changed - set(calls))[:5]}")
print(f"{len(actions)} actions: {len(changed)} state_changed, {len(suppressed)} suppressed; "
      f"{len(timeouts)} timeouts fired; {sum(len(m) for m in moves.values())} moves over "
      f"{len(moves)} events, every chain complete; {again} called again after the kill, "
      f"{retried} moves found made by a killed attempt")
for fp, ms in sorted(moves.items()):
    print(f"last {fp} {ms[-1][2]} {ms[-1][0]}")
