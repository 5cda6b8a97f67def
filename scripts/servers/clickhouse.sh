# ClickHouse test server for scripts/test-servers.sh (sourced, not run).
#
#   clickhouse_start DIR   write DIR/config.xml + DIR/users.xml (HTTP, TCP and
#                          interserver ports on 127.0.0.1, each a free port;
#                          every path under DIR), start clickhouse-server in
#                          the background, wait (bounded) until GET /ping
#                          answers "Ok.", create the database acteon_test and
#                          write to DIR/env:
#                            export AW_TEST_CLICKHOUSE_URL=\
#                              http://127.0.0.1:PORT/?database=acteon_test
#   clickhouse_stop DIR    SIGTERM to the pid in DIR/clickhouse.pid, bounded
#                          wait (SIGKILL after 20 s)
#   clickhouse_kill DIR    SIGKILL (no shutdown at all: the outage tests'
#                          crash), bounded wait until it is gone; DIR keeps
#                          its config, port and data
#   clickhouse_restart DIR start it again from DIR's config: the same ports,
#                          the same data; bounded wait until it answers
#
# Traps: Debian ships 18.16 (2018). It runs
# as root with its own config file, so no runuser dance. Every listener it
# opens gets an explicit free port (the TCP port 9000 and the interserver
# port 9009 of the defaults would clash with anything else on the machine).
# Nothing is written outside DIR.

# shellcheck source=scripts/lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ports.sh"
# shellcheck source=scripts/lib/pid-server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/pid-server.sh"

_ch_ping() { # port
    local out
    out=$(curl -s -m 2 "http://127.0.0.1:$1/ping" 2>/dev/null) || return 1
    [ "$out" = "Ok." ]
}

# Create the database acteon_test over the HTTP interface on port; write
# "export VAR=its URL" to DIR/env. Also used by scripts/servers/chdb.sh.
_ch_test_database() { # dir port var
    curl -sS -m 10 --fail-with-body "http://127.0.0.1:$2/" \
        --data-binary "CREATE DATABASE IF NOT EXISTS acteon_test" >/dev/null || return 1
    echo "export $3=http://127.0.0.1:$2/?database=acteon_test" >"$1/env"
}

_ch_bin() {
    if command -v clickhouse-server >/dev/null; then
        command -v clickhouse-server
    elif command -v clickhouse >/dev/null; then
        echo "$(command -v clickhouse) server"
    else
        return 1
    fi
}

_ch_write_config() { # dir http tcp interserver
    local dir=$1
    mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
    cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/clickhouse.log</log>
        <errorlog>$dir/clickhouse.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$2</http_port>
    <tcp_port>$3</tcp_port>
    <interserver_http_port>$4</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>8589934592</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
XML
    cat >"$dir/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
XML
}

# Start the server from DIR/config.xml in the background; prints its pid
# (also written to DIR/clickhouse.pid).
_ch_launch() { # dir bin
    # Own process group (setsid) so the test script's job control never
    # signals it; the pid file is ours, written from $!.
    setsid $2 --config-file="$1/config.xml" >>"$1/stdout.log" 2>&1 </dev/null &
    echo $! >"$1/clickhouse.pid"
    echo $!
}

clickhouse_start() {
    local dir=$1 bin port tcp inter attempt deadline pid
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    bin=$(_ch_bin) || {
        echo "clickhouse-server is not installed (apt-get install clickhouse-server)" >&2
        return 1
    }
    if [ -f "$dir/clickhouse.pid" ] && [ -f "$dir/port" ] && _ch_ping "$(cat "$dir/port")"; then
        echo "a ClickHouse started from $dir is still running: stop it first" >&2
        return 1
    fi
    # A port free when python3 looks may be taken before the server binds:
    # then try other ones.
    for attempt in 1 2 3 4 5; do
        read -r port tcp inter < <(free_ports 3)
        _ch_write_config "$dir" "$port" "$tcp" "$inter"
        rm -f "$dir/clickhouse.log" "$dir/clickhouse.err.log" "$dir/stdout.log"
        pid=$(_ch_launch "$dir" "$bin")
        deadline=$((SECONDS + 30))
        while [ $SECONDS -lt $deadline ]; do
            if _ch_ping "$port"; then
                echo "$port" >"$dir/port"
                _ch_test_database "$dir" "$port" AW_TEST_CLICKHOUSE_URL || {
                    clickhouse_stop "$dir"
                    return 1
                }
                echo "clickhouse on 127.0.0.1:$port (tcp $tcp)"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break # exited: a port clash, or worse
            sleep 0.1
        done
        if grep -q "Address already in use" "$dir/clickhouse.err.log" "$dir/stdout.log" \
            2>/dev/null; then
            echo "a port was taken (attempt $attempt)" >&2
            _ch_stop_pid "$dir" || true
            continue
        fi
        echo "clickhouse did not answer on port $port:" >&2
        tail -n 30 "$dir/stdout.log" "$dir/clickhouse.err.log" >&2 2>/dev/null || true
        _ch_stop_pid "$dir" || true
        return 1
    done
    echo "giving up starting clickhouse" >&2
    return 1
}

_ch_stop_pid() { pid_server_signal "$1" clickhouse.pid clickhouse "${2:-TERM}"; }

clickhouse_stop() { pid_server_stop "$1" clickhouse.pid clickhouse; }

clickhouse_kill() {
    local dir
    dir=$(cd "$1" && pwd)
    _ch_stop_pid "$dir" KILL
}

clickhouse_restart() {
    local dir bin port pid deadline
    dir=$(cd "$1" && pwd)
    port=$(cat "$dir/port") || return 1
    bin=$(_ch_bin) || return 1
    pid=$(_ch_launch "$dir" "$bin")
    deadline=$((SECONDS + 30))
    while [ $SECONDS -lt $deadline ]; do
        _ch_ping "$port" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "clickhouse did not come back on port $port:" >&2
    tail -n 30 "$dir/stdout.log" "$dir/clickhouse.err.log" >&2 2>/dev/null || true
    return 1
}
