#!/usr/bin/env bash
# A state_machine rule over three worker processes sharing Redis state: every
# event's moves made once each, in one sequence, timeouts fired once
# (rules_state_machine_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
source "$(dirname "$0")/rules_state_machine_body.sh"
