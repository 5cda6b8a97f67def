# A Redis primary, one replica and three sentinels of the test's own
# (sourced after lib.sh), on free ports under $T/sentinel:
#   sentinel_servers_start   sets PRIMARY_PORT, REPLICA_PORT, SENTINEL_PORTS
#                            (array) and MASTER_NAME, and returns once the
#                            replica is in sync and every sentinel knows the
#                            replica and both other sentinels (so a
#                            failover can be authorised: quorum 2 of 3).
#   sentinel_master_port     the port the sentinels now name for MASTER_NAME.
# Failure detection is fast on purpose (down-after-milliseconds 1000,
# failover-timeout 3000). No persistence: what a failover loses is what the
# replica had not received, nothing else. The servers stop at exit.
MASTER_NAME=awmaster
redis_up() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }

_redis_sentinel_bin() {
    if command -v redis-sentinel >/dev/null; then echo redis-sentinel
    else echo "redis-server"; fi   # Debian's redis-sentinel is redis-server --sentinel
}

_start_data_server() { # NAME PORT [replicaof-args...]
    local name=$1 dir="$T/sentinel/$1" port=$2; shift 2
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@" >/dev/null
    CLEANUP_HOOKS+=("redis-cli -p $port shutdown nosave")
    wait_for 30 "redis $name on port $port" redis_up "$port"
}

_start_sentinel() { # N PORT
    local dir="$T/sentinel/s$1" port=$2 bin
    mkdir -p "$dir"
    cat >"$dir/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize yes
dir $dir
pidfile $dir/sentinel.pid
logfile $dir/sentinel.log
sentinel monitor $MASTER_NAME 127.0.0.1 $PRIMARY_PORT 2
sentinel down-after-milliseconds $MASTER_NAME 1000
sentinel failover-timeout $MASTER_NAME 3000
sentinel parallel-syncs $MASTER_NAME 1
CONF
    bin=$(_redis_sentinel_bin)
    if [ "$bin" = redis-sentinel ]; then redis-sentinel "$dir/sentinel.conf" >/dev/null
    else redis-server "$dir/sentinel.conf" --sentinel >/dev/null; fi
    CLEANUP_HOOKS+=("redis-cli -p $port shutdown nosave")
    wait_for 30 "sentinel $1 on port $port" redis_up "$port"
}

_replica_in_sync() {
    redis-cli -p "$REPLICA_PORT" info replication | grep -q '^master_link_status:up'
}
_sentinels_ready() {
    local p
    for p in "${SENTINEL_PORTS[@]}"; do
        [ "$(redis-cli -p "$p" sentinel replicas "$MASTER_NAME" | grep -c '^name$')" -ge 1 ] \
            || return 1
        [ "$(redis-cli -p "$p" sentinel sentinels "$MASTER_NAME" | grep -c '^name$')" -ge 2 ] \
            || return 1
    done
}

sentinel_servers_start() {
    command -v redis-server >/dev/null || { echo "SKIP: redis-server not installed"; exit 77; }
    PRIMARY_PORT=$(free_port)
    REPLICA_PORT=$(free_port)
    _start_data_server primary "$PRIMARY_PORT"
    _start_data_server replica "$REPLICA_PORT" --replicaof 127.0.0.1 "$PRIMARY_PORT"
    SENTINEL_PORTS=()
    local i
    for i in 1 2 3; do
        SENTINEL_PORTS+=("$(free_port)")
        _start_sentinel "$i" "${SENTINEL_PORTS[$((i - 1))]}"
    done
    wait_for 30 "the replica in sync" _replica_in_sync
    wait_for 60 "every sentinel to know the replica and the other sentinels" _sentinels_ready
}

sentinel_master_port() {
    redis-cli -p "${SENTINEL_PORTS[0]}" sentinel get-master-addr-by-name "$MASTER_NAME" | sed -n 2p
}
