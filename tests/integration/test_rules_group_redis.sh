#!/usr/bin/env bash
# A group rule over three worker processes sharing Redis state: 10,000
# alerts in 500 groups, exactly 500 grouped calls with complete and
# disjoint member lists (rules_group_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
source "$(dirname "$0")/rules_group_body.sh"
