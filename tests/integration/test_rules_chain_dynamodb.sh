#!/usr/bin/env bash
# A chain rule over three worker processes sharing DynamoDB state (dynalite
# in CI): 200 chains of 3 steps, each step called exactly once, each
# chain's end replied (rules_chain_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
source "$(dirname "$0")/rules_chain_body.sh"
