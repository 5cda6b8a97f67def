#!/usr/bin/env python3
"""Checks on `acteon-worker audit search` output (JSON lines, then one
{"next_cursor": ...} line).

  audit_check.py exact IDS DUMP --executed N --deduplicated N --rejected N
      one record per source message: record ids unique and exactly the lines
      of IDS ("topic:partition:offset"), outcome counts as given, and the
      dump ends with a null cursor (--all read everything).
  audit_check.py same A B [--ignore FIELD]...
      the same records (as JSON values, keyed by record id) in both dumps.
  audit_check.py order A B
      the same records in the same order (a paged read against --all).
  audit_check.py count DUMP FIELD=VALUE...
      print how many records match every FIELD=VALUE."""
import argparse
import collections
import json
import sys


def load(path, want_cursor_line=True):
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    recs = [json.loads(l) for l in lines]
    if want_cursor_line:
        if not recs or set(recs[-1].keys()) != {"next_cursor"}:
            sys.exit(f"{path}: last line is not the cursor line")
        cursor = recs.pop()["next_cursor"]
        return recs, cursor
    return recs, None


def by_id(recs, path):
    out = {}
    for r in recs:
        rid = r["record_id"]
        if rid in out:
            sys.exit(f"{path}: record {rid} appears twice")
        out[rid] = r
    return out


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("exact")
    e.add_argument("ids")
    e.add_argument("dump")
    for o in ("executed", "deduplicated", "rejected", "failed"):
        e.add_argument("--" + o, type=int, default=0)
    s = sub.add_parser("same")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--ignore", action="append", default=[])
    o = sub.add_parser("order")
    o.add_argument("a")
    o.add_argument("b", help="concatenated pages, without cursor lines")
    c = sub.add_parser("count")
    c.add_argument("dump")
    c.add_argument("filters", nargs="*")
    a = ap.parse_args()

    if a.cmd == "exact":
        recs, cursor = load(a.dump)
        if cursor is not None:
            sys.exit(f"{a.dump}: not the last page (cursor {cursor})")
        got = by_id(recs, a.dump)
        with open(a.ids) as f:
            want = set(l.strip() for l in f if l.strip())
        if set(got) != want:
            missing = sorted(want - set(got))[:5]
            extra = sorted(set(got) - want)[:5]
            sys.exit(f"record ids differ: {len(want - set(got))} missing (e.g. {missing}), "
                     f"{len(set(got) - want)} unexpected (e.g. {extra})")
        counts = collections.Counter(r["outcome"] for r in recs)
        for name in ("executed", "deduplicated", "rejected", "failed"):
            if counts.get(name, 0) != getattr(a, name):
                sys.exit(f"{name}: want {getattr(a, name)}, got {counts.get(name, 0)}")
        print(f"{len(recs)} records, one per message: {dict(counts)}")
    elif a.cmd == "same":
        ra, _ = load(a.a)
        rb, _ = load(a.b)
        ma, mb = by_id(ra, a.a), by_id(rb, a.b)
        if set(ma) != set(mb):
            sys.exit(f"record ids differ: {len(set(ma) - set(mb))} only in {a.a}, "
                     f"{len(set(mb) - set(ma))} only in {a.b}")
        for rid in ma:
            x = {k: v for k, v in ma[rid].items() if k not in a.ignore}
            y = {k: v for k, v in mb[rid].items() if k not in a.ignore}
            if x != y:
                diff = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
                sys.exit(f"record {rid} differs in {diff}: {x} vs {y}")
        print(f"{len(ma)} records identical" + (f" (ignoring {a.ignore})" if a.ignore else ""))
    elif a.cmd == "order":
        ra, _ = load(a.a)
        rb, _ = load(a.b, want_cursor_line=False)
        ia = [r["record_id"] for r in ra]
        ib = [r["record_id"] for r in rb]
        if len(set(ib)) != len(ib):
            sys.exit("paged read repeats records")
        if ia != ib:
            sys.exit(f"paged read differs: {len(ia)} vs {len(ib)} records, "
                     f"first difference at {next(i for i, (p, q) in enumerate(zip(ia + [None], ib + [None])) if p != q)}")
        print(f"{len(ib)} records paged in the same order, no gap, no repeat")
    else:
        recs, _ = load(a.dump)
        want = dict(f.split("=", 1) for f in a.filters)
        print(sum(1 for r in recs if all(str(r.get(k)) == v for k, v in want.items())))


main()
