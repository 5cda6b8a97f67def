# A ClickHouse server of the test's own, for the outage tests (sourced after
# lib.sh): server_start PORT (first call: start on free ports, database
# acteon_test; later calls: start again from the same config, so the same
# ports and data), server_stop (SIGKILL: a crash, no shutdown; acknowledged
# inserts are already in their parts on disk), server_url.
# The engine: Debian's clickhouse-server 18.16 (scripts/servers/clickhouse.sh),
# or with AW_CLICKHOUSE_ENGINE=current (tests/support/clickhouse_current.sh
# sets it) the current engine behind the chdb front (scripts/servers/chdb.sh).
# Skips (exit 77) when the engine is not there.
CHDIR="$T/clickhouse"
if [ "${AW_CLICKHOUSE_ENGINE:-}" = current ]; then
    source "$AW_SOURCE_DIR/scripts/servers/chdb.sh"
    chdb_install >"$T/chdb-install.log" 2>&1 ||
        { echo "SKIP: chdb could not be installed ($(tail -n 3 "$T/chdb-install.log"))"; exit 77; }
    _ch_srv_start() { chdb_start "$@"; }
    _ch_srv_stop() { chdb_stop "$@"; }
    _ch_srv_kill() { chdb_kill "$@"; }
    _ch_srv_restart() { chdb_restart "$@"; }
else
    source "$AW_SOURCE_DIR/scripts/servers/clickhouse.sh"
    _ch_bin >/dev/null || { echo "SKIP: clickhouse-server not installed"; exit 77; }
    _ch_srv_start() { clickhouse_start "$@"; }
    _ch_srv_stop() { clickhouse_stop "$@"; }
    _ch_srv_kill() { clickhouse_kill "$@"; }
    _ch_srv_restart() { clickhouse_restart "$@"; }
fi
server_start() {
    if [ ! -f "$CHDIR/port" ]; then
        _ch_srv_start "$CHDIR" >"$T/ch-start.log" 2>&1 || fail "clickhouse: $(cat "$T/ch-start.log")"
        CLEANUP_HOOKS+=("_ch_srv_stop $CHDIR")
        PORT=$(cat "$CHDIR/port")
        return
    fi
    _ch_srv_restart "$CHDIR" >"$T/ch-restart.log" 2>&1 \
        || fail "clickhouse restart: $(cat "$T/ch-restart.log")"
}
server_stop() { _ch_srv_kill "$CHDIR" || fail "clickhouse did not die"; }
server_url() { echo "http://127.0.0.1:$(cat "$CHDIR/port")/?database=acteon_test"; }
