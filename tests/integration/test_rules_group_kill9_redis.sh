#!/usr/bin/env bash
# A group rule on Redis state with a worker killed (SIGKILL) while a grouped
# call is in flight: every group flushed with its complete member list, a
# group called again only if its first call was the killed worker's, with a
# higher fencing token (rules_group_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
GROUP_KILL=1
source "$(dirname "$0")/rules_group_body.sh"
