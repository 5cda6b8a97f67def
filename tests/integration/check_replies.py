#!/usr/bin/env python3
"""Check the reply topic (one JSON per line on stdin) against expectations.

  check_replies.py --executed N --deduplicated N [--rejected N] [--at-least]

Counts distinct messages by source coordinates (replies may be re-sent after
a redelivery; consumers treat them as idempotent by source), and asserts
each message has exactly one outcome."""
import argparse
import json
import sys

ap = argparse.ArgumentParser()
for k in ("executed", "deduplicated", "rejected", "failed"):
    ap.add_argument("--" + k, type=int)
ap.add_argument("--summary", action="store_true")
args = ap.parse_args()

by_source = {}
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    src = r["source"]
    key = (src["topic"], src["partition"], src["offset"])
    prev = by_source.get(key)
    if prev is not None and prev != r["outcome"]:
        sys.exit(f"message {key} has two outcomes: {prev} and {r['outcome']}")
    by_source[key] = r["outcome"]

counts = {}
for o in by_source.values():
    counts[o] = counts.get(o, 0) + 1
print("replies by outcome:", json.dumps(counts, sort_keys=True))
bad = []
for k in ("executed", "deduplicated", "rejected", "failed"):
    want = getattr(args, k)
    if want is not None and counts.get(k, 0) != want:
        bad.append(f"{k}: want {want}, got {counts.get(k, 0)}")
if bad:
    sys.exit("; ".join(bad))
