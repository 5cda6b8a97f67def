#!/usr/bin/env bash
# Scheduled actions over three worker processes sharing DynamoDB state
# (dynalite in CI): each executed once, never before its not_before
# (schedule_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
source "$(dirname "$0")/schedule_body.sh"
