#!/usr/bin/env bash
# The audit trail on PostgreSQL (audit_body.sh): 2,000 actions, one record
# per message, paged search, wipe + replay twice, the action topic again.
# The audit tables live in a schema of their own (search_path in the URL),
# which audit_wipe drops and recreates empty.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
SCHEMA="awit_${RUN_ID//-/_}"
psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$AW_TEST_POSTGRES_URL" -c "$1" >/dev/null; }
psql_admin "CREATE SCHEMA $SCHEMA"
CLEANUP_HOOKS+=("psql_admin 'DROP SCHEMA IF EXISTS $SCHEMA CASCADE'")
sep='?'; case "$AW_TEST_POSTGRES_URL" in *\?*) sep='&' ;; esac
AUDIT_BACKEND=postgres
AUDIT_URL="${AW_TEST_POSTGRES_URL}${sep}options=-csearch_path%3D$SCHEMA"
audit_wipe() { psql_admin "DROP SCHEMA $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"; }
source "$(dirname "$0")/audit_body.sh"
