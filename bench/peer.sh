#!/usr/bin/env bash
# acteon-worker next to a peer, Confluent Parallel Consumer (bench/peer/), on
# the same real Kafka broker and the same pre-filled load, per mode:
#   noop     parse, reply                       (worker: memory state, noop provider)
#   redis    + SET NX PX on the dedup identity  (worker: Redis state)
#   webhook  + a POST to a target answering in 50 ms, unique actions
#            (worker: webhook provider, workers.threads=8, max_concurrency 64)
#
#   bench/peer.sh [-n N] [-r RUNS] [MODE ...]   (default: N = 100,000; 1 run; all modes)
#
# Every (run, mode, tool) gets topics of its own (32 partitions, as
# bench/broker.sh), pre-filled by bench_load; the drain rate is bench_replies'
# on the reply topic for both tools; CPU is per 1,000 actions, start-up
# included. With RUNS > 1 the runs are interleaved (worker, peer, worker,
# ...) and the table gives each figure's median, the rates of every run in
# the last column. Knobs: AW_BENCH_BROKER=HOST:PORT (a running broker; its
# CPU with AW_BENCH_BROKER_PID), AW_TEST_REDIS_URL (else a Redis of its own,
# scripts/test-servers.sh; a given one's CPU with AW_BENCH_REDIS_PID),
# AW_BUILD_DIR (build), AW_BENCH_THREADS (worker threads in noop and redis,
# 4), AW_PEER_CONCURRENCY (the peer's maxConcurrency: 64, webhook 512),
# AW_PEER_TOOLS ("worker peer"), AW_PEER_OUT (build-peer).
# Needs the C build (cmake), Java 17 and Maven (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
N=100000
RUNS=1
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift 2 ;;
    -r) RUNS=$2; shift 2 ;;
    -*) echo "usage: $0 [-n N] [-r RUNS] [noop|redis|webhook ...]" >&2; exit 2 ;;
    *) break ;;
    esac
done
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(noop redis webhook)
for m in "${modes[@]}"; do
    case $m in noop | redis | webhook) ;; *) echo "peer: unknown mode $m" >&2; exit 2 ;; esac
done
read -r -a tools <<<"${AW_PEER_TOOLS:-worker peer}"
BUILD=$(cd "${AW_BUILD_DIR:-build}" && pwd)
for f in "$BUILD/acteon-worker" "$BUILD/bench/bench_load" "$BUILD/bench/bench_replies" \
    "$BUILD/tests/kafka_admin" "$BUILD/tests/webhook_target"; do
    [ -x "$f" ] || { echo "peer: missing $f: build first" >&2; exit 1; }
done
# shellcheck source=bench/lib/peer.sh
source bench/lib/peer.sh

PEER_WORK=$(mktemp -d /tmp/aw-peer.XXXXXX)
own_broker=false own_redis=false
cleanup() {
    peer_webhook_stop
    if $own_broker; then scripts/kafka-broker.sh stop "$PEER_WORK/kafka" >/dev/null 2>&1 || true; fi
    if $own_redis; then scripts/test-servers.sh stop "$PEER_WORK/servers" >/dev/null 2>&1 || true; fi
    rm -rf "$PEER_WORK"
}
trap cleanup EXIT

peer_build
if [ -n "${AW_BENCH_BROKER:-}" ]; then
    BOOT=$AW_BENCH_BROKER
    BROKER_PID=${AW_BENCH_BROKER_PID:-}
else
    _peer_log "starting a Kafka broker (scripts/kafka-broker.sh)"
    own_broker=true
    # Kafka's default segment size, as bench/broker.sh's broker.
    AW_KAFKA_PROPERTIES="log.segment.bytes=1073741824 ${AW_KAFKA_PROPERTIES:-}" \
        scripts/kafka-broker.sh start "$PEER_WORK/kafka" >"$PEER_WORK/kafka-start.log" 2>&1 ||
        { cat "$PEER_WORK/kafka-start.log" >&2; exit 1; }
    BOOT=$(cat "$PEER_WORK/kafka/bootstrap")
    BROKER_PID=$(cat "$PEER_WORK/kafka/kafka.pid")
