#!/usr/bin/env bash
# docs/quickstart.md runs as written: every shell block marked
# <!-- runnable --> is extracted, in order, into one script and run in a
# fresh folder against this test's Kafka peer, the test Redis and the test
# PostgreSQL (a schema of its own), with `acteon-worker` on the PATH. Then
# what the guide promises is checked: four replies (three executed, one
# deduplicated), one DLQ copy with reason invalid_json, five audit records,
# and a replay that adds nothing.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set"; exit 77; }
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set"; exit 77; }
QS="qs-$RUN_ID"
start_kafka "$QS.actions:2" "$QS.replies:2" "$QS.dlq:1"
SCHEMA="awqs_${RUN_ID//-/_}"
psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$AW_TEST_POSTGRES_URL" -c "$1" >/dev/null; }
psql_admin "CREATE SCHEMA $SCHEMA"
CLEANUP_HOOKS+=("psql_admin 'DROP SCHEMA IF EXISTS $SCHEMA CASCADE'")
sep='?'; case "$AW_TEST_POSTGRES_URL" in *\?*) sep='&' ;; esac

python3 - "$AW_SOURCE_DIR/docs/quickstart.md" >"$T/quickstart.sh" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
out, i, blocks = ["set -euo pipefail"], 0, 0
while i < len(lines):
    if lines[i].strip() == "<!-- runnable -->":
        assert lines[i + 1].strip() == "```sh", "a runnable mark must precede a ```sh block"
        i += 2
        while lines[i].strip() != "```":
            out.append(lines[i])
            i += 1
        blocks += 1
    i += 1
assert blocks >= 5, "too few runnable blocks"
print("\n".join(out))
PY
mkdir -p "$T/bin" "$T/qs"
ln -s "$WORKER" "$T/bin/acteon-worker"
# A stopped guide must not leave its worker behind.
CLEANUP_HOOKS+=("[ -f $T/qs/worker.pid ] && kill -9 \$(cat $T/qs/worker.pid)")
(cd "$T/qs" && PATH="$T/bin:$PATH" KAFKA="$BOOT" REDIS_URL="$AW_TEST_REDIS_URL" \
    POSTGRES_URL="${AW_TEST_POSTGRES_URL}${sep}options=-csearch_path%3D$SCHEMA" QS="$QS" \
    bash "$T/quickstart.sh") >"$T/quickstart.out" 2>&1 \
    || fail "the quick start failed: $(tail -20 "$T/quickstart.out")"
cat "$T/quickstart.out"

grep -q '^config ok$' "$T/quickstart.out" || fail "config check"
[ "$(grep -c '"outcome":"executed"' "$T/qs/replies.txt")" -eq 3 ] || fail "want 3 executed replies"
[ "$(grep -c '"outcome":"deduplicated"' "$T/qs/replies.txt")" -eq 1 ] || fail "want 1 deduplicated reply"
grep -q 'acteon.dlq.reason=invalid_json' "$T/qs/dlq.txt" || fail "DLQ reason"
rows=$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.* (executed|deduplicated|rejected) ' "$T/quickstart.out")
[ "$rows" -eq 5 ] || fail "the table search shows $rows records, want 5"
grep -q '5 message(s) read, 5 record(s) written, 0 new, 5 already present' "$T/quickstart.out" \
    || fail "replay summary"
pass "docs/quickstart.md runs as written and does what it says"
