#!/usr/bin/env bash
# A state_machine rule over three worker processes sharing PostgreSQL state: every
# event's moves made once each, in one sequence, timeouts fired once
# (rules_state_machine_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
AUDIT_BACKEND=postgres # the state_changed outcome through the audit's CHECK (0008)
AUDIT_URL="$AW_TEST_POSTGRES_URL"
source "$(dirname "$0")/rules_state_machine_body.sh"
