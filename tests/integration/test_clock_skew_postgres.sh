#!/usr/bin/env bash
# Clock skew on PostgreSQL state, whose lease expiry is judged by the
# server's now() (docs/backends/postgres.md): a replica whose wall clock is
# 45 s ahead (more than twice the 20 s lease) still executes nothing twice
# (clock_skew_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
SKEW_PHASES="45:once"
source "$(dirname "$0")/clock_skew_body.sh"
