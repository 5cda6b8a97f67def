#!/usr/bin/env bash
# A group rule on PostgreSQL state with a worker killed (SIGKILL) while a grouped
# call is in flight: every group flushed with its complete member list, a
# group called again only if its first call was the killed worker's, with a
# higher fencing token (rules_group_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
GROUP_KILL=1
source "$(dirname "$0")/rules_group_body.sh"
