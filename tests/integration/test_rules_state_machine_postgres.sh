#!/usr/bin/env bash
# A state_machine rule over three worker processes sharing PostgreSQL state: every
# event's moves made once each, in one sequence, timeouts fired once
# (rules_state_machine_body.sh); the audit trail searched by fingerprint,
# then wiped and rebuilt by `replay` of the reply topic, record for record.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
# The audit trail in a schema of its own (search_path in the URL): this
# run's records only, which audit_wipe empties before the replay check.
SCHEMA="awit_${RUN_ID//-/_}"
psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$AW_TEST_POSTGRES_URL" -c "$1" >/dev/null; }
psql_admin "CREATE SCHEMA $SCHEMA"
CLEANUP_HOOKS+=("psql_admin 'DROP SCHEMA IF EXISTS $SCHEMA CASCADE'")
sep='?'; case "$AW_TEST_POSTGRES_URL" in *\?*) sep='&' ;; esac
AUDIT_BACKEND=postgres # the state_changed outcome through the audit's CHECK (0008)
AUDIT_URL="${AW_TEST_POSTGRES_URL}${sep}options=-csearch_path%3D$SCHEMA"
audit_wipe() { psql_admin "DROP SCHEMA $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"; }
source "$(dirname "$0")/rules_state_machine_body.sh"
