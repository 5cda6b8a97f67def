#!/usr/bin/env python3
"""Per-identity fencing tokens of a DynamoDB state table, read at the cut.

  ddb_tokens.py --endpoint http://HOST:PORT --table TABLE --prefix KEY_PREFIX

DynamoDB draws fencing tokens per identity (aw_tok on the identity's own
item, backends/state/dynamodb/ddb_request.c aw_ddb_build_acquire), so no
global counter dates a token. Instead this scans the table once (consistent
reads, every page) and prints one JSON object {identity: aw_tok} for the
dedup items (pk = key_prefix, 'd', then common/aw_key.h's encoding
"len:ns" "len:tenant" "len:kind" id; identity = ns:tenant:id, the webhook's
idempotency key). Read right after the cut: a token up to the one printed
for its identity was issued before the cut (tokens of an identity only
grow), so check_calls.py --tokens-at-cut can date the isolated worker's
calls after the heal exactly as with a global counter.

For dynalite (scripts/servers/dynalite.sh), which checks no signature: the
request carries a well-formed but unsigned Authorization header, so this is
not a client for real DynamoDB.
"""
import argparse
import base64
import json
import sys
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--endpoint", required=True)
ap.add_argument("--table", required=True)
ap.add_argument("--prefix", required=True)
ap.add_argument("--timeout", type=float, default=10.0)
args = ap.parse_args()


def call(target, body):
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    req = urllib.request.Request(
        args.endpoint.rstrip("/") + "/", data=json.dumps(body).encode(), method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810." + target,
            "X-Amz-Date": amz_date,
            "Authorization": "AWS4-HMAC-SHA256 Credential=aw-test/%s/us-east-1/dynamodb/"
                             "aws4_request, SignedHeaders=host;x-amz-date, Signature=%s"
                             % (amz_date[:8], "0" * 64),
        })
    with urllib.request.urlopen(req, timeout=args.timeout) as r:
        return json.load(r)


def take(b, i):
    """One 'len:bytes' part of aw_key's encoding at b[i:]: (part, next i)."""
    colon = b.index(b":", i)
    n = int(b[i:colon])
    return b[colon + 1:colon + 1 + n], colon + 1 + n


prefix = args.prefix.encode()
tokens = {}
start = None
deadline = time.monotonic() + 60
while True:
    body = {"TableName": args.table, "ConsistentRead": True,
            "ProjectionExpression": "pk, aw_tok"}
    if start:
        body["ExclusiveStartKey"] = start
    page = call("Scan", body)
    for item in page.get("Items", []):
        pk = base64.b64decode(item["pk"]["B"])
        if not pk.startswith(prefix + b"d") or "aw_tok" not in item:
            continue
        i = len(prefix) + 1
        ns, i = take(pk, i)
        tenant, i = take(pk, i)
        _kind, i = take(pk, i)
        ident = b":".join([ns, tenant, pk[i:]]).decode()
        tokens[ident] = int(item["aw_tok"]["N"])
    start = page.get("LastEvaluatedKey")
    if not start:
        break
    if time.monotonic() > deadline:
        sys.exit("ddb_tokens.py: scan not finished within 60 s")
json.dump(tokens, sys.stdout)
print()
