#!/usr/bin/env python3
"""Generate a test workload: N actions of which D repeat an earlier id and
M are malformed, shuffled deterministically. Writes the lines to stdout and
the expected distinct ids to the file given by --ids."""
import argparse
import json
import random

ap = argparse.ArgumentParser()
ap.add_argument("--total", type=int, default=1000)
ap.add_argument("--dups", type=int, default=100)
ap.add_argument("--bad", type=int, default=20)
ap.add_argument("--provider", default="webhook")
ap.add_argument("--ids", required=True)
ap.add_argument("--seed", type=int, default=7)
args = ap.parse_args()
rng = random.Random(args.seed)

unique = args.total - args.dups - args.bad
actions = []
for i in range(unique):
    actions.append({
        "id": f"act-{i:05d}",
        "namespace": "it",
        "tenant": ["acme", "globex", "ten:ant"][i % 3],
        "provider": args.provider,
        "action_type": "notify",
        "payload": {"n": i, "to": f"user{i}@example.com"},
        "metadata": {"seq": str(i)},
    })
lines = [json.dumps(a) for a in actions]
# Duplicates repeat an earlier action (same identity) later in the stream.
for k in range(args.dups):
    lines.append(json.dumps(dict(actions[k * (unique // max(args.dups, 1))], payload={"dup": k})))
bad_kinds = [
    "this is not json",
    "[1,2,3]",
    json.dumps({"id": "bad-no-tenant", "namespace": "it", "provider": "webhook",
                "action_type": "x", "payload": {}}),
    json.dumps({"id": "bad-type", "namespace": "it", "tenant": 5, "provider": "webhook",
                "action_type": "x", "payload": {}}),
    '{"id": "bad-trunc", "namespace": ',
]
for k in range(args.bad):
    lines.append(bad_kinds[k % len(bad_kinds)])
# Whichever copy of an identity comes first executes; the other is the
# duplicate. Same identity = same key = same partition, so offsets decide.
rng.shuffle(lines)
for line in lines:
    print(line)
with open(args.ids, "w") as f:
    for a in actions:
        f.write(a["id"] + "\n")
