# A PostgreSQL server of the test's own, for the outage tests (sourced after
# lib.sh and scripts/servers/postgres.sh): server_start PORT (first call:
# initdb + start on a free port; later calls: start again on PORT with its
# data), server_stop (pg_ctl stop -m fast: sessions are cut), server_url.
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
