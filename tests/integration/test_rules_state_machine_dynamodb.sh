#!/usr/bin/env bash
# A state_machine rule over three worker processes sharing DynamoDB state
# (dynalite in CI): every event's moves made once each, in one sequence,
# timeouts fired once (rules_state_machine_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
source "$(dirname "$0")/rules_state_machine_body.sh"
