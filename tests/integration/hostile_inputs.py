#!/usr/bin/env python3
"""The hostile input corpus of tests/integration/test_hostile_inputs.sh.

CASES lists messages a producer may put on the actions topic, each with the
exact acteon.dlq.reason the worker must give it (the names of
aw_reject_reason_name(), ingest/action.h), and, when the id is readable
before the rule that fails, the action id the rejection must carry.
VALID lists odd but valid actions, each executed exactly once.

  hostile_inputs.py write DIR RUN_ID
      writes DIR/NNNN.msg, one file per message in sending order (hostile
      cases interleaved with plain valid actions), and DIR/manifest.json.
  hostile_inputs.py reply-to-missing RUN_ID
      prints the name of the missing reply_to topic.
  hostile_inputs.py check MANIFEST ACTIONS DLQ REPLIES REPLY_TO HOOK_LOG PEER
      checks the topics' contents, dumped by kcat with the format
      '%o\\t%S\\t%s\\t%h\\n' (binary-safe: %S gives the payload length; the
      REPLY_TO dump, of the missing topic, may be empty), and the webhook
      target's log. PEER (mock or real) only labels the output. Exit status
      1 with the reasons on failure.

Size: ingest.max_message_bytes is 256 KiB in the test config and the
too_large case is 512 KiB. A 50 MiB message would be the more hostile one,
but the mock cluster keeps only ~5 MiB per partition and a real broker takes
~1 MB per message by default (message.max.bytes), the DLQ copy included with
its headers; the code path (len > max_bytes, before any parsing) is the
same. For the same reason the object bomb is 40,000 deep (240 KB, under the
limit, so it must be caught as too_deep); the array bomb is 100,000 deep.
"""
import hashlib
import json
import sys

MAX_MESSAGE_BYTES = 256 * 1024  # must equal ingest.max_message_bytes of the test

BASE = {"id": "h-1", "namespace": "it", "tenant": "t1", "provider": "webhook",
        "action_type": "notify", "payload": {"k": "v"}}


def action(**changes):
    """BASE with changes applied (a value of None removes the member)."""
    a = dict(BASE)
    for k, v in changes.items():
        if v is None:
            a.pop(k, None)
        else:
            a[k] = v
    return json.dumps(a, ensure_ascii=False).encode()


def raw(text):
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text


