#!/usr/bin/env python3
"""Check the reply topic (one JSON per line on stdin) against expectations.

  check_replies.py --executed N --deduplicated N [--rejected N] [--suppressed N]
                   [--throttled N] [--at-least]

Counts distinct messages by source coordinates (replies may be re-sent after
a redelivery; consumers treat them as idempotent by source), and asserts
each message has exactly one outcome. The details of executed and
deduplicated (and suppressed, throttled) replies have their documented
members (docs/messages.md), and a
duplicate's original_source names a message that got original_outcome
whenever that message's reply is among those read."""
import argparse
import json
import sys

ap = argparse.ArgumentParser()
OUTCOMES = ("executed", "deduplicated", "rejected", "failed", "suppressed", "throttled")
for k in OUTCOMES:
    ap.add_argument("--" + k, type=int)
ap.add_argument("--summary", action="store_true")
args = ap.parse_args()

by_source = {}
duplicates = []  # (source, original source, original outcome)
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
    d = r.get("details")
    if r["outcome"] == "executed" and not (isinstance(d, dict) and
                                           isinstance(d.get("attempts"), int) and
                                           d["attempts"] >= 1):
        sys.exit(f"message {key}: executed without details.attempts >= 1: {d}")
    if r["outcome"] == "suppressed" and not isinstance(d.get("rule"), str):
        sys.exit(f"message {key}: suppressed without details.rule: {d}")
    if r["outcome"] == "throttled" and not (
            isinstance(d.get("rule"), str) and isinstance(d.get("key"), str) and
            all(isinstance(d.get(m), int) for m in ("max_count", "window_s", "retry_after_ms"))
            and 0 < d["retry_after_ms"] <= d["window_s"] * 1000):
        sys.exit(f"message {key}: throttled without its documented details: {d}")
    if r["outcome"] == "deduplicated" and not d.get("redelivered"):
        o = d.get("original_source")
        if not (isinstance(o, dict) and isinstance(o.get("topic"), str) and
                isinstance(o.get("partition"), int) and isinstance(o.get("offset"), int) and
                isinstance(d.get("original_outcome"), str) and
                isinstance(d.get("original_action_id"), str) and
                isinstance(d.get("original_fencing_token"), int)):
            sys.exit(f"message {key}: deduplicated without the original's details: {d}")
        duplicates.append((key, (o["topic"], o["partition"], o["offset"]),
                           d["original_outcome"]))

for key, orig, orig_outcome in duplicates:
    if orig == key:
        sys.exit(f"message {key}: deduplicated against itself")
    if orig in by_source and by_source[orig] != orig_outcome:
        sys.exit(f"message {key}: original {orig} got {by_source[orig]}, "
                 f"details say {orig_outcome}")

counts = {}
for o in by_source.values():
    counts[o] = counts.get(o, 0) + 1
print("replies by outcome:", json.dumps(counts, sort_keys=True))
bad = []
for k in OUTCOMES:
    want = getattr(args, k)
    if want is not None and counts.get(k, 0) != want:
        bad.append(f"{k}: want {want}, got {counts.get(k, 0)}")
if bad:
    sys.exit("; ".join(bad))
