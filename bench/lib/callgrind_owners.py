#!/usr/bin/env python3
"""Whose instructions: a callgrind profile's cost by the library that asked.

    callgrind_owners.py [--summary] ACTIONS CALLGRIND_OUT...

callgrind_annotate gives each function's own (self) cost, and malloc,
memcpy, mutexes and the like show up as the C library's, whoever called
them. Here every instruction counts for the program or library that caused
it: a C library or loader function's self cost is shared among its callers in
proportion to what each call cost, followed up through C library callers (the
malloc that _int_malloc serves was called by librdkafka or by the worker), so
"librdkafka" means librdkafka's own code plus the allocations, copies and
locks it asks for. Prints instructions per action for each owner, then the
worker's own functions by the same measure (AW_OWNERS_TOP of them, 25 by
default); with --summary, one line: the worker's, librdkafka's and the
rest's instructions per action.

Reads callgrind's format (any number of parts or threads' files) with
positions and name compression as callgrind writes them.
"""
import collections
import os
import re
import sys

SERVICE = ("libc.so", "ld-linux", "[vdso]", "libpthread")


def is_service(obj):
    # "???": code callgrind finds in no object, the PLT stubs a library
    # calls malloc and the like through.
    return obj in ("???", None) or any(s in obj for s in SERVICE)


def parse(path, self_cost, arcs):
    names = {"ob": {}, "fl": {}, "fn": {}}
    ob = fn = None
    cob = cfn = None
    pending_call = False

    def name(kind, value):
        m = re.match(r"\((\d+)\)(?: (.*))?$", value)
        if not m:
            return value
        table = names["fn" if kind in ("fn", "cfn") else "ob" if kind in ("ob", "cob") else "fl"]
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                cost = int(line.split()[-1]) if len(line.split()) > 1 else 0
                if pending_call:
                    arcs[(ob, fn)][(cob or ob, cfn)] += cost
                    pending_call = False
                    cob = cfn = None
                else:
                    self_cost[(ob, fn)] += cost
                continue
            key, _, value = line.partition("=")
            if key == "ob":
                ob = name("ob", value)
            elif key == "fn":
                fn = name("fn", value)
            elif key == "cob":
                cob = name("cob", value)
            elif key == "cfn":
                cfn = name("cfn", value)
            elif key in ("fl", "fi", "fe", "cfi", "cfl"):
                name("fl", value)
            elif key == "calls":
                pending_call = True


def owners(self_cost, arcs):
    """Each function's self cost, with service (C library) functions' cost
    handed to the non-service callers that caused it."""
    callers = collections.defaultdict(list)  # callee -> [(caller, cost)]
    for caller, outs in arcs.items():
        for callee, cost in outs.items():
            if cost > 0 and callee != caller:
                callers[callee].append((caller, cost))

    memo = {}

    def origin(fn, seen):
        # Distribution over non-service functions of who causes fn's cost.
        if fn in memo:
            return memo[fn]
        if not is_service(fn[0]):
            return {fn: 1.0}
        if fn in seen:
            return {}
        seen = seen | {fn}
        total = sum(c for _, c in callers.get(fn, []))
        dist = collections.defaultdict(float)
        for caller, cost in callers.get(fn, []):
            for who, share in origin(caller, seen).items():
                dist[who] += share * cost / total
        memo[fn] = dict(dist)
        return memo[fn]

    charged = collections.defaultdict(float)
    for fn, cost in self_cost.items():
        dist = origin(fn, frozenset())
        if not dist:
            charged[fn] += cost  # nobody to hand it to (thread start, loader)
        for who, share in dist.items():
            charged[who] += cost * share
    return charged


def short(obj):
    base = os.path.basename(obj)
    if is_service(obj):
        return "libc"  # cost with no caller to hand it to: thread starts
    if ".so" not in base:
        return "worker"  # the program itself, whatever its file is called
    return re.sub(r"\.so[.0-9]*$", "", base)


def main():
    args = sys.argv[1:]
    summary = bool(args) and args[0] == "--summary"
    if summary:
        args = args[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    actions = int(args[0])
    self_cost = collections.Counter()
    arcs = collections.defaultdict(collections.Counter)
    for path in args[1:]:
        parse(path, self_cost, arcs)
    charged = owners(self_cost, arcs)
    total = sum(self_cost.values())
    by_obj = collections.Counter()
    for (obj, _), cost in charged.items():
        by_obj[short(obj)] += cost
    if summary:
        mine, kafka = by_obj["worker"], by_obj["librdkafka"]
        print(f"{mine / actions:.0f} {kafka / actions:.0f} {(total - mine - kafka) / actions:.0f}")
        return
    print("| owner | instructions per action | share |\n|---|---|---|")
    for obj, cost in by_obj.most_common():
        if cost / actions >= 50:
            print(f"| {obj} | {cost / actions:,.0f} | {cost / total:.1%} |")
    print(f"| all | {total / actions:,.0f} | 100% |")
    worker = [(fn, c) for (obj, fn), c in charged.items() if short(obj) == "worker"]
    worker.sort(key=lambda x: -x[1])
    print("\n| worker function (self, with the C library calls it makes) "
          "| instructions per action |\n|---|---|")
    for fn, cost in worker[:int(os.environ.get("AW_OWNERS_TOP", "25"))]:
        print(f"| {fn} | {cost / actions:,.0f} |")


if __name__ == "__main__":
    main()