# (name, message bytes, reason, action id the rejection carries or "")
CASES = [
    ("empty message", b"", "empty", ""),
    ("not JSON", b"this is not json", "invalid_json", ""),
    ("JSON array", b'[{"id":"h-1"}]', "not_an_object", ""),
    ("JSON number", b"42", "not_an_object", ""),
    ("JSON string", b'"an action"', "not_an_object", ""),
    ("JSON null", b"null", "not_an_object", ""),
    ("arrays nested 100,000 deep", b"[" * 100000 + b"]" * 100000, "too_deep", ""),
    ("objects nested 40,000 deep", b'{"a":' * 40000 + b"1" + b"}" * 40000, "too_deep", ""),
    ("512 KiB message over the 256 KiB limit",
     action(id="too-large", payload="x" * (2 * MAX_MESSAGE_BYTES)), "too_large", ""),
    ("invalid UTF-8 in a string", b'{"id":"\xff\xfe","namespace":"it","tenant":"t1",'
     b'"provider":"webhook","action_type":"notify","payload":1}', "invalid_json", ""),
    ("overlong UTF-8 encoding of '/'", b'{"id":"\xc0\xaf","namespace":"it","tenant":"t1",'
     b'"provider":"webhook","action_type":"notify","payload":1}', "invalid_json", ""),
    ("lone surrogate escape", raw('{"id":"\\ud800","namespace":"it","tenant":"t1",'
     '"provider":"webhook","action_type":"notify","payload":1}'), "invalid_json", ""),
    ("\\u0000 inside the id", raw('{"id":"a\\u0000b","namespace":"it","tenant":"t1",'
     '"provider":"webhook","action_type":"notify","payload":1}'), "invalid_json", ""),
    ("\\u0000 inside the payload", raw('{"id":"h-1","namespace":"it","tenant":"t1",'
     '"provider":"webhook","action_type":"notify","payload":"x\\u0000y"}'), "invalid_json", ""),
    ("\\u0000 inside a key", raw('{"id":"h-1","namespace":"it","tenant":"t1",'
     '"provider":"webhook","action_type":"notify","payload":{"a\\u0000b":1}}'),
     "invalid_json", ""),
    ("raw NUL byte inside a string", b'{"id":"a\x00b","namespace":"it","tenant":"t1",'
     b'"provider":"webhook","action_type":"notify","payload":1}', "invalid_json", ""),
    ("duplicate id key", b'{"id":"dup-a","id":"dup-b","namespace":"it","tenant":"t1",'
     b'"provider":"webhook","action_type":"notify","payload":1}', "invalid_json", ""),
    ("duplicate tenant key", b'{"id":"dup-c","namespace":"it","tenant":"t1","tenant":"t2",'
     b'"provider":"webhook","action_type":"notify","payload":1}', "invalid_json", ""),
    ("truncated JSON", b'{"id":"h-1","namespace":"it"', "invalid_json", ""),
    ("trailing garbage", action() + b" x", "invalid_json", ""),
    ("missing id", action(id=None), "missing_field", ""),
    ("missing payload", action(id="miss-payload", payload=None), "missing_field",
     "miss-payload"),
    ("id of the wrong type", action(id=17), "invalid_field", ""),
    ("namespace of the wrong type", action(id="wt-ns", namespace=["it"]), "invalid_field",
     "wt-ns"),
    ("tenant of the wrong type", action(id="wt-tenant", tenant={"t": 1}), "invalid_field",
     "wt-tenant"),
    ("provider of the wrong type", action(id="wt-provider", provider=True), "invalid_field",
     "wt-provider"),
    ("action_type of the wrong type", raw('{"id":"wt-type","namespace":"it","tenant":"t1",'
     '"provider":"webhook","action_type":null,"payload":1}'), "invalid_field", "wt-type"),
    ("dedup_key of the wrong type", action(id="wt-dedup", dedup_key=5), "invalid_field",
     "wt-dedup"),
    ("created_at of the wrong type", action(id="wt-created", created_at=1700000000),
     "invalid_field", "wt-created"),
    ("created_at not a date", action(id="wt-created2", created_at="yesterday"),
     "invalid_field", "wt-created2"),
    ("metadata of the wrong type", action(id="wt-meta", metadata=["a"]), "invalid_field",
     "wt-meta"),
    ("metadata value of the wrong type", action(id="wt-meta2", metadata={"a": 1}),
     "invalid_field", "wt-meta2"),
    ("reply_to of the wrong type", action(id="wt-reply", reply_to=7), "invalid_field",
     "wt-reply"),
    ("reply_to not a topic name", action(id="wt-reply2", reply_to="no spaces!"),
     "invalid_field", "wt-reply2"),
    ("trace_context of the wrong type", action(id="wt-trace", trace_context="x"),
     "invalid_field", "wt-trace"),
    ("traceparent of the wrong type", action(id="wt-tp", trace_context={"traceparent": 1}),
     "invalid_field", "wt-tp"),
    ("tracestate of the wrong type", action(id="wt-ts", trace_context={"tracestate": 2}),
     "invalid_field", "wt-ts"),
    ("empty id", action(id=""), "invalid_field", ""),
    ("empty namespace", action(id="empty-ns", namespace=""), "invalid_field", "empty-ns"),
    ("empty tenant", action(id="empty-tenant", tenant=""), "invalid_field", "empty-tenant"),
    ("empty provider", action(id="empty-provider", provider=""), "invalid_field",
     "empty-provider"),
    ("empty action_type", action(id="empty-type", action_type=""), "invalid_field",
     "empty-type"),
    ("empty dedup_key", action(id="empty-dedup", dedup_key=""), "invalid_field", "empty-dedup"),
    ("id of 257 bytes", action(id="i" * 257), "invalid_field", ""),
    ("id of 10,000 characters", action(id="é" * 10000), "invalid_field", ""),
    ("namespace of 129 bytes", action(id="long-ns", namespace="n" * 129), "invalid_field",
     "long-ns"),
    ("tenant of 129 bytes", action(id="long-tenant", tenant="t" * 129), "invalid_field",
     "long-tenant"),
    ("newline in namespace", action(id="ctl-ns", namespace="it\nx"), "invalid_field", "ctl-ns"),
    ("U+0001 in tenant", action(id="ctl-tenant", tenant="t\u0001"), "invalid_field",
     "ctl-tenant"),
    ("DEL in namespace", action(id="ctl-del", namespace="\u007f"), "invalid_field", "ctl-del"),
    ("tab in id", action(id="ctl\tid"), "invalid_field", ""),
    ("unknown provider", action(id="no-provider", provider="nope"), "unknown_provider",
     "no-provider"),
    ("not_before not a date", action(id="nb-text", not_before="tomorrow"), "invalid_field",
     "nb-text"),
    ("not_before of the wrong type", action(id="nb-num", not_before=1700000000),
     "invalid_field", "nb-num"),
    # The test's rule "per-user" throttles action_type "keyed" per
    # {payload.user.id} (test_hostile_inputs.sh): a key field that cannot
    # be rendered rejects the action naming the rule (docs/rules.md).
    ("rule key field missing", action(id="rk-missing", action_type="keyed"), "rule_field",
     "rk-missing"),
    ("rule key field an object", action(id="rk-object", action_type="keyed",
     payload={"user": {"id": {"a": 1}}}), "rule_field", "rk-object"),
    ("rule key field an array", action(id="rk-array", action_type="keyed",
     payload={"user": {"id": [1]}}), "rule_field", "rk-array"),
    ("rule key field null", action(id="rk-null", action_type="keyed",
     payload={"user": {"id": None}}), "rule_field", "rk-null"),
    ("rule key over 1,024 bytes", action(id="rk-long", action_type="keyed",
     payload={"user": {"id": "u" * 1100}}), "rule_field", "rk-long"),
    ("rule key path through a string", action(id="rk-path", action_type="keyed",
     payload={"user": "someone"}), "rule_field", "rk-path"),
]

