#!/usr/bin/env bash
# kill -9 under load on Redis state (issue 18): after a worker is killed
# with hundreds of calls in flight, the replacement calls again only the
# actions whose calls were in flight at the kill or answered within the
# completion linger before it, each with a higher fencing token, and
# nothing is lost. See kill9_body.sh.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_REDIS_URL:-}" ] || { echo "SKIP: AW_TEST_REDIS_URL not set (scripts/test.sh starts Redis)"; exit 77; }
STATE_BACKEND=redis
STATE_URL="$AW_TEST_REDIS_URL"
source "$(dirname "$0")/kill9_body.sh"
