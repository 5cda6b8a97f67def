#!/usr/bin/env bash
# The ClickHouse *audit* backend is killed (SIGKILL) mid-run and comes back
# on the same port with its data (state in the test Redis): the audit writer
# retries with backoff, its queue (40 records) fills, workers wait, the
# in-flight window fills and consumption pauses; nothing is dropped: exact
# outcomes and one audit record per message at the end. See outage_body.sh.
source "$(dirname "$0")/lib.sh"
OUTAGE_OF=audit
AUDIT_BACKEND=clickhouse
source "$(dirname "$0")/clickhouse_server.sh"
source "$(dirname "$0")/outage_body.sh"