# (name, action bytes, id): valid although odd; each executed exactly once.
# ':' is allowed in namespace and tenant: ("a:b","c") and ("a","b:c") share
# the display identity "a:b:c:<key>" but are different identities, so both
# execute (the state keys encode each part on its own).
# The reply_to case names a topic that does not exist. The worker's producer
# asks for auto-creation (librdkafka's producer default): a broker with
# auto.create.topics.enable (the test broker; the mock cluster always)
# creates the topic and the reply lands there; a broker without it answers
# UNKNOWN_TOPIC after topic.metadata.propagation.max.ms (10 s) and the reply
# goes to the default reply topic with an acteon.reply_to_error header
# (worker/outcome.c). Either way exactly one reply, never none.
def reply_to_missing(run_id):
    return f"aw-it.{run_id}.no-such-topic"


def valid_specials(run_id):
    return [
        ("colon in namespace", action(id="colon-1", namespace="a:b", tenant="c"), "colon-1"),
        ("colon in tenant", action(id="colon-1", namespace="a", tenant="b:c"), "colon-1"),
        ("non-ASCII id", action(id="ünïcødé-✓"), "ünïcødé-✓"),
        ("rule key field an integer", action(id="rk-int", action_type="keyed",
         payload={"user": {"id": 7}}), "rk-int"),
        ("reply_to a topic that does not exist",
         action(id="reply-to-missing", reply_to=reply_to_missing(run_id)),
         "reply-to-missing"),
    ]


