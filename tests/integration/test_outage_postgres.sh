#!/usr/bin/env bash
# PostgreSQL stops mid-run (pg_ctl stop -m fast: sessions are cut) and comes
# back on the same port with its data: see outage_body.sh.
source "$(dirname "$0")/lib.sh"
source "$AW_SOURCE_DIR/scripts/servers/postgres.sh"
[ -x "$_pg_bin/postgres" ] || { echo "SKIP: PostgreSQL server not installed"; exit 77; }
STATE_BACKEND=postgres
PGDIR="$T/pg"
server_start() {
    if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
        postgres_start "$PGDIR" >"$T/pg-start.log" 2>&1 || fail "postgres: $(cat "$T/pg-start.log")"
        CLEANUP_HOOKS=("postgres_stop $PGDIR")
        PORT=$(cat "$PGDIR/port")
        return
    fi
    _pg_as "$_pg_bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 30 \
        -o "-p $1 -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start \
        >"$T/pg-restart.log" 2>&1 || fail "postgres restart: $(cat "$T/pg-restart.log")"
}
server_stop() {
    _pg_as "$_pg_bin/pg_ctl" -D "$PGDIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || fail "postgres did not stop"
}
server_url() { echo "postgres://postgres@127.0.0.1:$(cat "$PGDIR/port")/acteon_test"; }
source "$(dirname "$0")/outage_body.sh"
