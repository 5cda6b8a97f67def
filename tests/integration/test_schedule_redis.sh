#!/usr/bin/env bash
# Scheduled actions over three worker processes sharing Redis state: each
# executed once, never before its not_before (schedule_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
source "$(dirname "$0")/schedule_body.sh"
