#!/usr/bin/env bash
# The memory/memory drain on a real Apache Kafka broker instead of
# librdkafka's mock cluster: the Kafka ceiling (a plain consumer) and the
# worker's drain of the same pre-filled topic, once per in-flight window.
#
#   bench/broker.sh [-n N] [WINDOW ...]        (default: N = 200,000; windows 10000 30000)
#
# Starts a one-node KRaft broker with scripts/kafka-broker.sh (Java 17; the
# jars of `scripts/kafka-broker.sh fetch`) and stops it at the end, unless
# AW_BENCH_BROKER=HOST:PORT names a running one. Every run gets topics of its
# own (32 partitions), so a broker can serve several. Knobs as bench/run.sh:
# AW_BENCH_THREADS (4), AW_BENCH_WORKER, AW_BUILD_DIR (build). The broker
# shares the machine's cores with the worker, like the mock in bench/run.sh;
# unlike the mock it answers an empty Fetch as soon as data arrives, so the
# worker keeps librdkafka's default fetch.wait.max.ms.
set -euo pipefail
cd "$(dirname "$0")/.."
N=200000
if [ "${1:-}" = "-n" ]; then
    N=$2
    shift 2
fi
windows=("$@")
[ ${#windows[@]} -gt 0 ] || windows=(10000 30000)
BUILD=$(cd "${AW_BUILD_DIR:-build}" && pwd)
B=$BUILD/bench
WORKER=${AW_BENCH_WORKER:-$BUILD/acteon-worker}
THREADS=${AW_BENCH_THREADS:-4}
KAFKA_PROPS=${AW_BENCH_KAFKA_PROPS:-}
CLK_TCK=$(getconf CLK_TCK)
for f in "$WORKER" "$B/bench_load" "$B/bench_consume" "$B/bench_replies" \
    "$BUILD/tests/kafka_admin"; do
    [ -x "$f" ] || { echo "broker: missing $f: build first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/aw-broker.XXXXXX)
own_broker=false
wpid=
cleanup() {
    [ -z "$wpid" ] || kill -TERM "$wpid" 2>/dev/null || true
    [ -z "$wpid" ] || wait "$wpid" 2>/dev/null || true
    if $own_broker; then scripts/kafka-broker.sh stop "$work/kafka" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
log() { echo "[broker $(date -u +%H:%M:%S)] $*" >&2; }
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

if [ -n "${AW_BENCH_BROKER:-}" ]; then
    BOOT=$AW_BENCH_BROKER
else
    log "starting a Kafka broker (scripts/kafka-broker.sh)"
    mkdir -p "$work/kafka"
    own_broker=true
    scripts/kafka-broker.sh start "$work/kafka" >"$work/kafka-start.log" 2>&1 ||
        { cat "$work/kafka-start.log" >&2; exit 1; }
    BOOT=$(cat "$work/kafka/bootstrap")
    BROKER_PID=$(cat "$work/kafka/kafka.pid")
fi
# The broker's CPU per action, when its process is known (own broker, or
# AW_BENCH_BROKER_PID): on a shared machine it competes with the worker.
BROKER_PID=${BROKER_PID:-${AW_BENCH_BROKER_PID:-}}
proc_cpu() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
log "broker at $BOOT"

rows=()
for window in "${windows[@]}"; do
    run="bench$RANDOM$RANDOM"
    fill="$run-fill" replies="$run-replies" dlq="$run-dlq"
    "$BUILD/tests/kafka_admin" -b "$BOOT" -t "$fill:32" -t "$replies:${AW_BENCH_REPLY_PARTITIONS:-32}" -t "$dlq:1" >/dev/null
    log "window $window: pre-fill $N actions on $fill"
    "$B/bench_load" -b "$BOOT" -t "$fill" -n "$N" --prefix "$run" >/dev/null
    kafka=$("$B/bench_consume" -b "$BOOT" -t "$fill" -n "$N")
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$work/worker.conf" <<CONF
worker_id = "bench";
kafka = { brokers = "$BOOT"; group_id = "bench-$run";
          topics = [ "$fill" ]; reply_topic = "$replies"; dlq_topic = "$dlq";
          ${KAFKA_PROPS:+properties = [ $KAFKA_PROPS ];} };
state = { backend = "memory"; };
audit = { enabled = true; backend = "memory"; };
workers = { threads = $THREADS; max_in_flight = $window; };
http = { listen = "127.0.0.1:$port"; };
dedup = { window_s = 3600; };
log = { level = "warn"; };
providers = ( { name = "noop"; type = "noop"; } );
CONF
    load1=$(cut -d' ' -f1 /proc/loadavg)
    log "window $window: the worker drains $fill"
    bcpu0=$(proc_cpu "$BROKER_PID")
    "$WORKER" run -c "$work/worker.conf" >"$work/worker-$window.log" 2>&1 &
    wpid=$!
    fill_line=$("$B/bench_replies" -b "$BOOT" -t "$replies" -n "$N" --fill "$fill" | grep '^fill')
    cpu=$(awk -v t="$CLK_TCK" -v n="$N" '{ printf "%.3f", ($14 + $15) / t * 1000 / n }' \
        "/proc/$wpid/stat")
    bcpu=$(awk -v a="$bcpu0" -v b="$(proc_cpu "$BROKER_PID")" -v t="$CLK_TCK" -v n="$N" \
        'BEGIN { printf "%.3f", (b - a) / t * 1000 / n }')
    [ -z "${AW_BENCH_METRICS_DIR:-}" ] ||
        curl -sf -m 5 "http://127.0.0.1:$port/metrics" >"$AW_BENCH_METRICS_DIR/metrics-$window.txt" || true
    kill -TERM "$wpid"
    wait "$wpid" || true
    wpid=
    rate=$(kv rate "$fill_line")
    ceiling=$(kv rate "$kafka")
    ratio=$(awk -v a="$rate" -v b="$ceiling" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    rows+=("$window | $N | $rate | $cpu | $ceiling | $bcpu | $ratio | $(kv executed "$fill_line")/$(kv deduplicated "$fill_line") | $load1")
done

echo
echo "memory/memory on a real Kafka broker ($BOOT), workers.threads=$THREADS, 10% duplicates," \
    "provider noop; $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
    "$(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "| workers.max_in_flight | actions | actions/s | CPU s/1000 | Kafka ceiling /s | broker CPU s/1000 | x Kafka | executed/dedup | load |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do echo "| $r |"; done
