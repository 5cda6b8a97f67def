# A Redis server of the test's own (sourced after lib.sh): server_start PORT
# (append-only file kept, so a restart on PORT comes back with its data),
# server_stop, server_url PORT.
redis_up() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }
redis_down() { ! redis-cli -p "$1" ping >/dev/null 2>&1; }
server_start() {
    mkdir -p "$T/redis"
    redis-server --port "$1" --bind 127.0.0.1 --daemonize yes --save '' --appendonly yes \
        --appendfsync always --dir "$T/redis" --pidfile "$T/redis/redis.pid" \
        --logfile "$T/redis/redis.log" >/dev/null
    wait_for 30 "redis on port $1" redis_up "$1"
    CLEANUP_HOOKS=("redis-cli -p $1 shutdown nosave")
}
server_stop() {
    redis-cli -p "$PORT" shutdown >/dev/null 2>&1 || true
    wait_for 30 "redis to stop" redis_down "$PORT"
}
server_url() { echo "redis://127.0.0.1:$1/0"; }
