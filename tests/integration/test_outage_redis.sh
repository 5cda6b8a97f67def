#!/usr/bin/env bash
# Redis stops mid-run (SHUTDOWN, its append-only file kept) and comes back on
# the same port: see outage_body.sh.
source "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || { echo "SKIP: redis-server not installed"; exit 77; }
STATE_BACKEND=redis
source "$(dirname "$0")/redis_server.sh"
source "$(dirname "$0")/outage_body.sh"
