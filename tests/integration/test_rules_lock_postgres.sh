#!/usr/bin/env bash
# A lock rule over three worker processes sharing PostgreSQL state: actions of one
# lock key execute one at a time across the replicas (rules_lock_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
source "$(dirname "$0")/rules_lock_body.sh"
