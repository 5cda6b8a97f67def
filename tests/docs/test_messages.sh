#!/usr/bin/env bash
# Every JSON example of docs/messages.md that is marked with an HTML comment
# `<!-- schema: NAME -->` right before its ```json block must:
#   1. be valid JSON and valid against schemas/NAME.schema.json (Python's
#      jsonschema, Debian package python3-jsonschema, installed by
#      scripts/install-deps.sh; draft 2020-12, formats asserted);
#   2. for NAME = action: also pass the worker's own decoder: the examples
#      are fed to `acteon-worker dev --examples FILE` (embedded mock cluster,
#      memory backends) and each must come out executed, or rejected only as
#      unknown_provider (the demo configures the log provider alone).
# The test fails when the document has no marked example of a schema that
# exists, or a marker names a schema that does not exist.
set -euo pipefail
: "${AW_SOURCE_DIR:?}" "${AW_BUILD_DIR:?}"
doc="$AW_SOURCE_DIR/docs/messages.md"
tmp=$(mktemp -d)
dev_pid=
cleanup() {
    if [ -n "$dev_pid" ]; then kill "$dev_pid" 2>/dev/null || true; wait "$dev_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

python3 -c 'import jsonschema' 2>/dev/null ||
    { echo "FAIL: python3 jsonschema not installed (scripts/install-deps.sh: python3-jsonschema)"; exit 1; }

# 1. Extract and validate; write the action examples as JSON lines.
python3 - "$doc" "$AW_SOURCE_DIR/schemas" "$tmp/actions.jsonl" <<'PY'
import json, os, re, sys
import jsonschema

doc, schema_dir, actions_out = sys.argv[1:4]
text = open(doc, encoding="utf-8").read()

# RFC 3339 date-time with the 'T' separator, as the schemas describe it;
# checked here so the result does not depend on optional jsonschema extras.
DT = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
                r"(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$")
checker = jsonschema.FormatChecker()
checker.checks("date-time")(lambda v: not isinstance(v, str) or bool(DT.match(v)))

def no_dup_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in %s" % keys)
    return dict(pairs)

marker = re.compile(r"<!--\s*schema:\s*([A-Za-z0-9_-]+)\s*-->\s*\n```json\n(.*?)\n```", re.S)
found = {}
failures = 0
actions = []
for m in marker.finditer(text):
    name, body = m.group(1), m.group(2)
    line = text.count("\n", 0, m.start()) + 1
    where = "docs/messages.md:%d (%s)" % (line, name)
    path = os.path.join(schema_dir, name + ".schema.json")
    if not os.path.exists(path):
        print("FAIL: %s: no schema %s" % (where, path)); failures += 1; continue
    schema = json.load(open(path, encoding="utf-8"))
    try:
        doc_obj = json.loads(body, object_pairs_hook=no_dup_keys)
    except ValueError as e:
        print("FAIL: %s: not JSON: %s" % (where, e)); failures += 1; continue
    errors = sorted(jsonschema.Draft202012Validator(schema, format_checker=checker).iter_errors(doc_obj),
                    key=lambda e: list(e.path))
    for e in errors:
        print("FAIL: %s: %s: %s" % (where, "/".join(map(str, e.path)) or "(root)", e.message))
    failures += bool(errors)
    found[name] = found.get(name, 0) + 1
    if name == "action":
        actions.append(json.dumps(doc_obj, ensure_ascii=False))

# Unmarked json blocks are not checked: say so, so none is left out unnoticed.
blocks = len(re.findall(r"^```json$", text, re.M))
if blocks != sum(found.values()):
    print("FAIL: %d ```json blocks but %d marked with <!-- schema: NAME -->" % (blocks, sum(found.values())))
    failures += 1
for name in ("action", "reply", "audit-record"):
    if not found.get(name):
        print("FAIL: docs/messages.md has no example marked <!-- schema: %s -->" % name); failures += 1
open(actions_out, "w", encoding="utf-8").write("".join(a + "\n" for a in actions))
print("schema check: %s" % ", ".join("%s %d" % kv for kv in sorted(found.items())))
sys.exit(1 if failures else 0)
PY

# 2. The action examples through the worker's decoder.
n=$(wc -l <"$tmp/actions.jsonl")
cd "$tmp"
"$AW_BUILD_DIR/acteon-worker" dev --examples "$tmp/actions.jsonl" >"$tmp/dev.out" 2>"$tmp/dev.err" &
dev_pid=$!
outcomes() { grep -cE '^(executed|failed|deduplicated|rejected) ' "$tmp/dev.out" || true; }
for _ in $(seq 1 600); do
    [ "$(outcomes)" -ge "$n" ] && break
    kill -0 "$dev_pid" 2>/dev/null || break
    sleep 0.1
done
if [ "$(outcomes)" -lt "$n" ]; then
    echo "FAIL: acteon-worker dev printed $(outcomes) of $n outcomes within 60 s"
    tail -n 20 "$tmp/dev.out" "$tmp/dev.err"
    exit 1
fi
bad=$(grep -E '^(executed|failed|deduplicated|rejected) ' "$tmp/dev.out" |
      grep -vE '^executed ' | grep -vE '^rejected .*"reason":"unknown_provider"' || true)
if [ -n "$bad" ]; then
    echo "FAIL: an action example of docs/messages.md is refused by the worker's decoder:"
    echo "$bad"
    exit 1
fi
echo "ok: every marked example of docs/messages.md matches its schema; $n action example(s) pass the decoder"
