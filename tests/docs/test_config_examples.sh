#!/usr/bin/env bash
# Every example config passes `acteon-worker config check` with this binary
# (keys, types, bounds and backend names), one exists for each recommended
# combination of backends, and the check output never shows a password.
set -euo pipefail
: "${AW_SOURCE_DIR:?}" "${AW_BUILD_DIR:?}"
cd "$AW_SOURCE_DIR/config/examples"
# file: state audit (the seed's recommended combinations)
expected="dev.conf:memory:memory
production-general.conf:redis:postgres
production-strict.conf:postgres:postgres
search-heavy.conf:redis:elasticsearch
analytics-heavy.conf:redis:clickhouse
aws-native.conf:dynamodb:postgres"
while IFS=: read -r f state audit; do
    [ -f "$f" ] || { echo "FAIL: config/examples/$f is missing"; exit 1; }
    out=$("$AW_BUILD_DIR/acteon-worker" config check -c "$f") || { echo "FAIL: $f: config check"; exit 1; }
    echo "$out" | awk '/^state = /,/^};/' | grep -q "backend = \"$state\";" || { echo "FAIL: $f: state backend is not $state"; exit 1; }
    echo "$out" | awk '/^audit = /,/^};/' | grep -q "backend = \"$audit\";" || { echo "FAIL: $f: audit backend is not $audit"; exit 1; }
    if echo "$out" | grep -qE '://[^/@:]+:[^*/@][^/@]*@'; then
        echo "FAIL: $f: config check shows a password"; exit 1
    fi
done <<<"$expected"
for f in *.conf; do
    "$AW_BUILD_DIR/acteon-worker" config check -c "$f" >/dev/null || { echo "FAIL: $f: config check"; exit 1; }
done
echo "ok: every example config is valid; one per recommended combination; no password shown"
