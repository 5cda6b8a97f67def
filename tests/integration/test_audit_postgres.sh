#!/usr/bin/env bash
# The audit trail on PostgreSQL (audit_body.sh): 2,000 actions, one record
# per message, paged search, wipe + replay twice, the action topic again.
# The audit tables live in a schema of their own (search_path in the URL),
# which audit_wipe drops and recreates empty.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
postgres_audit_own_schema
source "$(dirname "$0")/audit_body.sh"
