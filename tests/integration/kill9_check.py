#!/usr/bin/env python3
"""Classify the repeated provider calls of a kill -9 test (kill9_body.sh).

  kill9_check.py --calls PEER_LOG --ids IDS --killed PATH --kill-before US
                 --kill-after US --linger-ms L --margin-ms M

PEER_LOG is webhook_target's --peer-log: per call
  id, token, idempotency key, attempt, status, peer, realtime ms at arrival,
  monotonic ms at arrival, realtime ms at answer, request path
(the answer time is read just before the target queues the response). Each
worker calls its own path, so PATH names the calls of the killed worker.
--kill-before/--kill-after are the test's realtime clock (microseconds, as
bash's $EPOCHREALTIME without the dot) just before and just after its
kill(SIGKILL) returned.

The contract (docs/operations.md, "Crashes"): the replacement may call again
only the actions whose calls the killed worker had in flight at the kill and
those answered within the completion linger before it. So for every action
called more than once, each earlier call is classified:
  (a) in flight at the kill: made by the killed worker, its answer not queued
      before the kill;
  (b) linger window: made by the killed worker, answered within
      [kill - L - M, kill], M the margin (see kill9_body.sh for what it covers);
  (c) violation: made by the killed worker and answered before that window;
  (d) violation: made by a worker that was not killed.
With --records (the killed worker's AW_TEST_RECORD_TRACE, worker/
record_trace.h: per done record, when it was handed over for writing and
when the state backend acknowledged it), a call is judged by what the
worker had done at the kill rather than by the window alone:
  (c) also when its record was acknowledged before the kill (the record was
      in the backend, yet the action ran again), inside the window or not;
  (e) allowed: answered before the window, but its record had been handed
      over within [answer, answer + L + M] and was not acknowledged before
      the kill: the state backend was slower than the answers came, which
      the contract allows for (the exposure is the linger plus the wait for
      a recorder thread plus the write).
Also, every later call of an action must carry a higher fencing token than
the one before (by arrival), every action in IDS is called at least once
with a 2xx answer, and no call answers non-2xx (the target injects none).
Prints the counts; exits non-zero on any violation, listing each one."""
import argparse
import sys
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("--calls", required=True)
ap.add_argument("--ids", required=True)
ap.add_argument("--killed", required=True)
ap.add_argument("--kill-before", type=int, required=True)
ap.add_argument("--kill-after", type=int, required=True)
ap.add_argument("--linger-ms", type=float, required=True)
ap.add_argument("--margin-ms", type=float, required=True)
ap.add_argument("--records", help="the killed worker's done-record trace "
                "(AW_TEST_RECORD_TRACE)")
ap.add_argument("--metrics", help="the killed worker's /metrics shortly before the kill "
                "(diagnostic: its done-record write latencies are printed)")
args = ap.parse_args()

k0 = args.kill_before / 1000.0  # ms, float
k1 = args.kill_after / 1000.0
# The kill came at or after k0 (the clock was read before kill(2)), and the
# test cannot tell where in [k0, k1] (up to 6 ms apart when the script was
# preempted), so the window starts L + M before k0: a call answered before
# it was one the worker certainly had L + M to record, whatever the
# script's own delay. Distances below are to k0 as well.
window_start = k0 - args.linger_ms - args.margin_ms

