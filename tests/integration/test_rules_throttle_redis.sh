#!/usr/bin/env bash
# A throttle rule over three worker processes sharing Redis state: exactly
# max_count executions per window across the replicas (rules_throttle_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
source "$(dirname "$0")/rules_throttle_body.sh"
