#!/usr/bin/env bash
# kill -9 of one of three replicas executing scheduled actions on PostgreSQL
# state (issue 19 item 5): 1,000 actions due over 20 s each executed, never
# before its not_before, and again only if the killed replica's call was in
# flight at the kill (or answered within the completion linger), once, with
# a higher fencing token. See schedule_kill9_body.sh.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
source "$(dirname "$0")/schedule_kill9_body.sh"
