#!/usr/bin/env bash
# A state_machine rule on Redis with a worker killed by SIGKILL while it has
# calls in flight: the actions it had moved are retried elsewhere, find
# their move made and do not move the event again (rules_state_machine_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
SM_KILL=1
source "$(dirname "$0")/rules_state_machine_body.sh"
