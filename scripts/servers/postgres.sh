# PostgreSQL 15 test server for scripts/test-servers.sh (sourced, not run).
#
#   postgres_start DIR   initdb (trust, UTF8, no fsync) into DIR/data as the
#                        postgres user, start it on 127.0.0.1 on a free port
#                        with its socket in DIR, wait (bounded) until it
#                        accepts connections, create the database acteon_test
#                        and write to DIR/env:
#                          export AW_TEST_POSTGRES_URL=\
#                            postgres://postgres@127.0.0.1:PORT/acteon_test
#   postgres_stop DIR    pg_ctl stop -m fast, bounded (immediate after 20 s)
#
# Traps: root cannot run postgres, so every
# server binary runs through `runuser -u postgres --` with its full path,
# and every parent folder of DIR must be traversable by postgres (chmod o+x
# on each one that is not). Nothing is ever written outside DIR.

_pg_bin=/usr/lib/postgresql/15/bin

# shellcheck source=scripts/lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ports.sh"

# Run a server binary as the postgres user (or as ourselves when we are it).
_pg_as() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Let postgres reach DIR: o+x on DIR's parents that lack it, and DIR itself
# owned by postgres.
_pg_open_path() {
    local dir=$1 p
    p=$dir
    while [ "$p" != / ] && [ -n "$p" ]; do
        p=$(dirname "$p")
        if [ -d "$p" ] && ! _pg_as test -x "$p"; then
            chmod o+x "$p" || return 1
        fi
    done
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir" || return 1
    fi
    chmod 700 "$dir"
}

_pg_ready() { # port dir
    "$_pg_bin/pg_isready" -q -h 127.0.0.1 -p "$1" -t 1 >/dev/null 2>&1
}

postgres_start() {
    local dir=$1 port attempt
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -x "$_pg_bin/postgres" ] || {
        echo "PostgreSQL 15 server binaries not found in $_pg_bin" \
            "(apt-get install postgresql-15)" >&2
        return 1
    }
    if [ -f "$dir/data/postmaster.pid" ] && [ -f "$dir/port" ] &&
        _pg_ready "$(cat "$dir/port")"; then
        echo "a PostgreSQL started from $dir is still running: stop it first" >&2
        return 1
    fi
    # The socket path (DIR/.s.PGSQL.PORT) must fit sun_path (108 bytes).
    [ ${#dir} -lt 90 ] || {
        echo "postgres: $dir is too long for a Unix socket path" >&2
        return 1
    }
    _pg_open_path "$dir" || {
        echo "postgres: cannot make $dir reachable for the postgres user" >&2
        return 1
    }
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        rm -rf "$dir/data"
        _pg_as "$_pg_bin/initdb" -D "$dir/data" -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
            -U postgres >"$dir/initdb.log" 2>&1 || {
            echo "initdb failed:" >&2
            cat "$dir/initdb.log" >&2
            return 1
        }
    fi
    # The port is free when python3 looks, but another process may take it
    # before the server binds: then try another one.
    for attempt in 1 2 3 4 5; do
        port=$(free_ports)
        rm -f "$dir/postgres.log"
        # pg_ctl -w waits (bounded by -t) until the server accepts connections.
        # fsync and full-page writes off: test data need not survive a crash.
        if _pg_as "$_pg_bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
                -c full_page_writes=off -c max_connections=200" \
            start >"$dir/pg_ctl.log" 2>&1; then
            if ! _pg_ready "$port"; then
                echo "postgres started but does not answer on port $port" >&2
                postgres_stop "$dir"
                return 1
            fi
            echo "$port" >"$dir/port"
            if ! "$_pg_bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
                -v ON_ERROR_STOP=1 -tAc "SELECT 1 FROM pg_database WHERE datname = 'acteon_test'" |
                grep -q 1; then
                "$_pg_bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
                    -v ON_ERROR_STOP=1 -c "CREATE DATABASE acteon_test" || {
                    postgres_stop "$dir"
                    return 1
                }
            fi
            echo "export AW_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/acteon_test" \
                >"$dir/env"
            echo "postgres on 127.0.0.1:$port (socket in $dir)"
            return 0
        fi
        # Bind failure: the log says so; try the next port.
        if grep -q "could not bind\|Address already in use" "$dir/postgres.log" 2>/dev/null; then
            echo "port $port taken (attempt $attempt)" >&2
            continue
        fi
        echo "postgres did not start:" >&2
        cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2 2>/dev/null
        return 1
    done
    echo "giving up starting postgres; log:" >&2
    cat "$dir/postgres.log" >&2 2>/dev/null
    return 1
}

postgres_stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    [ -f "$dir/data/postmaster.pid" ] || { rm -f "$dir/port"; return 0; }
    # Fast shutdown: active sessions are rolled back; bounded wait.
    if ! _pg_as "$_pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop >/dev/null 2>&1; then
        echo "postgres did not stop within 20 s: immediate shutdown" >&2
        _pg_as "$_pg_bin/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || {
            echo "postgres in $dir did not stop" >&2
            return 1
        }
    fi
    rm -f "$dir/port"
}
