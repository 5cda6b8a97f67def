#!/usr/bin/env bash
# The PostgreSQL *audit* backend stops mid-run and comes back on the same
# port with its data (state in the test Redis): the audit writer retries
# with backoff, its queue (40 records) fills, workers wait, the in-flight
# window fills and consumption pauses; nothing is dropped: exact outcomes
# and one audit record per message at the end. See outage_body.sh.
source "$(dirname "$0")/lib.sh"
source "$AW_SOURCE_DIR/scripts/servers/postgres.sh"
[ -x "$_pg_bin/postgres" ] || { echo "SKIP: PostgreSQL server not installed"; exit 77; }
OUTAGE_OF=audit
AUDIT_BACKEND=postgres
source "$(dirname "$0")/pg_server.sh"
source "$(dirname "$0")/outage_body.sh"
