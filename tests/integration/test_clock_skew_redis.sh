#!/usr/bin/env bash
# Clock skew on Redis state, whose lease expiry is judged by the Redis
# server's clock (docs/backends/redis.md): a replica whose wall clock is
# 45 s ahead (more than twice the 20 s lease) still executes nothing twice
# (clock_skew_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test-servers.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
SKEW_PHASES="45:once"
source "$(dirname "$0")/clock_skew_body.sh"
