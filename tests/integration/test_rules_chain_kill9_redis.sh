#!/usr/bin/env bash
# A chain rule on Redis with a worker killed by SIGKILL while a step call
# is in flight: its chains are continued by the others from their records,
# every chain completes, a step is called again only if the killed worker
# had called it, with a higher fencing token (rules_chain_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
CHAIN_KILL=1
source "$(dirname "$0")/rules_chain_body.sh"
