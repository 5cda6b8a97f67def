#!/usr/bin/env bash
# kill -9 of one of three replicas executing scheduled actions on DynamoDB
# state (dynalite in CI; issue 19 item 5): 1,000 actions due over 20 s each
# executed, never before its not_before, and again only if the killed
# replica's call was in flight at the kill (or answered within the
# completion linger), once, with a higher fencing token. See schedule_kill9_body.sh.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_DYNAMODB_URL:-}" ] || { echo "SKIP: AW_TEST_DYNAMODB_URL not set (scripts/test-servers.sh starts dynalite)"; exit 77; }
STATE_BACKEND=dynamodb
STATE_URL="$AW_TEST_DYNAMODB_URL"
# dynalite is one Node thread, and was behind the 1,000 due_puts of a 5 s
# lead in one run of three here (schedule_kill9_body.sh).
SCHED9_LEAD_MS=12000
# Due leases are 3 s as on Redis and PostgreSQL: the lease keeper renews
# them while a round runs (docs/scheduling.md, "Lease renewal"). Before
# that, dynalite was slower than 3 s due leases allow in one of three runs
# here: rounds outlasted the due lease (163-215 "lease lost" warnings per
# replica, execution replies sent 3-4 times), and the leases were raised
# to 10 s. With renewal, 4 runs at 3 s passed with no due lease lost and
# no reply sent twice, and so did one with SCHED9_DELAY_MS=3000-4000
# (every round longer than the lease), which fails without renewal
# (100-621 "lease lost" per replica, replies sent 3 times). Dedup leases stay at 10 s, as the kill -9 tests
# have on dynalite (15 s there): late dedup renewals on a loaded dynalite
# let live replicas call 13 actions again in that same run.
SCHED9_LEASE_MS=3000
SCHED9_DEDUP_LEASE_MS=10000
source "$(dirname "$0")/schedule_kill9_body.sh"