fi
if [[ " ${modes[*]} " == *" redis "* ]] && [ -z "${AW_TEST_REDIS_URL:-}" ]; then
    _peer_log "starting Redis (scripts/test-servers.sh)"
    own_redis=true
    scripts/test-servers.sh start "$PEER_WORK/servers" redis >/dev/null
    # shellcheck disable=SC1091
    source "$PEER_WORK/servers/env"
    export AW_TEST_REDIS_URL
    REDIS_PID=$(cat "$PEER_WORK/servers/redis/redis.pid")
fi
REDIS_PID=${REDIS_PID:-${AW_BENCH_REDIS_PID:-}}
_peer_log "broker at $BOOT"

lines=$PEER_WORK/lines
: >"$lines"
loads=()
for run in $(seq 1 "$RUNS"); do
    for mode in "${modes[@]}"; do
        for tool in "${tools[@]}"; do
            t="peer$RANDOM$RANDOM"
            "$BUILD/tests/kafka_admin" -b "$BOOT" -t "$t-fill:32" -t "$t-replies:32" -t "$t-dlq:1" >/dev/null
            _peer_log "run $run, $mode, $tool: pre-fill $N actions on $t-fill"
            peer_fill "$mode" "$t-fill" "$N" "$t"
            [ "$mode" != webhook ] || peer_webhook_start "$PEER_WORK/hook-$t"
            loads+=("$(cut -d' ' -f1 /proc/loadavg)")
            if [ "$tool" = peer ]; then
                line=$(peer_run "$mode" "$t-fill" "$t-replies" "$N")
            else
                line=$(peer_worker_run "$mode" "$t-fill" "$t-replies" "$t-dlq" "$N")
            fi
            peer_webhook_stop
            _peer_log "$line"
            echo "$line" >>"$lines"
        done
    done
done

# One row per (tool, mode): the median of each figure over the runs.
echo
echo "acteon-worker and Confluent Parallel Consumer on a real Kafka broker ($BOOT)," \
    "32 partitions, $N actions per run (noop, redis: 10% repeated identities;" \
    "webhook: unique, ${PEER_DELAY_MS} ms target), median of $RUNS run(s);" \
    "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
    "load $(printf '%s\n' "${loads[@]}" | sort -n | sed -n '1p;$p' | uniq | paste -sd- -);" \
    "$(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "| tool | mode | actions | actions/s | CPU s/1000 | broker CPU s/1000 | Redis CPU s/1000 | executed/dedup/other | p50 ms | runs (actions/s) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
awk '
function kv(k,   i, a) { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] } return "" }
function median(list, fmt,   v, n, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    if (n == 0 || v[1] == "") return "-"
    return sprintf(fmt, n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2)
}
{
    key = kv("tool") " | " kv("mode")
    if (!(key in seen)) { seen[key] = 1; order[++keys] = key }
    n[key] = kv("actions")
    rate[key] = rate[key] " " kv("rate"); cpu[key] = cpu[key] " " kv("cpu_per_1000")
    b = kv("broker_cpu_per_1000"); if (b != "") bcpu[key] = bcpu[key] " " b
    r = kv("redis_cpu_per_1000"); if (r != "") rcpu[key] = rcpu[key] " " r
    p50[key] = p50[key] " " kv("p50_ms")
    # Outcomes and calls of the last run (the same in every complete run);
    # the most calls the target had at once over all runs.
    out[key] = kv("executed") "/" kv("deduplicated") "/" kv("other")
    if (kv("max_in_flight") + 0 > most[key]) most[key] = kv("max_in_flight") + 0
    if (kv("mode") == "webhook") out[key] = out[key] ", " kv("calls") " calls, up to " most[key] " at once"
    runs[key] = runs[key] (runs[key] == "" ? "" : ", ") kv("rate")
}
END {
    for (k = 1; k <= keys; k++) {
        key = order[k]
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", key, n[key], median(rate[key], "%.0f"),
            median(cpu[key], "%.3f"), median(bcpu[key], "%.3f"), median(rcpu[key], "%.3f"), out[key],
            median(p50[key], "%.0f"), runs[key]
    }
}' "$lines"
