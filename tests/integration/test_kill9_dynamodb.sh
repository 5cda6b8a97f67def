#!/usr/bin/env bash
# kill -9 under load on DynamoDB state (dynalite in CI; issue 18): after a
# worker is killed with hundreds of calls in flight, the replacement calls
# again only the actions whose calls were in flight at the kill or answered
# within the completion linger before it, each with a higher fencing token,
# and nothing is lost. See kill9_body.sh.
#
# dynalite is one Node thread, about 1k operations/s: fewer actions, a
# longer lease (with 6 s, as in test_scaleout_dynamodb.sh, the live worker
# lost 24 leases of its own calls here; real DynamoDB answers in ms) and
# less concurrency. With 8 threads x 64 calls of 300-600 ms its done-record
# writes took 0.1-0.2 s each (saturated): records then wait for the server,
# not for the worker, and calls answered up to 0.2 s before the kill ran
# again. The bound holds while the state backend keeps up (docs/operations.md,
# "Crashes"); 4 threads x 16 calls of 100-200 ms keep dynalite's writes
# near 1 ms here.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
KILL9_TOTAL=1200
KILL9_DUPS=120
KILL9_LEASE_MS=15000
# Its done-record writes averaged 0.05-0.5 s per run here, so with 50-100 ms
# calls the kill found w2 writing, nothing in flight, in 2 runs of 3 (12 in
# the third): longer calls.
KILL9_DELAY_MS=100-200
KILL9_THREADS=4
KILL9_CONCURRENCY=16
source "$(dirname "$0")/kill9_body.sh"
