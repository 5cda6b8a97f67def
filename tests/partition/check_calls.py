#!/usr/bin/env python3
"""Count what a partition run broke of the worker's promise: nothing lost,
nothing executed twice, a repeated call only with a higher fencing token,
and no call from a worker whose lease it could no longer renew.

  check_calls.py --replies R.jsonl --calls PEER_LOG --ids IDS --messages N
                 --isolated-peer ADDR --cut-start-ms MS
                 [--heal-start-ms MS] --heal-ms MS
                 --lease-ms MS [--state-cut] [--global-tokens]
                 [--token-at-cut K | --tokens-at-cut FILE | --per-identity-tokens]
                 [--name NAME] [--json OUT]

--replies   the reply topic, one JSON per line (read_topic in lib.sh)
--calls     webhook_target's --peer-log: action id, fencing token,
            idempotency key, attempt, status, peer address, arrival
            realtime ms, arrival monotonic ms (tab-separated)
--ids       the distinct action ids produced (gen_actions.py --ids)
--messages  how many messages were produced
--isolated-peer  the address the isolated worker calls from (its veth)
--cut-start-ms / --heal-ms  realtime ms just before the cut was applied and
            just after the heal was applied
--heal-start-ms  realtime ms just before the heal was applied (default:
            --heal-ms). The cut ends somewhere in [heal start, heal]: a call
            arriving then may already come from a lease taken after the
            heal, so it is judged as an after-heal call (by its token), not
            as a call in the cut
--lease-ms  dedup.lease_ms of the run
--state-cut the state backend was cut (in either direction) in this run:
            the isolated worker could not renew its leases, so any call of
            its between cut start + lease_ms and the heal is a violation
            (with only the broker cut its leases stay renewable, and those
            calls are legitimate: the count is printed for information)
--global-tokens  the backend draws every fencing token from one counter
            (Redis: one per key prefix, backends/state/redis/redis_keys.h),
            so a token not above the highest one any call carried before
            the cut was issued before the cut: such a call from the
            isolated worker after the heal used a lease it could not renew
            (a lower bound: a token issued just before the cut and not yet
            seen in a call is missed; --token-at-cut closes that gap)
--token-at-cut K  the token counter read from the backend right when the cut
            was applied (Redis: GET <key_prefix>f:tokens): every token up to
            K was issued before the cut. Implies --global-tokens.
            PostgreSQL: SELECT last_value FROM aw_state_tokens (one sequence).
--tokens-at-cut FILE  per-identity counters read right when the cut was
            applied, a JSON object {identity: token} (DynamoDB: ddb_tokens.py
            scans the table): a call after the heal from the isolated worker
            whose token is not above its identity's token at the cut was
            issued before the cut (tokens of one identity only grow). The
            per-identity equivalent of --token-at-cut.
--per-identity-tokens  the backend draws tokens per identity (DynamoDB:
            if_not_exists(aw_tok, seed) + 1 on the identity's own item), so
            no counter dates a token. With --state-cut, the isolated
            worker's calls after the heal whose token is not above a token
            another worker already used for the same identity count as
            violations (iso_after_lease), as do its calls in the cut after
            lease_ms. Blind spot: a call after the heal on a lease from
            before the cut for an identity no other worker called (the
            `state` variant's symptom) is not seen.

Violations (each printed; exit 1 when any is non-zero):
  lost_messages        produced messages without a reply (by source
                       coordinates)
  unexecuted_ids       distinct ids with no executed or failed reply and no
                       successful provider call
  multi_outcome        messages with more than one distinct terminal outcome
  token_not_higher     provider calls whose fencing token is not higher
                       than a token already seen for the identity (in
                       arrival order): lower (a stale holder) or equal (the
                       same lease calling twice)
  iso_after_lease      (--state-cut only) calls from the isolated worker
                       arriving in [cut start + lease_ms, heal start), plus (with
                       --global-tokens) those arriving after the heal with
                       a token issued before the cut (the operator's
                       symptom: tokens from before the cut, after the heal),
                       or (with --per-identity-tokens) those arriving after
                       the heal with a token not above another worker's
                       earlier call for the identity
Printed for information: identities called more than once (a repeat with a
strictly higher token is the one allowed case, a call in flight when its
holder lost the lease), extra calls in total, the isolated worker's calls
before/during/after the cut, and after the heal those with a token older
than one another worker had already used (the operator's "stale" calls).
"""
import argparse
import json
import sys
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("--replies", required=True)
ap.add_argument("--calls", required=True)
ap.add_argument("--ids", required=True)
ap.add_argument("--messages", type=int, required=True)
ap.add_argument("--isolated-peer", required=True)
ap.add_argument("--cut-start-ms", type=int, required=True)
ap.add_argument("--heal-start-ms", type=int)
ap.add_argument("--heal-ms", type=int, required=True)
ap.add_argument("--lease-ms", type=int, required=True)
ap.add_argument("--state-cut", action="store_true")
ap.add_argument("--global-tokens", action="store_true")
ap.add_argument("--token-at-cut", type=int)
ap.add_argument("--per-identity-tokens", action="store_true")
ap.add_argument("--tokens-at-cut")
ap.add_argument("--name", default="run")
ap.add_argument("--json")
args = ap.parse_args()
if sum([bool(args.per_identity_tokens), args.token_at_cut is not None or args.global_tokens,
        args.tokens_at_cut is not None]) > 1:
    ap.error("choose one of --token-at-cut/--global-tokens, --tokens-at-cut, --per-identity-tokens")
