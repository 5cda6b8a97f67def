#!/usr/bin/env bash
# A throttle rule over three worker processes sharing DynamoDB state
# (dynalite in CI): exactly max_count executions per window across the
# replicas (rules_throttle_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
source "$(dirname "$0")/rules_throttle_body.sh"
