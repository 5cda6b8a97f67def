#!/usr/bin/env python3
"""A delaying throttle (docs/rules.md, on_limit = "delay"), checked from the
reply topic and the webhook target's peer log (rules_delay_body.sh).

  rules_delay_check.py --ids F --replies F --peer-log F --max-count M
                       --window-s W [--slack-ms E]

Every action id: exactly one webhook call; its replies are either one
`executed` record (ran in the window it arrived in) or one `scheduled`
record carrying the rule's details (not_before = the start of a window)
followed by one `executed` record of its run (record_id ...:run), whose
webhook call arrived no earlier than not_before - E ms. Nothing throttled,
rejected or failed. Calls per window of the wall clock (by arrival): M in
every window from the first to the one before the last, the rest (1..M) in
the last, and no window skipped: the limit was used to the full, never
exceeded. Exit 1 with the reasons otherwise."""
import argparse
import datetime
import json
import sys
from collections import Counter, defaultdict


def parse(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000 + 0.5)


ap = argparse.ArgumentParser()
ap.add_argument("--ids", required=True)
ap.add_argument("--replies", required=True)
ap.add_argument("--peer-log", required=True)
ap.add_argument("--max-count", type=int, required=True)
ap.add_argument("--window-s", type=int, required=True)
ap.add_argument("--slack-ms", type=int, default=5)
a = ap.parse_args()

ids = {l.strip() for l in open(a.ids) if l.strip()}
bad = []
records = {}  # record_id -> reply (one outcome per record_id)
for line in open(a.replies):
    if not line.strip():
        continue
    r = json.loads(line)
    old = records.get(r["record_id"])
    if old and old["outcome"] != r["outcome"]:
        bad.append(f"{r['record_id']}: outcomes {old['outcome']} and {r['outcome']}")
    records[r["record_id"]] = r
by_id = defaultdict(list)
for r in records.values():
    by_id[r["action_id"]].append(r)

calls = defaultdict(list)
for line in open(a.peer_log):
    f = line.rstrip("\n").split("\t")
    if len(f) >= 7:
        calls[f[0]].append(int(f[6]))  # realtime ms at arrival

window_ms = a.window_s * 1000
direct = delayed = 0
for aid in sorted(ids):
    got = calls.get(aid, [])
    rs = sorted(by_id.get(aid, []), key=lambda r: r["record_id"])
    outcomes = [(r["record_id"].endswith(":run"), r["outcome"]) for r in rs]
    if len(got) != 1:
        bad.append(f"{aid}: {len(got)} webhook calls, want 1")
    if outcomes == [(False, "executed")]:
        direct += 1
    elif outcomes == [(False, "scheduled"), (True, "executed")]:
        delayed += 1
        d = rs[0].get("details", {})
        if d.get("rule") != "delayer" or d.get("max_count") != a.max_count:
            bad.append(f"{aid}: scheduled without the rule's details: {d}")
        nb = parse(d["not_before"]) if "not_before" in d else -1
        if nb % window_ms:
            bad.append(f"{aid}: not_before {d.get('not_before')} is not a window's start")
        if got and got[0] < nb - a.slack_ms:
            bad.append(f"{aid}: called at {got[0]}, {nb - got[0]} ms before its not_before")
    else:
        bad.append(f"{aid}: replies {outcomes}, want executed, or scheduled then executed (:run)")

per_window = Counter(t[0] // window_ms for t in calls.values() if t)
wins = sorted(per_window)
counts = [per_window.get(w, 0) for w in range(wins[0], wins[-1] + 1)] if wins else []
print(f"{len(ids)} actions: {direct} executed at once, {delayed} delayed then executed; "
      f"calls per {a.window_s} s window: {counts}")
if counts and (any(c != a.max_count for c in counts[:-1]) or not 1 <= counts[-1] <= a.max_count):
    bad.append(f"calls per window {counts}: want {a.max_count} in each but the last")
for b in bad[:20]:
    print("BAD:", b)
if len(bad) > 20:
    print(f"... and {len(bad) - 20} more")
sys.exit(1 if bad else 0)
