#!/usr/bin/env bash
# A throttle rule over three worker processes sharing PostgreSQL state: exactly
# max_count executions per window across the replicas (rules_throttle_body.sh),
# and the audit trail in PostgreSQL: `audit search --rule` finds each rule's
# records (the rule column, migration 0006) with their outcomes.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
AUDIT_BACKEND=postgres
AUDIT_URL="$AW_TEST_POSTGRES_URL"
source "$(dirname "$0")/rules_throttle_body.sh"
