# A ClickHouse server of the test's own, for the outage tests (sourced after
# lib.sh and scripts/servers/clickhouse.sh): server_start PORT (first call:
# clickhouse_start on free ports, database acteon_test; later calls: start
# again from the same config, so the same ports and data), server_stop
# (SIGKILL: a crash, no shutdown; acknowledged inserts are already in their
# parts on disk), server_url.
CHDIR="$T/clickhouse"
server_start() {
    if [ ! -f "$CHDIR/port" ]; then
        clickhouse_start "$CHDIR" >"$T/ch-start.log" 2>&1 || fail "clickhouse: $(cat "$T/ch-start.log")"
        CLEANUP_HOOKS+=("clickhouse_stop $CHDIR")
        PORT=$(cat "$CHDIR/port")
        return
    fi
    clickhouse_restart "$CHDIR" >"$T/ch-restart.log" 2>&1 \
        || fail "clickhouse restart: $(cat "$T/ch-restart.log")"
}
server_stop() { clickhouse_kill "$CHDIR" || fail "clickhouse did not die"; }
server_url() { echo "http://127.0.0.1:$(cat "$CHDIR/port")/?database=acteon_test"; }
