#!/usr/bin/env bash
# A lock rule over three worker processes sharing DynamoDB state (dynalite in
# CI): actions of one lock key execute one at a time across the replicas
# (rules_lock_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
source "$(dirname "$0")/rules_lock_body.sh"