calls = []
with open(args.calls, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        p = line.rstrip("\n").split("\t")
        if len(p) < 10:
            sys.exit(f"{args.calls}:{n}: want 10 tab-separated fields, got {len(p)}")
        calls.append({"id": p[0], "token": int(p[1]) if p[1].isdigit() else -1, "key": p[2],
                      "status": int(p[4]), "arr": int(p[6]), "mono": int(p[7]),
                      "ans": int(p[8]), "path": p[9]})

# (identity, token) -> realtime ms when handed over / acknowledged, the
# earliest of each (a record the worker thread rewrites after a failed
# recorder attempt is handed over twice).
handed, acked = {}, {}
if args.records:
    with open(args.records, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            p = line.rstrip("\n").split("\t")
            if len(p) != 4 or p[0] not in "HA":
                sys.exit(f"{args.records}:{n}: want H|A, identity, token, realtime us")
            d = handed if p[0] == "H" else acked
            k = (p[1], int(p[2]))
            d[k] = min(d.get(k, float("inf")), int(p[3]) / 1000.0)

bad = []
non2xx = [c for c in calls if not 200 <= c["status"] <= 299]
if non2xx:
    bad.append(f"{len(non2xx)} call(s) answered non-2xx, e.g. {non2xx[0]}")

by_id = defaultdict(list)
for c in calls:
    by_id[c["id"]].append(c)
ids = [l.strip() for l in open(args.ids) if l.strip()]
missing = [i for i in ids if i not in by_id]
if missing:
    bad.append(f"{len(missing)} action(s) never called: {missing[:10]}")
unknown = sorted(set(by_id) - set(ids))
if unknown:
    bad.append(f"{len(unknown)} call(s) of unknown ids: {unknown[:10]}")


def in_flight(c):
    # The answer time is in whole ms (floor): an answer logged in the ms of
    # the kill may have been queued after it.
    return c["ans"] >= int(k0)


killed = [c for c in calls if c["path"] == args.killed]
n_in_flight = sum(1 for c in killed if in_flight(c))
n_window = sum(1 for c in killed if not in_flight(c) and c["ans"] >= window_start)
n_after_kill_arrivals = sum(1 for c in killed if c["arr"] > k1)

kinds = defaultdict(int)
violations = []
token_bad = []
repeated = 0
for aid, cs in by_id.items():
    if len(cs) < 2:
        continue
    repeated += 1
    cs.sort(key=lambda c: (c["mono"], c["token"]))
    for a, b in zip(cs, cs[1:]):
        if b["token"] <= a["token"]:
            token_bad.append((aid, a, b))
    for e in cs[:-1]:
        rk = (e["key"], e["token"])
        if e["path"] != args.killed:
            kind = "d"
        elif in_flight(e):
            kind = "a"
        elif args.records and acked.get(rk, float("inf")) < k0:
            kind = "c"
        elif e["ans"] >= window_start:
            kind = "b"
        elif args.records and handed.get(rk, float("inf")) <= e["ans"] + args.linger_ms + args.margin_ms:
            kind = "e"
        else:
            kind = "c"
        kinds[kind] += 1
        if kind in "cd":
            violations.append((kind, aid, e, cs))

print(f"kill: {k0:.3f} .. {k1:.3f} ms realtime (kill(2) took {k1 - k0:.3f} ms); "
      f"window [kill - {args.linger_ms:g} ms linger - {args.margin_ms:g} ms margin, kill]")
print(f"calls: {len(calls)} in all, {len(killed)} by the killed worker "
      f"({n_after_kill_arrivals} of them arrived after the kill)")
print(f"killed worker: in flight at the kill {n_in_flight}, "
      f"answered within the linger window {n_window}")
print(f"re-executed: {repeated} action(s); earlier calls: in flight at the kill {kinds['a']}, "
      f"linger window {kinds['b']}, answered earlier (c) {kinds['c']}, "
      f"by a live worker (d) {kinds['d']}"
      + (f", record handed over in time but not acknowledged at the kill (e) {kinds['e']}"
         if args.records else ""))
if args.records:
    rec_killed = [c for c in killed if not in_flight(c)]
    lags = sorted(acked[(c["key"], c["token"])] - c["ans"] for c in rec_killed
                  if acked.get((c["key"], c["token"]), float("inf")) < k0)
    handoffs = sorted(handed[(c["key"], c["token"])] - c["ans"] for c in rec_killed
                      if (c["key"], c["token"]) in handed)
    if handoffs:
        print(f"killed worker's answers handed over for recording: {len(handoffs)}, answer to "
              f"hand-over median {handoffs[len(handoffs) // 2]:.1f} ms, "
              f"max {handoffs[-1]:.1f} ms")
    if lags:
        print(f"killed worker's records acknowledged before the kill: {len(lags)}, answer to "
              f"acknowledgement median {lags[len(lags) // 2]:.1f} ms, max {lags[-1]:.1f} ms")
# How far the killed worker's records lagged its answers: among its calls
# answered before the kill, the newest one recorded (not called again) and
# the oldest one not recorded (called again).
before = [c for c in killed if not in_flight(c)]
rec = [k0 - c["ans"] for c in before if len(by_id[c["id"]]) == 1]
unrec = [k0 - c["ans"] for c in before if len(by_id[c["id"]]) > 1]
if rec or unrec:
    print("killed worker's answers before the kill: newest recorded kill - "
          + (f"{min(rec):.1f} ms" if rec else "(none)") + ", oldest not recorded kill - "
          + (f"{max(unrec):.1f} ms" if unrec else "(none)"))
c_gaps = [k0 - e["ans"] for kind, _, e, _ in violations if kind == "c"]
if c_gaps:
    print(f"(c) calls answered {min(c_gaps):.1f} to {max(c_gaps):.1f} ms before the kill")
print(f"KILL9 in_flight={n_in_flight} linger_window={n_window} re_executed={repeated} "
      f"a={kinds['a']} b={kinds['b']} c={kinds['c']} d={kinds['d']} e={kinds['e']} "
      f"c_max_ms={max(c_gaps) if c_gaps else 0:.1f}")

def histogram_of(path, name):
    """Histogram `name` of a /metrics text: (count, mean ms, [(le ms, cum)])."""
    buckets, count, total = [], 0, 0.0
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(name + '_bucket{le="'):
            le = line.split('"')[1]
            buckets.append((float("inf") if le == "+Inf" else float(le) * 1000,
                            int(line.split()[-1])))
        elif line.startswith(name + "_count "):
            count = int(line.split()[-1])
        elif line.startswith(name + "_sum "):
            total = float(line.split()[-1])
    return (count, total * 1000 / count if count else 0.0, buckets) if buckets else None


for name, what in (("acteon_complete_seconds", "done-record writes (complete_batch round trips)"),
                   ("acteon_recorder_queue_seconds", "done records' waits for a recorder "
                    "thread"),
                   ("acteon_done_record_lag_seconds", "answers' done-record lags (answer to "
                    "record acknowledged)")):
    lat = histogram_of(args.metrics, name) if args.metrics else None
    if lat:
        count, mean, buckets = lat
        over = [(le, count - cum) for le, cum in buckets if le != float("inf")]
        print(f"killed worker's {what} before the kill: {count}, mean {mean:.1f} ms; "
              "longer than " + ", ".join(f"{le:g} ms: {n}" for le, n in over if 5 <= le <= 1000))

for kind, aid, e, cs in sorted(violations, key=lambda v: v[2]["ans"]):
    hist = "; ".join(f"{c['path']} token {c['token']} arrived {c['arr']} answered {c['ans']}"
                     for c in cs)
    rk = (e["key"], e["token"])
    rec = ""
    if args.records:
        rec = ("; its record " + (f"handed over kill - {k0 - handed[rk]:.1f} ms"
                                  if rk in handed else "never handed over")
               + (f", acknowledged kill - {k0 - acked[rk]:.1f} ms" if rk in acked else ""))
    bad.append(f"({kind}) {aid}: earlier call by {e['path']} token {e['token']} "
               f"answered {e['ans']} = kill - {k0 - e['ans']:.1f} ms{rec} "
               f"(arrived kill - {k0 - e['arr']:.1f} ms); all calls: {hist}")
for aid, a, b in token_bad:
    bad.append(f"{aid}: call by {b['path']} with token {b['token']} after one by "
               f"{a['path']} with token {a['token']}")
if n_in_flight == 0:
    bad.append("no call of the killed worker was in flight at the kill: "
               "the test did not exercise a crash under load")
if bad:
    for b in bad:
        print("VIOLATION:", b, file=sys.stderr)
    sys.exit(f"{len(bad)} violation(s)")
