#!/usr/bin/env bash
# The audit trail on ClickHouse (audit_body.sh; integration/ on 18.16,
# integration-current/ on a current engine: tests/CMakeLists.txt): 2,000 actions, one
# record per message, paged search, wipe + replay twice, the action topic
# again. The tables live in a database of this run's own, which audit_wipe
# drops and recreates empty.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_CLICKHOUSE_URL:-}" ] || { echo "SKIP: AW_TEST_CLICKHOUSE_URL not set (scripts/test.sh starts ClickHouse)"; exit 77; }
CH_BASE=${AW_TEST_CLICKHOUSE_URL%%\?*}
CH_BASE=${CH_BASE%/}
DB="awit_${RUN_ID//-/_}"
ch() { curl -sf "$CH_BASE/" --data-binary "$1" >/dev/null; }
ch "CREATE DATABASE $DB" || fail "cannot create the database $DB"
CLEANUP_HOOKS+=("ch 'DROP DATABASE IF EXISTS $DB'")
AUDIT_BACKEND=clickhouse
AUDIT_URL="$CH_BASE/?database=$DB"
audit_wipe() { ch "DROP DATABASE $DB" && ch "CREATE DATABASE $DB" || fail "wiping $DB"; }
source "$(dirname "$0")/audit_body.sh"
