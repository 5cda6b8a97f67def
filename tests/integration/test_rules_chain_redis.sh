#!/usr/bin/env bash
# A chain rule over three worker processes sharing Redis state: 200 chains
# of 3 steps, each step called exactly once, each chain's end replied
# (rules_chain_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
source "$(dirname "$0")/rules_chain_body.sh"
