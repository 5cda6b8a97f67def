#!/usr/bin/env bash
# A group rule over three worker processes sharing PostgreSQL state: 10,000
# alerts in 500 groups, exactly 500 grouped calls with complete and
# disjoint member lists (rules_group_body.sh); the audit trail searched by
# group id, then wiped and rebuilt by `replay` of the reply topic, record
# for record.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
# The audit trail in a schema of its own (grouped and group_flushed through
# the audit's CHECK: 0011), emptied before the replay check.
postgres_audit_own_schema
source "$(dirname "$0")/rules_group_body.sh"
