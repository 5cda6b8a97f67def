#!/usr/bin/env bash
# A state_machine rule over three worker processes sharing PostgreSQL state: every
# event's moves made once each, in one sequence, timeouts fired once
# (rules_state_machine_body.sh); the audit trail searched by fingerprint,
# then wiped and rebuilt by `replay` of the reply topic, record for record.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
# The audit trail in a schema of its own (the state_changed outcome through
# the audit's CHECK: 0008), emptied before the replay check.
postgres_audit_own_schema
source "$(dirname "$0")/rules_state_machine_body.sh"
