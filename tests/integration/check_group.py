#!/usr/bin/env python3
"""Check the calls and replies of a group rule run (rules_group_body.sh).

  check_group.py --actions FILE --replies FILE --hook-log FILE --detail-log FILE
                 --groups N --size N [--wait] [--peer-log FILE --killed PATH]

Every action (an alert) has exactly one reply, outcome grouped, naming its
group (details.group.id); each group has a group_flushed reply. The webhook
saw exactly --groups grouped calls (one per group id: a call's action id is
its group id), each listing --size members (payload.members), every member
an alert whose reply names that group and whose payload.host is the group's
key; the member lists are disjoint and cover every alert. With --killed (the
URL path of a worker killed with SIGKILL, the calls' paths and fencing tokens
read from --peer-log) a group may have been called more than once if every
call but its last was the killed worker's, each later call with a higher
fencing token. With --wait: exit 3, quietly, while replies or calls are
still missing."""
import argparse
import collections
import json
import sys

import checklib

ap = argparse.ArgumentParser()
ap.add_argument("--actions", required=True)
ap.add_argument("--replies", required=True)
ap.add_argument("--hook-log", required=True)
ap.add_argument("--detail-log", required=True)
ap.add_argument("--groups", type=int, required=True)
ap.add_argument("--size", type=int, required=True)
ap.add_argument("--wait", action="store_true")
ap.add_argument("--peer-log")
ap.add_argument("--killed")
args = ap.parse_args()


def incomplete(msg):
    checklib.incomplete(msg, args.wait)


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


actions = {a["id"]: a for a in lines(args.actions)}
member_group = {}          # alert id -> group id its reply names
retried = set()            # alerts found joined by an attempt that crashed
flushed = collections.Counter()  # group id -> group_flushed replies
by_source = {}
for r in lines(args.replies):
    if r["outcome"] == "group_flushed":
        flushed[r["details"]["group"]["id"]] += 1
        continue
    s = (r["source"]["partition"], r["source"]["offset"])
    if s in by_source and by_source[s]["outcome"] != r["outcome"]:
        sys.exit(f"message {s} replied twice, differently")
    by_source[s] = r
    if r["outcome"] != "grouped":
        sys.exit(f"{r['action_id']}: outcome {r['outcome']}, not grouped: {r['details']}")
    gid = r["details"]["group"]["id"]
    if r["details"]["group"].get("retried"):
        retried.add(r["action_id"])
    if member_group.setdefault(r["action_id"], gid) != gid:
        sys.exit(f"{r['action_id']}: replied with two groups {member_group[r['action_id']]} "
                 f"and {gid}")
if len(member_group) < len(actions):
    incomplete(f"{len(actions) - len(member_group)} alert(s) without a reply")
if set(member_group) != set(actions):
    sys.exit(f"replies for unknown actions: {sorted(set(member_group) - set(actions))[:5]}")

calls = collections.defaultdict(list)  # group id -> call bodies, in order
for d in lines(args.detail_log):
    a = json.loads(d["body"])
    calls[a["payload"]["group_id"]].append(a)
groups = set(member_group.values())
if len(calls) < len(groups) or len(flushed) < len(groups):
    incomplete(f"{len(groups)} groups, {len(calls)} called, {len(flushed)} replied flushed")
if len(groups) != args.groups:
    sys.exit(f"{len(groups)} groups, not {args.groups}")
if set(calls) != groups or set(flushed) != groups:
    sys.exit(f"calls of unknown groups: {sorted(set(calls) - groups)[:3]}; "
             f"flushed replies of unknown groups: {sorted(set(flushed) - groups)[:3]}")

paths = collections.defaultdict(list)  # action id -> [(token, path)] in call order
if args.peer_log:
    with open(args.peer_log) as f:
        for line in f:
            if line.strip():
                fields = line.rstrip("\n").split("\t")
                paths[fields[0]].append((int(fields[1]), fields[9]))
hook = collections.Counter()
with open(args.hook_log) as f:
    for line in f:
        if line.strip():
            hook[line.split("\t")[0]] += 1
again = 0
seen = {}
for gid, bodies in calls.items():
    ids = [m["id"] for m in bodies[0]["payload"]["members"]]
    if any(b["payload"] != bodies[0]["payload"] for b in bodies[1:]):
        sys.exit(f"group {gid}: called twice with different member lists")
    if len(bodies) > 1:
        again += 1
        ps = paths[bodies[0]["id"]]
        if not args.killed or len(ps) != len(bodies) or \
                any(p != args.killed for _, p in ps[:-1]) or \
                any(ps[k][0] >= ps[k + 1][0] for k in range(len(ps) - 1)):
            sys.exit(f"group {gid} called {len(bodies)} times: {ps}")
    if hook[bodies[0]["id"]] != len(bodies):
        sys.exit(f"group {gid}: {len(bodies)} bodies logged, {hook[bodies[0]['id']]} calls")
    if len(ids) != args.size or bodies[0]["payload"]["size"] != len(ids):
        sys.exit(f"group {gid}: {len(ids)} members (size {bodies[0]['payload']['size']}), "
                 f"not {args.size}")
    key = bodies[0]["payload"]["key"]
    for m in bodies[0]["payload"]["members"]:
        i = m["id"]
        if i in seen:
            sys.exit(f"{i} is a member of {seen[i]} and of {gid}")
        seen[i] = gid
        if member_group.get(i) != gid:
            sys.exit(f"{i} listed in {gid}, its reply names {member_group.get(i)}")
        if actions[i]["payload"]["host"] != key or m["payload"] != actions[i]["payload"]:
            sys.exit(f"{i} listed in {gid} (key {key}) with payload {m['payload']}")
if set(seen) != set(actions):
    sys.exit(f"alerts in no call: {sorted(set(actions) - set(seen))[:5]}")
print(f"{len(actions)} alerts grouped into {len(groups)} groups of {args.size}: "
      f"{sum(len(b) for b in calls.values())} grouped calls, member lists complete and "
      f"disjoint; {again} group(s) called again after the kill, {len(retried)} member(s) "
      f"found joined by a killed attempt")
