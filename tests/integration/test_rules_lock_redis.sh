#!/usr/bin/env bash
# A lock rule over three worker processes sharing Redis state: actions of one
# lock key execute one at a time across the replicas (rules_lock_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
source "$(dirname "$0")/rules_lock_body.sh"
