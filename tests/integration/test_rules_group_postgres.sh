#!/usr/bin/env bash
# A group rule over three worker processes sharing PostgreSQL state: 10,000
# alerts in 500 groups, exactly 500 grouped calls with complete and
# disjoint member lists (rules_group_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
AUDIT_BACKEND=postgres # grouped and group_flushed through the audit's CHECK (0011)
AUDIT_URL="$AW_TEST_POSTGRES_URL"
source "$(dirname "$0")/rules_group_body.sh"
