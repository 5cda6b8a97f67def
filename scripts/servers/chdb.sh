# A current ClickHouse engine for scripts/test-servers.sh (sourced, not run):
# chdb (PyPI chdb-core, an embedded ClickHouse) behind tests/support/
# chdb_http.py, a thin front speaking the part of ClickHouse's HTTP interface
# the clickhouse backends use. The 18.16 server (clickhouse.sh) checks the
# oldest version we support, this one the newest engine; what the front
# cannot show is in docs/backends/clickhouse-audit.md.
#
#   chdb_install           the venv with chdb-core $AW_CHDB_VERSION in
#                          $AW_CHDB_VENV (default build-chdb/venv in the source
#                          tree), kept between runs; pip only when missing
#   chdb_start DIR         install, start the front on a free port (data in
#                          DIR/data), wait (bounded) until GET /ping answers,
#                          create the database acteon_test, write to DIR/env:
#                            export AW_TEST_CLICKHOUSE_CURRENT_URL=\
#                              http://127.0.0.1:PORT/?database=acteon_test
#   chdb_stop DIR          SIGTERM, bounded wait (SIGKILL after 20 s)
#   chdb_kill DIR          SIGKILL (a crash), bounded wait; DIR keeps its data
#   chdb_restart DIR       start again on the same port and data
#
# Needs python3 with the venv module (Debian: python3-venv) and PyPI.

# shellcheck source=scripts/servers/clickhouse.sh
source "$(dirname "${BASH_SOURCE[0]}")/clickhouse.sh" # _ch_ping, _ch_test_database; ports, pid files

AW_CHDB_VERSION=${AW_CHDB_VERSION:-26.9.0}
_chdb_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AW_CHDB_VENV=${AW_CHDB_VENV:-$_chdb_root/build-chdb/venv}

chdb_install() {
    # One install at a time: the outage tests call this too, and two of
    # them may start at once on a machine without the venv.
    mkdir -p "$(dirname "$AW_CHDB_VENV")"
    (
        flock 9
        _chdb_install_locked
    ) 9>"$AW_CHDB_VENV.lock"
}

_chdb_install_locked() {
    local py="$AW_CHDB_VENV/bin/python"
    if [ -x "$py" ] && "$py" -c "import chdb, sys; sys.exit(chdb.__version__ != '$AW_CHDB_VERSION')" \
        2>/dev/null; then
        return 0
    fi
    echo "chdb: installing chdb-core==$AW_CHDB_VERSION into $AW_CHDB_VENV"
    rm -rf "$AW_CHDB_VENV"
    python3 -m venv "$AW_CHDB_VENV" || {
        echo "python3 -m venv failed (Debian: apt-get install python3-venv)" >&2
        return 1
    }
    # --no-deps: pandas, pyarrow and numpy serve chdb's DataFrame and Arrow
    # results, which the front does not use (text formats only): 560 MB
    # instead of 890.
    "$AW_CHDB_VENV/bin/pip" install -q --disable-pip-version-check --no-deps \
        "chdb-core==$AW_CHDB_VERSION" || return 1
}

# Start the front in the background (own process group: the test script's
# job control never signals it); its pid goes to DIR/chdb.pid. Waits
# (bounded) until it answers on port (0: a free one, written to DIR/port).
_chdb_launch() { # dir port
    local dir=$1 deadline pid
    rm -f "$dir/port.new"
    setsid "$AW_CHDB_VENV/bin/python" "$_chdb_root/tests/support/chdb_http.py" \
        --data "$dir/data" --port "$2" --port-file "$dir/port.new" \
        >>"$dir/chdb.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/chdb.pid"
    deadline=$((SECONDS + 30))
    while [ $SECONDS -lt $deadline ]; do
        if [ -f "$dir/port.new" ] && _ch_ping "$(cat "$dir/port.new")"; then
            mv "$dir/port.new" "$dir/port"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "chdb front did not answer:" >&2
    tail -n 30 "$dir/chdb.log" >&2 2>/dev/null || true
    _chdb_stop_pid "$dir" KILL || true
    return 1
}

chdb_start() {
    local dir=$1 port
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -f "$dir/chdb.pid" ] && [ -f "$dir/port" ] && _ch_ping "$(cat "$dir/port")"; then
        echo "a chdb front started from $dir is still running: stop it first" >&2
        return 1
    fi
    chdb_install || return 1
    rm -f "$dir/chdb.log"
    _chdb_launch "$dir" 0 || return 1
    port=$(cat "$dir/port")
    _ch_test_database "$dir" "$port" AW_TEST_CLICKHOUSE_CURRENT_URL || {
        chdb_stop "$dir"
        return 1
    }
    echo "chdb (ClickHouse $("$AW_CHDB_VENV/bin/python" -c 'import chdb; print(chdb.engine_version)' \
        2>/dev/null || echo "$AW_CHDB_VERSION")) on 127.0.0.1:$port"
}

_chdb_stop_pid() { pid_server_signal "$1" chdb.pid "chdb front" "${2:-TERM}"; }

chdb_stop() { pid_server_stop "$1" chdb.pid "chdb front"; }

chdb_kill() {
    local dir
    dir=$(cd "$1" && pwd)
    _chdb_stop_pid "$dir" KILL
}

chdb_restart() {
    local dir
    dir=$(cd "$1" && pwd)
    _chdb_launch "$dir" "$(cat "$dir/port")"
}
