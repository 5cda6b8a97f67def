#!/usr/bin/env python3
"""Check the webhook calls of a lock-rule run (tests/integration/rules_lock_body.sh).

  check_lock_calls.py --actions FILE --key MEMBER --peer-log FILE
                      --detail-log FILE --replies FILE [--killed PATH]

--actions: the produced actions (JSON lines); an action's lock key is its
payload member MEMBER. --peer-log and --detail-log: the webhook target's
logs (tests/support/webhook_target.c); both are written under one mutex,
one line each per call in the same order, so line i of one is line i of
the other (checked by the action id).

Asserts:
  - exactly one call per action, each with an X-Acteon-Lock-Token; with
    --killed PATH (the URL path of a worker killed with SIGKILL) an action
    may have more calls if every one but its last was made to PATH;
  - per lock key, no two calls overlap: sorted by arrival, each arrives no
    earlier than every earlier one was answered (realtime ms at the target;
    the answer time is read before the answer is queued, so a following
    call made after the answer can only arrive at the same ms or later);
  - per lock key, the lock tokens rise strictly in arrival order;
  - every executed reply's details carry lock {key, token} equal to the
    call's key and token."""
import argparse
import json
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--actions", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--peer-log", required=True)
ap.add_argument("--detail-log", required=True)
ap.add_argument("--replies", required=True)
ap.add_argument("--killed")
args = ap.parse_args()

key_of = {}
with open(args.actions) as f:
    for line in f:
        a = json.loads(line)
        key_of[a["id"]] = str(a["payload"][args.key])

with open(args.peer_log) as f:
    peer = [line.rstrip("\n").split("\t") for line in f if line.strip()]
with open(args.detail_log) as f:
    detail = [json.loads(line) for line in f if line.strip()]
if len(peer) != len(detail):
    sys.exit(f"peer log has {len(peer)} lines, detail log {len(detail)}")

calls = []  # (key, arrived_ms, answered_ms, token, action id, path)
for i, (p, d) in enumerate(zip(peer, detail)):
    aid = p[0]
    h = d["headers"]
    if h.get("x-acteon-action-id") != aid:
        sys.exit(f"line {i + 1}: peer log id {aid}, detail log id {h.get('x-acteon-action-id')}")
    if p[4] != "200":
        sys.exit(f"call {i + 1} ({aid}) answered {p[4]}: the test expects no failures")
    tok = h.get("x-acteon-lock-token")
    if not tok or not tok.isdigit() or int(tok) == 0:
        sys.exit(f"call of {aid} without an X-Acteon-Lock-Token: {h}")
    if aid not in key_of:
        sys.exit(f"call of {aid}, which was not produced")
    calls.append((key_of[aid], int(p[6]), int(p[8]), int(tok), aid, p[9]))

ids = [c[4] for c in calls]
missing = set(key_of) - set(ids)
if missing:
    sys.exit(f"want a call per action: {len(missing)} missing, e.g. {sorted(missing)[:3]}")
repeated = 0
by_action = {}
for c in calls:
    by_action.setdefault(c[4], []).append(c)
for aid, cs in by_action.items():
    if len(cs) == 1:
        continue
    repeated += 1
    cs = sorted(cs, key=lambda c: c[1])
    if not args.killed or any(c[5] != args.killed for c in cs[:-1]):
        sys.exit(f"{aid} called {len(cs)} times, paths {[c[5] for c in cs]}: only a call "
                 f"of a killed worker ({args.killed}) may be repeated")

by_key = {}
for c in calls:
    by_key.setdefault(c[0], []).append(c)
worst_gap = None
for k, cs in sorted(by_key.items()):
    cs.sort(key=lambda c: (c[1], c[3]))
    answered = None
    for prev, cur in zip(cs, cs[1:]):
        answered = max(answered or prev[2], prev[2])
        if cur[1] < answered:
            sys.exit(f"key {k}: {cur[4]} arrived at {cur[1]} before {prev[4]} (or an earlier "
                     f"call) was answered at {answered}: two calls overlap")
        if cur[3] <= prev[3]:
            sys.exit(f"key {k}: lock token {cur[3]} of {cur[4]} after {prev[3]} of {prev[4]}")
        gap = cur[1] - prev[2]
        worst_gap = gap if worst_gap is None else max(worst_gap, gap)

token_of = {c[4]: (c[0], c[3]) for c in sorted(calls, key=lambda c: c[1])}  # the last
n_checked = 0
with open(args.replies) as f:
    for line in f:
        if not line.strip():
            continue
        r = json.loads(line)
        if r["outcome"] != "executed":
            continue
        lock = (r.get("details") or {}).get("lock")
        want = token_of.get(r["action_id"])
        if not isinstance(lock, dict) or (lock.get("key"), lock.get("token")) != want:
            sys.exit(f"reply of {r['action_id']}: details.lock {lock}, the call had {want}")
        n_checked += 1

spans = {k: (cs[-1][2] - cs[0][1]) for k, cs in by_key.items()}
print(f"lock calls: {len(calls)} ({repeated} actions repeated) over {len(by_key)} keys, "
      f"none overlapping, tokens rising; "
      f"{n_checked} replies name their lock; per-key span ms {json.dumps(spans, sort_keys=True)}; "
      f"longest gap between a key's calls {worst_gap} ms")