def write(outdir, run_id):
    import os
    msgs = []
    n = 0

    def add(kind, name, data, **extra):
        nonlocal n
        path = os.path.join(outdir, f"{n:04d}.msg")
        with open(path, "wb") as f:
            f.write(data)
        m = {"file": path, "kind": kind, "name": name,
             "sha256": hashlib.sha256(data).hexdigest(), "len": len(data)}
        m.update(extra)
        msgs.append(m)
        n += 1

    for i, (name, data, reason, aid) in enumerate(CASES):
        add("hostile", name, data, reason=reason, action_id=aid)
        add("valid", "plain valid action", action(id=f"valid-{i:03d}"), id=f"valid-{i:03d}")
    for name, data, aid in valid_specials(run_id):
        add("valid", name, data, id=aid)
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump({"messages": msgs}, f, indent=1)
    print(len(msgs))


def read_dump(path):
    """Records of a kcat '%o\\t%S\\t%s\\t%h\\n' dump: (offset, bytes, headers)."""
    data = open(path, "rb").read()
    out, i = [], 0
    while i < len(data):
        t1 = data.index(b"\t", i)
        off = int(data[i:t1])
        t2 = data.index(b"\t", t1 + 1)
        size = int(data[t1 + 1:t2])
        start = t2 + 1
        value = data[start:start + max(size, 0)]
        j = start + max(size, 0)
        if data[j:j + 1] != b"\t":
            raise ValueError(f"{path}: malformed record at offset {off}")
        end = data.index(b"\n", j + 1)
        out.append((off, value, parse_headers(data[j + 1:end].decode("utf-8", "replace"))))
        i = end + 1
    return out


def parse_headers(text):
    """kcat's %h is "k=v,k=v" without escaping; our values hold commas (the
    audit record JSON), so split only before a known header name."""
    import re
    if not text:
        return {}
    h = {}
    for part in re.split(r",(?=(?:acteon\.[a-z_.]+|traceparent|tracestate)=)", text):
        k, _, v = part.partition("=")
        if k in h:
            raise ValueError(f"header {k} twice")
        h[k] = v
    return h