id_tokens_at_cut = None
if args.tokens_at_cut:
    with open(args.tokens_at_cut, encoding="utf-8") as f:
        id_tokens_at_cut = {k: int(v) for k, v in json.load(f).items()}

# ---- replies: one terminal outcome per message ------------------------------
outcomes = defaultdict(set)  # (topic, partition, offset) -> outcomes
id_outcomes = defaultdict(set)  # action id -> outcomes
with open(args.replies, encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        r = json.loads(line)
        s = r["source"]
        outcomes[(s["topic"], s["partition"], s["offset"])].add(r["outcome"])
        id_outcomes[r.get("action_id", "")].add(r["outcome"])
replied = len(outcomes)
multi_outcome = sum(1 for o in outcomes.values() if len(o) > 1)

# ---- provider calls -----------------------------------------------------------
calls = []
with open(args.calls, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        p = line.rstrip("\n").split("\t")
        if len(p) < 8:
            sys.exit(f"{args.calls}:{n}: want 8 tab-separated fields, got {len(p)}")
        calls.append({
            "id": p[0], "token": int(p[1]) if p[1].isdigit() else -1, "key": p[2],
            "attempt": p[3], "status": int(p[4]), "peer": p[5], "real": int(p[6]),
            "mono": int(p[7]),
        })
# Arrival order by the target's monotonic clock (the log is written after
# any --delay-ms, so file order can differ slightly from arrival order).
calls.sort(key=lambda c: c["mono"])

ids = {l.strip() for l in open(args.ids) if l.strip()}
called_ok = {c["id"] for c in calls if 200 <= c["status"] <= 299}
unexecuted = sorted(i for i in ids
                    if not (id_outcomes.get(i, set()) & {"executed", "failed"})
                    and i not in called_ok)

iso = args.isolated_peer
lease_gone = args.cut_start_ms + args.lease_ms
# The cut certainly lasts until heal_start; from then on a call may come
# from a lease taken after the heal.
heal_start = args.heal_ms if args.heal_start_ms is None else min(args.heal_start_ms, args.heal_ms)
# The highest token any call carried before the cut: every token up to it
# was issued before the cut (with --global-tokens).
pre_cut_tokens = [c["token"] for c in calls if c["real"] < args.cut_start_ms]
k_cut = max(pre_cut_tokens) if pre_cut_tokens else -1
if args.token_at_cut is not None:
    args.global_tokens = True
    k_cut = max(k_cut, args.token_at_cut)
iso_after_heal_pre_cut = 0
iso_after_lease_fresh = 0  # of those, with a token issued after the cut
max_token = {}  # identity -> highest token seen so far (all callers)
max_other = {}  # identity -> highest token seen so far from the other workers
per_key = defaultdict(int)
lower = equal = 0
lower_examples = []
iso_before = iso_cut_in_lease = iso_after_lease = iso_after_heal = iso_after_heal_stale = 0
for c in calls:
    k, t = c["key"], c["token"]
    per_key[k] += 1
    if k in max_token:
        if t < max_token[k]:
            lower += 1
            if len(lower_examples) < 5:
                lower_examples.append(f"{k}: token {t} from {c['peer']} after {max_token[k]}")
        elif t == max_token[k]:
            equal += 1
    if c["peer"] == iso:
        if c["real"] < args.cut_start_ms:
            iso_before += 1
        elif c["real"] < lease_gone and c["real"] < heal_start:
            iso_cut_in_lease += 1
        elif c["real"] < heal_start:
            iso_after_lease += 1
            if args.global_tokens and t > k_cut:
                iso_after_lease_fresh += 1
        else:
            iso_after_heal += 1
            if args.global_tokens and 0 <= t <= k_cut:
                iso_after_heal_pre_cut += 1
            elif id_tokens_at_cut is not None and 0 <= t <= id_tokens_at_cut.get(k, -1):
                iso_after_heal_pre_cut += 1
            if k in max_other and t <= max_other[k]:
                iso_after_heal_stale += 1
    else:
        max_other[k] = max(max_other.get(k, t), t)
    max_token[k] = max(max_token.get(k, t), t)

multi_called = sum(1 for n in per_key.values() if n > 1)
extra_calls = sum(n - 1 for n in per_key.values() if n > 1)
iso_total = sum(1 for c in calls if c["peer"] == iso)

counts = {
    "name": args.name,
    "messages": args.messages,
    "replied": replied,
    "lost_messages": max(args.messages - replied, 0),
    "unexecuted_ids": len(unexecuted),
    "multi_outcome": multi_outcome,
    "calls": len(calls),
    "identities_called": len(per_key),
    "identities_called_more_than_once": multi_called,
    "extra_calls": extra_calls,
    "token_lower": lower,
    "token_equal": equal,
    "token_not_higher": lower + equal,
    "iso_calls": iso_total,
    "iso_before_cut": iso_before,
    "iso_cut_within_lease": iso_cut_in_lease,
    "iso_cut_after_lease": iso_after_lease,
    "iso_after_heal": iso_after_heal,
    "iso_after_heal_stale_token": iso_after_heal_stale,
    "iso_after_heal_pre_cut_token": iso_after_heal_pre_cut,
    "token_at_cut": k_cut if args.global_tokens else None,
    "per_identity_tokens": args.per_identity_tokens,
    "identities_at_cut": len(id_tokens_at_cut) if id_tokens_at_cut is not None else None,
    "state_cut": args.state_cut,
}
violations = ["lost_messages", "unexecuted_ids", "multi_outcome", "token_not_higher"]
if args.state_cut:
    counts["iso_after_lease"] = iso_after_lease + (
        iso_after_heal_stale if args.per_identity_tokens else iso_after_heal_pre_cut)
    violations.append("iso_after_lease")
bad = {v: counts[v] for v in violations if counts[v]}

print(f"[{args.name}] messages {args.messages}, replied {replied}, calls {len(calls)} "
      f"for {len(per_key)} identities ({len(ids)} distinct ids produced)")
print(f"[{args.name}]   lost messages (no reply)               {counts['lost_messages']}")
print(f"[{args.name}]   ids never executed                     {len(unexecuted)}"
      + (f"  e.g. {unexecuted[:3]}" if unexecuted else ""))
print(f"[{args.name}]   messages with >1 terminal outcome      {multi_outcome}")
print(f"[{args.name}]   identities with >1 provider call       {multi_called} ({extra_calls} extra calls)")
print(f"[{args.name}]   calls with a token lower than seen     {lower}")
print(f"[{args.name}]   calls with a token equal to one seen   {equal}")
print(f"[{args.name}]   isolated worker ({iso}) calls: {iso_total} = {iso_before} before the cut, "
      f"{iso_cut_in_lease} in the cut within lease_ms, {iso_after_lease} in the cut after "
      f"lease_ms{f' ({iso_after_lease_fresh} with a token issued after the cut)' if args.global_tokens else ''}, "
      f"{iso_after_heal} after the heal ({iso_after_heal_stale} of them with a token "
      f"not above another worker's earlier call, {iso_after_heal_pre_cut} with a token issued "
      f"before the cut)")
if args.state_cut:
    print(f"[{args.name}]   isolated calls after its lease could not be renewed "
          f"{counts['iso_after_lease']}"
          + (" (per-identity tokens: in the cut after lease_ms + stale after the heal)"
             if args.per_identity_tokens else ""))
for e in lower_examples:
    print(f"[{args.name}]     e.g. {e}")
if args.json:
    with open(args.json, "w") as f:
        json.dump(counts, f)
        f.write("\n")
if bad:
    print(f"[{args.name}] VIOLATIONS: " + ", ".join(f"{k}={v}" for k, v in bad.items()))
    sys.exit(1)
print(f"[{args.name}] no violation")
