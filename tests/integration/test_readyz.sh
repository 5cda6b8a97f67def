#!/usr/bin/env bash
# /readyz follows the state backend: a worker on a Redis of its own is ready;
# Redis stops -> /readyz answers 503 naming the state backend while /healthz
# stays 200 (the process is alive); Redis comes back -> ready again. No
# message flows meanwhile: readiness comes from /readyz's own probe, not
# from failing work. The lifecycle log has one "down" and one "up again".
source "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || { echo "SKIP: redis-server not installed"; exit 77; }
source "$(dirname "$0")/redis_server.sh"

start_kafka "$ACTIONS_TOPIC:2" "$REPLY_TOPIC:2" "$DLQ_TOPIC:1"
start_webhook
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_start "$PORT"
STATE_BACKEND=redis
STATE_URL=$(server_url "$PORT")
EXTRA_CONFIG='http = { listen = "127.0.0.1:0"; };'
write_config "$T/worker.conf"
start_worker worker "$T/worker.conf"

port_known() { grep -q 'serving /metrics' "$T/worker.log"; }
wait_for 30 "the HTTP endpoint" port_known
URL="http://127.0.0.1:$(sed -n 's/.*serving \/metrics.*(port \([0-9]*\)).*/\1/p' "$T/worker.log" | head -1)"
code() { curl -s -o "$T/body.txt" -w '%{http_code}' "$URL/$1"; }
ready() { [ "$(code readyz)" = 200 ]; }
not_ready() { [ "$(code readyz)" = 503 ] && grep -q "state backend" "$T/body.txt"; }
wait_for 60 "/readyz 200 with Redis up" ready
pass "ready with Redis up"

server_stop
wait_for 30 "/readyz 503 naming the state backend" not_ready
[ "$(code healthz)" = 200 ] || fail "/healthz not 200 while Redis is down"
pass "Redis down: /readyz 503 ($(cat "$T/body.txt")), /healthz 200"

server_start "$PORT"
wait_for 30 "/readyz 200 again" ready
pass "Redis back: ready again"
stop_worker "$WORKER_PID"
[ "$(grep -c 'state backend down: ' "$T/worker.log")" -eq 1 ] || fail "want one \"state backend down\" line"
[ "$(grep -c 'state backend up again after ' "$T/worker.log")" -eq 1 ] || fail "want one \"up again\" line"
pass "one lifecycle line for the outage and one for the recovery"
