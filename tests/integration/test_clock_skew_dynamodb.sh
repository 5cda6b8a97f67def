#!/usr/bin/env bash
# Clock skew on DynamoDB state (dynalite), whose lease expiry is judged by
# the requesting worker's clock (docs/backends/dynamodb.md): one replica
# ahead by less than the margin (a tenth of the 20 s lease) executes nothing
# twice; one ahead by more than the lease (45 s) takes live leases over: actions
# run twice, each repeat with a higher fencing token (clock_skew_body.sh).
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
SKEW_PHASES="${SKEW_PHASES:-1:once 45:fenced}"
source "$(dirname "$0")/clock_skew_body.sh"
