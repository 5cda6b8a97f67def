#!/usr/bin/env bash
# A lock holder killed with SIGKILL while its call runs (Redis state): its
# locks expire after lock_ttl_ms, the other workers go on, no two calls of one
# lock key overlap, lock tokens still rise (rules_lock_body.sh, LOCK_KILL=1).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
LOCK_KILL=1
source "$(dirname "$0")/rules_lock_body.sh"
