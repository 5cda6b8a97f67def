#!/usr/bin/env bash
# PostgreSQL stops mid-run (pg_ctl stop -m fast: sessions are cut) and comes
# back on the same port with its data: see outage_body.sh.
source "$(dirname "$0")/lib.sh"
source "$AW_SOURCE_DIR/scripts/servers/postgres.sh"
[ -x "$_pg_bin/postgres" ] || { echo "SKIP: PostgreSQL server not installed"; exit 77; }
STATE_BACKEND=postgres
source "$(dirname "$0")/pg_server.sh"
source "$(dirname "$0")/outage_body.sh"
