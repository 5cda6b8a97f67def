#!/usr/bin/env bash
# kill -9 under load on PostgreSQL state (issue 18): after a worker is killed
# with hundreds of calls in flight, the replacement calls again only the
# actions whose calls were in flight at the kill or answered within the
# completion linger before it, each with a higher fencing token, and
# nothing is lost. See kill9_body.sh.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
source "$(dirname "$0")/kill9_body.sh"
