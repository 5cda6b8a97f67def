#!/usr/bin/env bash
# ClickHouse as the *state* backend is killed (SIGKILL) mid-run and comes
# back on the same port with its data: see outage_body.sh. ClickHouse state
# is eventually consistent (state.allow_eventual_consistency); what
# docs/backends/clickhouse-state.md promises is that dedup is exact without
# contention: one worker, each identity's messages processed in offset order.
# That is this run (one worker process), so the exact outcomes are asserted.
source "$(dirname "$0")/lib.sh"
STATE_BACKEND=clickhouse
STATE_EXTRA="allow_eventual_consistency = true;"
source "$(dirname "$0")/clickhouse_server.sh"
source "$(dirname "$0")/outage_body.sh"
