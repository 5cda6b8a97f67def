#!/usr/bin/env bash
# Smoke check of a running OpenSearch node for the REST calls the
# Elasticsearch audit backend makes. Test infrastructure only.
#
#   tests/opensearch/smoke.sh [URL]     (default: $AW_TEST_OPENSEARCH_URL)
#
# Uses a throw-away index pattern (aw-smoke-*) and template (aw-smoke) and
# deletes them at the end. Exits non-zero on the first answer that differs.
set -euo pipefail

url=${1:-${AW_TEST_OPENSEARCH_URL:?give URL or set AW_TEST_OPENSEARCH_URL}}
idx=aw-smoke-2026.11
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

# req METHOD PATH [CONTENT-TYPE BODY-FILE]: body to $tmp/out, status echoed.
req() {
    local args=(-s -m 30 -o "$tmp/out" -w '%{http_code}' -X "$1" "$url$2")
    if [ $# -ge 4 ]; then
        args+=(-H "Content-Type: $3" --data-binary "@$4")
    fi
    curl "${args[@]}"
}

# jcheck PYTHON-EXPR: evaluated with j = the last JSON answer.
jcheck() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/out" "$1" ||
        fail "$2: $(head -c 600 "$tmp/out")"
}

expect_status() { [ "$1" = "$2" ] || fail "$3: HTTP $1, expected $2: $(head -c 600 "$tmp/out")"; }

st=$(req GET /)
expect_status "$st" 200 "GET /"
jcheck 'j["version"]["distribution"] == "opensearch"' "GET / distribution"
req DELETE "/aw-smoke-*" >/dev/null # left over from an interrupted run

cat >"$tmp/tpl.json" <<'EOF'
{"index_patterns": ["aw-smoke-*"],
 "template": {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
  "mappings": {"dynamic": "strict", "properties": {
   "action_id": {"type": "keyword"}, "tenant": {"type": "keyword"},
   "ts_ms": {"type": "long"}, "seq": {"type": "long"},
   "payload": {"type": "text", "index": false}}}}}
EOF
st=$(req PUT /_index_template/aw-smoke application/json "$tmp/tpl.json")
expect_status "$st" 200 "PUT _index_template"
jcheck 'j["acknowledged"] is True' "PUT _index_template acknowledged"

doc() { # id tenant ts seq
    printf '{"create":{"_index":"%s","_id":"%s"}}\n' "$idx" "$1"
    printf '{"action_id":"%s","tenant":"%s","ts_ms":%s,"seq":%s,"payload":"p-%s"}\n' "$1" "$2" "$3" "$4" "$1"
}
{ doc a1 t1 1000 1; doc a2 t1 2000 2; doc a3 t1 2000 3; doc a4 t2 3000 4; } >"$tmp/b1.ndjson"
st=$(req POST /_bulk application/x-ndjson "$tmp/b1.ndjson")
expect_status "$st" 200 "POST _bulk (new ids)"
jcheck 'j["errors"] is False and [i["create"]["status"] for i in j["items"]] == [201]*4' "_bulk created"

{ doc a1 t1 1000 1; doc a5 t1 4000 5; } >"$tmp/b2.ndjson"
st=$(req POST /_bulk application/x-ndjson "$tmp/b2.ndjson")
expect_status "$st" 200 "POST _bulk (same id again)"
jcheck 'j["errors"] is True and [i["create"]["status"] for i in j["items"]] == [409, 201] and j["items"][0]["create"]["error"]["type"] == "version_conflict_engine_exception"' "_bulk per-item 409"

st=$(req POST "/aw-smoke-*/_refresh")
expect_status "$st" 200 "_refresh"

q='{"size":2,"query":{"bool":{"filter":[{"term":{"tenant":"t1"}},{"range":{"ts_ms":{"gte":1000,"lt":5000}}}]}},"sort":[{"ts_ms":"desc"},{"action_id":"desc"}]'
echo "$q}" >"$tmp/q1.json"
st=$(req POST "/aw-smoke-*/_search" application/json "$tmp/q1.json")
expect_status "$st" 200 "_search page 1"
jcheck '[h["_id"] for h in j["hits"]["hits"]] == ["a5", "a3"] and j["hits"]["hits"][-1]["sort"] == [2000, "a3"]' "_search page 1"
echo "$q,\"search_after\":[2000,\"a3\"]}" >"$tmp/q2.json"
st=$(req POST "/aw-smoke-*/_search" application/json "$tmp/q2.json")
expect_status "$st" 200 "_search page 2"
jcheck '[h["_id"] for h in j["hits"]["hits"]] == ["a2", "a1"]' "_search search_after"

echo '{"query":{"range":{"ts_ms":{"lt":3000}}}}' >"$tmp/dbq.json"
st=$(req POST "/aw-smoke-*/_delete_by_query?max_docs=2&refresh=true" application/json "$tmp/dbq.json")
expect_status "$st" 200 "_delete_by_query"
jcheck 'j["deleted"] == 2 and j["failures"] == []' "_delete_by_query deleted 2"
st=$(req GET "/aw-smoke-*/_count")
jcheck 'j["count"] == 3' "_count after _delete_by_query"

# OpenSearch has no ILM (ISM instead, as a plugin this node does not load).
echo '{"policy":{"phases":{"delete":{"min_age":"30d","actions":{"delete":{}}}}}}' >"$tmp/ilm.json"
st=$(req PUT /_ilm/policy/aw-smoke application/json "$tmp/ilm.json")
expect_status "$st" 400 "PUT _ilm/policy (expected refused)"
jcheck '"no handler found" in j["error"]' "PUT _ilm/policy error"

st=$(req DELETE "/aw-smoke-*")
expect_status "$st" 200 "DELETE index"
st=$(req DELETE /_index_template/aw-smoke)
expect_status "$st" 200 "DELETE _index_template"
echo "smoke: OK ($url)"
