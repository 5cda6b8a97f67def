# DynamoDB test server (dynalite, from npm) for scripts/test-servers.sh
# (sourced, not run).
#
#   dynalite_start DIR  install dynalite@4 once into the repository's
#                       git-ignored build-dynalite/ (skipped when present;
#                       Node and npm come with the machine: never install
#                       Debian's npm), start it on 127.0.0.1 (free port) with
#                       instant table operations, wait (bounded) until GET /
#                       answers; write to DIR/env:
#                         export AW_TEST_DYNAMODB_URL=dynamodb://aw-test:aw-test@us-east-1/<table>?endpoint=http://127.0.0.1:PORT
#                       (dummy credentials: dynalite checks none; a fresh table name per start; `acteon-worker migrate`
#                       or the tests create it; dynalite keeps it in memory)
#   dynalite_stop DIR   SIGTERM the pid in DIR/dynalite.pid, wait (bounded),
#                       then SIGKILL.
#
# dynalite does not verify SigV4 signatures and has no TTL expiry nor
# UpdateTimeToLive (see docs and backends/state/dynamodb/ddb_state.h).

_dynalite_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

# shellcheck source=scripts/lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ports.sh"

# Install dynalite into ROOT/build-dynalite once. A half-done install (killed
# npm) never counts as present: it is built in a temporary folder and renamed.
_dynalite_install() {
    local root=$1 dest=$1/build-dynalite tmp
    [ -f "$dest/node_modules/dynalite/cli.js" ] && return 0
    command -v node >/dev/null || { echo "node is not on PATH" >&2; return 1; }
    command -v npm >/dev/null || { echo "npm is not on PATH (comes with Node)" >&2; return 1; }
    tmp=$(mktemp -d "$root/build-dynalite.tmp.XXXXXX")
    echo '{"name":"aw-dynalite","private":true}' >"$tmp/package.json"
    # As root too (CI): nothing here needs an install script to run (the
    # leveldb binding ships prebuilt binaries, loaded by node-gyp-build).
    if ! (cd "$tmp" && timeout 600 npm install --no-audit --no-fund dynalite@4 \
        >"$tmp/npm.log" 2>&1); then
        echo "npm install dynalite@4 failed:" >&2
        tail -30 "$tmp/npm.log" >&2
        rm -rf "$tmp"
        return 1
    fi
    if [ -f "$dest/node_modules/dynalite/cli.js" ]; then
        rm -rf "$tmp" # another start installed it meanwhile
    else
        rm -rf "$dest"
        mv "$tmp" "$dest"
    fi
}

# _dynalite_up PORT|HOST:PORT: dynalite answers there (127.0.0.1 by default).
_dynalite_up() {
    python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
addr = sys.argv[1] if ":" in sys.argv[1] else "127.0.0.1:" + sys.argv[1]
try:
    urllib.request.urlopen("http://%s/" % addr, timeout=1)
except urllib.error.HTTPError:
    pass  # any HTTP answer means it is up
sys.exit(0)
PY
}

dynalite_start() {
    local dir=$1 root port pid attempt deadline table
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    root=$(_dynalite_root)
    if [ -f "$dir/dynalite.pid" ] && kill -0 "$(cat "$dir/dynalite.pid")" 2>/dev/null; then
        echo "a dynalite started from $dir is still running: stop it first" >&2
        return 1
    fi
    _dynalite_install "$root" || return 1
    table="aw_test_$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
    for attempt in 1 2 3 4 5; do
        port=$(free_ports)
        node "$root/build-dynalite/node_modules/dynalite/cli.js" --host 127.0.0.1 \
            --port "$port" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
            >"$dir/dynalite.log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$dir/dynalite.pid"
        deadline=$((SECONDS + 15))
        while [ $SECONDS -lt $deadline ] && kill -0 "$pid" 2>/dev/null; do
            if _dynalite_up "$port"; then
                echo "$port" >"$dir/port"
                echo "export AW_TEST_DYNAMODB_URL='dynamodb://aw-test:aw-test@us-east-1/$table?endpoint=http://127.0.0.1:$port'" >"$dir/env"
                echo "dynalite on 127.0.0.1:$port (pid $pid)"
                return 0
            fi
            sleep 0.1
        done
        echo "dynalite did not answer on port $port (attempt $attempt)" >&2
        dynalite_stop "$dir" || true
    done
    echo "giving up starting dynalite; log:" >&2
    cat "$dir/dynalite.log" >&2 2>/dev/null || true
    return 1
}

dynalite_stop() {
    local dir=$1 pid deadline
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    [ -f "$dir/dynalite.pid" ] || return 0
    pid=$(cat "$dir/dynalite.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while [ $SECONDS -lt $deadline ] && kill -0 "$pid" 2>/dev/null; do
            grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
            echo "dynalite (pid $pid) did not stop within 10 s: killed" >&2
        fi
    fi
    rm -f "$dir/dynalite.pid" "$dir/port"
}
