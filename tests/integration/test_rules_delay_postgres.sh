#!/usr/bin/env bash
# A throttle with on_limit = "delay" over three worker processes sharing
# PostgreSQL state: max_count executions per window, the rest put off through the
# due index and executed exactly once (rules_delay_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts it)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
source "$(dirname "$0")/rules_delay_body.sh"
