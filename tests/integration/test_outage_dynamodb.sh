#!/usr/bin/env bash
# dynalite (DynamoDB) stops mid-run and comes back on the same port with its
# data (LevelDB under --path): see outage_body.sh.
source "$(dirname "$0")/lib.sh"
CLI="$AW_SOURCE_DIR/build-dynalite/node_modules/dynalite/cli.js"
[ -f "$CLI" ] || { echo "SKIP: dynalite not installed (scripts/test-servers.sh installs it)"; exit 77; }
STATE_BACKEND=dynamodb
TABLE="awit_${RUN_ID//-/_}"
ddb_up() { curl -s -o /dev/null "http://127.0.0.1:$1/"; }
server_start() {
    mkdir -p "$T/dynalite"
    node "$CLI" --host 127.0.0.1 --port "$1" --path "$T/dynalite" --createTableMs 0 \
        --deleteTableMs 0 --updateTableMs 0 >>"$T/dynalite.log" 2>&1 &
    DDB_PID=$!
    PIDS+=($DDB_PID)
    wait_for 30 "dynalite on port $1" ddb_up "$1"
}
server_stop() {
    kill -TERM "$DDB_PID"
    wait "$DDB_PID" 2>/dev/null || true
}
server_url() { echo "dynamodb://aw-test:aw-test@us-east-1/$TABLE?endpoint=http://127.0.0.1:$1"; }
source "$(dirname "$0")/outage_body.sh"