def check(manifest, actions_dump, dlq_dump, replies_dump, reply_to_dump, hook_log, peer):
    msgs = json.load(open(manifest))["messages"]
    bad = []
    by_sha = {}
    for m in msgs:
        by_sha.setdefault(m["sha256"], []).append(m)

    # Source offsets of the messages, matched by content.
    actions = read_dump(actions_dump)
    if len(actions) != len(msgs):
        bad.append(f"actions topic: want {len(msgs)} messages, got {len(actions)}")
    offset_of = {}
    for off, value, _ in actions:
        cands = [m for m in by_sha.get(hashlib.sha256(value).hexdigest(), [])
                 if id(m) not in offset_of.values()]
        if not cands:
            bad.append(f"actions topic offset {off}: bytes of no case")
            continue
        offset_of[off] = id(cands[0])
        cands[0]["offset"] = off

    # The DLQ: one copy per hostile case, original bytes, exact reason, and an
    # audit record naming the right source.
    dlq_by_offset = {}
    for off, value, h in read_dump(dlq_dump):
        src = int(h.get("acteon.dlq.source_offset", "-1"))
        if src in dlq_by_offset:
            bad.append(f"DLQ: source offset {src} dead-lettered twice")
        dlq_by_offset[src] = (value, h)
    for m in msgs:
        if "offset" not in m:
            bad.append(f"{m['name']}: not found on the actions topic")
            continue
        got = dlq_by_offset.pop(m["offset"], None)
        if m["kind"] == "valid":
            if got:
                bad.append(f"valid {m['name']} ({m['id']}): dead-lettered")
            continue
        if not got:
            bad.append(f"{m['name']}: no DLQ copy")
            continue
        value, h = got
        if hashlib.sha256(value).hexdigest() != m["sha256"]:
            bad.append(f"{m['name']}: DLQ bytes differ from the original "
                       f"({len(value)} bytes, want {m['len']})")
        if h.get("acteon.dlq.reason") != m["reason"]:
            bad.append(f"{m['name']}: reason {h.get('acteon.dlq.reason')!r}, want "
                       f"{m['reason']!r} ({h.get('acteon.dlq.error')})")
        if h.get("acteon.dlq.action_id", "") != m["action_id"]:
            bad.append(f"{m['name']}: dlq action_id {h.get('acteon.dlq.action_id')!r}, "
                       f"want {m['action_id']!r}")
        try:
            rec = json.loads(h["acteon.audit_record"])
            src = rec["source"]
            if (src["offset"], rec["outcome"], rec["action_id"]) != \
                    (m["offset"], "rejected", m["action_id"]):
                bad.append(f"{m['name']}: audit record says offset {src['offset']} "
                           f"outcome {rec['outcome']} id {rec['action_id']!r}")
            if src["partition"] != 0 or rec["record_id"] != \
                    f"{src['topic']}:0:{m['offset']}":
                bad.append(f"{m['name']}: audit record source {src} id {rec['record_id']}")
        except (KeyError, ValueError, TypeError) as e:
            bad.append(f"{m['name']}: audit record header unusable: {e!r}")
    for src in dlq_by_offset:
        bad.append(f"DLQ: copy of offset {src}, which is no hostile case")

    # Replies: at most one outcome per source; every valid action executed,
    # each rejection with a readable id answered "rejected".
    replies = {}
    reply_to_errors = 0
    import os
    extra = read_dump(reply_to_dump) if os.path.getsize(reply_to_dump) else []
    for _, value, _ in extra:
        if json.loads(value)["action_id"] != "reply-to-missing":
            bad.append("a reply on the reply_to topic of another action")
    print(f"reply_to naming a missing topic ({peer} peer): {len(extra)} reply on that topic "
          f"(auto-created), ", end="")
    for _, value, h in read_dump(replies_dump) + extra:
        r = json.loads(value)
        key = r["source"]["offset"]
        if key in replies and replies[key] != r["outcome"]:
            bad.append(f"reply: offset {key} has two outcomes")
        replies[key] = r["outcome"]
        if "acteon.reply_to_error" in h:
            reply_to_errors += 1
            if r["action_id"] != "reply-to-missing":
                bad.append(f"reply_to_error on {r['action_id']}")
    for m in msgs:
        if "offset" not in m:
            continue
        want = "executed" if m["kind"] == "valid" else ("rejected" if m["action_id"] else None)
        if replies.get(m["offset"]) != want:
            bad.append(f"{m['name']}: reply {replies.get(m['offset'])!r}, want {want!r}")
    print(f"{reply_to_errors} on the default reply topic with acteon.reply_to_error")
    if reply_to_errors + len(extra) != 1:
        bad.append(f"replies to the action naming a missing reply_to topic: want 1, got "
                   f"{len(extra)} there and {reply_to_errors} on the default reply topic")

    # The webhook: exactly one call per valid action (ids may repeat across
    # identities: colon-1 twice).
    want_calls = {}
    for m in msgs:
        if m["kind"] == "valid":
            want_calls[m["id"]] = want_calls.get(m["id"], 0) + 1
    got_calls = {}
    for line in open(hook_log, encoding="utf-8"):
        aid = line.split("\t")[0]
        got_calls[aid] = got_calls.get(aid, 0) + 1
    if got_calls != want_calls:
        diff = {k: (want_calls.get(k, 0), got_calls.get(k, 0))
                for k in set(want_calls) | set(got_calls)
                if want_calls.get(k, 0) != got_calls.get(k, 0)}
        bad.append(f"webhook calls (want, got) differ: {diff}")

    if bad:
        sys.exit("\n".join(bad))
    hostile = sum(1 for m in msgs if m["kind"] == "hostile")
    print(f"{hostile} hostile cases dead-lettered with their exact reason, original bytes "
          f"and audit record; {len(msgs) - hostile} valid actions executed exactly once")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "reply-to-missing":
        print(reply_to_missing(sys.argv[2]))
    elif len(sys.argv) == 9 and sys.argv[1] == "check":
        check(*sys.argv[2:])
    else:
        sys.exit(__doc__)
