#!/usr/bin/env python3
"""Scheduled actions (docs/scheduling.md), both ends of schedule_body.sh.

  schedule_check.py gen --total N --from-ms A --spread-ms S > actions.jsonl
      N distinct webhook actions, the i-th with not_before = A + i*S/N (ms,
      RFC 3339 UTC with milliseconds), in shuffled order.
  schedule_check.py check --actions F --replies F --peer-log F [--slack-ms E]
      Every action: exactly one webhook call (by action id), arriving no
      earlier than its not_before minus E ms (clock granularity; default 5);
      a `scheduled` reply (record_id <topic>:<p>:<o>, details.not_before
      equal to the action's) and, after it in the reply topic, a final
      reply of its execution (record_id ...:run, the same source), executed.
      Replies may be repeated (idempotent by record_id) but one record_id
      never has two outcomes.
      One reply message of the execution per action (the item is done
      once).
      With --crash --killed PATH (schedule_kill9_body.sh): an action may
      have more than one webhook call, each judged by kill9_check.py
      against the crash bound; here every call, not only the first, must
      arrive no earlier than its not_before, and each action still has one
      `scheduled` and one execution record_id, each with one outcome. An
      action the killed worker called (webhook path PATH) may have its
      execution reply twice: the killed worker sent it, but died before
      its due_done, and the next holder of the item answers from the done
      record."""
import argparse
import datetime
import json
import random
import sys


def rfc3339(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000 + 0.5)


def gen(a):
    lines = []
    for i in range(a.total):
        due = a.from_ms + i * a.spread_ms // a.total
        lines.append(json.dumps({
            "id": f"sch-{i:05d}", "namespace": "it", "tenant": ["acme", "ten:ant"][i % 2],
            "provider": "webhook", "action_type": "remind", "payload": {"n": i},
            "not_before": rfc3339(due)}))
    random.Random(11).shuffle(lines)
    print("\n".join(lines))


def check(a):
    due = {}
    for line in open(a.actions):
        if line.strip():
            x = json.loads(line)
            due[x["id"]] = parse(x["not_before"])
    bad = []
    calls = {}
    by_killed = set()
    for line in open(a.peer_log):
        f = line.rstrip("\n").split("\t")
        if len(f) < 7:
            continue
        calls.setdefault(f[0], []).append(int(f[6]))  # realtime ms at arrival
        if a.killed and len(f) >= 10 and f[9] == a.killed:
            by_killed.add(f[0])
    for aid, when in due.items():
        got = calls.get(aid, [])
        if len(got) != 1 and not (a.crash and got):
            bad.append(f"{aid}: {len(got)} webhook calls, want {'at least ' if a.crash else ''}1")
        for at in got:
            if at < when - a.slack_ms:
                bad.append(f"{aid}: called at {at}, {when - at} ms before its not_before")
    extra = set(calls) - set(due)
    if extra:
        bad.append(f"calls for unknown ids: {sorted(extra)[:5]}")
    outcome = {}  # record_id -> outcome
    first = {}    # (action id, kind) -> position of the first reply
    rids = {}     # (action id, kind) -> its record_ids
    n_replies = 0
    runs = {}     # action id -> execution reply messages
    for pos, line in enumerate(open(a.replies)):
        if not line.strip():
            continue
        r = json.loads(line)
        rid, o = r["record_id"], r["outcome"]
        if outcome.setdefault(rid, o) != o:
            bad.append(f"{rid}: two outcomes, {outcome[rid]} and {o}")
        kind = "run" if rid.endswith(":run") else "scheduled"
        src = r["source"]
        if rid != f'{src["topic"]}:{src["partition"]}:{src["offset"]}' + (":run" if kind == "run" else ""):
            bad.append(f"{rid}: source {src} does not match")
        if kind == "scheduled":
            if o != "scheduled":
                bad.append(f"{rid} ({r['action_id']}): first outcome {o}, want scheduled")
            elif r["action_id"] in due and parse(r["details"]["not_before"]) != due[r["action_id"]]:
                bad.append(f"{rid}: details.not_before {r['details']['not_before']}")
        elif o != "executed":
            bad.append(f"{rid} ({r['action_id']}): execution outcome {o}, want executed")
        first.setdefault((r["action_id"], kind), pos)
        rids.setdefault((r["action_id"], kind), set()).add(rid)
        n_replies += 1
        if kind == "run":
            runs[r["action_id"]] = runs.get(r["action_id"], 0) + 1
    for aid, n in runs.items():
        if n > (2 if aid in by_killed else 1):
            bad.append(f"{aid}: {n} execution replies"
                       f"{' (called by the killed worker)' if aid in by_killed else ''}")
    for (aid, kind), ids in rids.items():
        if len(ids) != 1:
            bad.append(f"{aid}: {len(ids)} {kind} record_ids {sorted(ids)}, want 1")
    for aid in due:
        s, x = first.get((aid, "scheduled")), first.get((aid, "run"))
        if s is None or x is None:
            bad.append(f"{aid}: scheduled reply {'present' if s is not None else 'missing'}, "
                       f"execution reply {'present' if x is not None else 'missing'}")
        elif x < s:
            bad.append(f"{aid}: the execution's reply came before the scheduled one")
    if bad:
        print("\n".join(bad[:20]), file=sys.stderr)
        sys.exit(f"{len(bad)} problem(s)")
    late = sorted(calls[aid][0] - when for aid, when in due.items())
    again = sum(len(calls[aid]) - 1 for aid in due)
    print(f"{len(due)} actions: each scheduled, then executed"
          f"{f' ({again} call(s) again after the crash)' if a.crash else ' once'}, never early; "
          f"first call's lateness ms min {late[0]} median {late[len(late) // 2]} max {late[-1]}; "
          f"{n_replies} reply messages for {len(outcome)} record_ids "
          f"({sum(1 for n in runs.values() if n > 1)} execution replies sent twice)")


ap = argparse.ArgumentParser()
sub = ap.add_subparsers(dest="cmd", required=True)
g = sub.add_parser("gen")
g.add_argument("--total", type=int, required=True)
g.add_argument("--from-ms", type=int, required=True)
g.add_argument("--spread-ms", type=int, required=True)
c = sub.add_parser("check")
c.add_argument("--actions", required=True)
c.add_argument("--replies", required=True)
c.add_argument("--peer-log", required=True)
c.add_argument("--slack-ms", type=int, default=5)
c.add_argument("--crash", action="store_true",
               help="repeated calls allowed here (kill9_check.py judges them)")
c.add_argument("--killed", help="the killed worker's webhook path (with --crash)")
args = ap.parse_args()
gen(args) if args.cmd == "gen" else check(args)
