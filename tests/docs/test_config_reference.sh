#!/usr/bin/env bash
# docs/config-reference.md is generated from the config key table: it must
# match what the binary prints, so the reference cannot drift from the code.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$AW_SOURCE_DIR/docs" "$tmp/docs"
mkdir -p "$tmp/scripts"
cp "$AW_SOURCE_DIR/scripts/gen-docs.sh" "$tmp/scripts/"
(cd "$tmp" && bash scripts/gen-docs.sh "$AW_BUILD_DIR/acteon-worker" >/dev/null)
if ! diff -u "$AW_SOURCE_DIR/docs/config-reference.md" "$tmp/docs/config-reference.md"; then
    echo "FAIL: docs/config-reference.md is stale: run scripts/gen-docs.sh" >&2
    exit 1
fi
echo "ok: docs/config-reference.md matches the key table"
