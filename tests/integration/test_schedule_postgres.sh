#!/usr/bin/env bash
# Scheduled actions over three worker processes sharing PostgreSQL state:
# each executed once, never before its not_before (schedule_body.sh), and
# both audit records of each in PostgreSQL.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
# The audit trail in PostgreSQL too: the `scheduled` outcome passes its
# CHECK constraint (migration 0005) and audit search finds both records.
AUDIT_BACKEND=postgres
AUDIT_URL="$AW_TEST_POSTGRES_URL"
source "$(dirname "$0")/schedule_body.sh"
