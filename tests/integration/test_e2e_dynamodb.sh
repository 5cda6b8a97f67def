#!/usr/bin/env bash
# The end-to-end corpus (test_e2e.sh: 1,000 actions, 100 repeats, 20
# malformed) with DynamoDB state on dynalite: the same outcomes.
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test.sh starts dynalite)"; exit 77; }
export STATE_BACKEND=dynamodb STATE_URL="$AW_TEST_DYNAMODB_URL"
exec bash "$(dirname "$0")/test_e2e.sh"
