#!/usr/bin/env bash
# A group rule over three worker processes sharing DynamoDB state (dynalite
# in CI, one Node thread: 2,000 alerts in 100 groups): exactly one grouped
# call per group, member lists complete and disjoint (rules_group_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
ALERTS=2000
source "$(dirname "$0")/rules_group_body.sh"
