#!/usr/bin/env bash
# Throughput and latency on a real Apache Kafka broker (KRaft, one node,
# sharing the machine's cores with the worker, as users run it), in one
# command (docs/performance.md, "On a real Kafka broker"):
#
#   bench/broker.sh [-n N] [SECTION ...]
#
# Sections (default: all, in this order):
#   windows   memory/memory drains of N pre-filled actions at
#             workers.max_in_flight 2,000, 10,000 and 50,000
#             (AW_BENCH_WINDOWS), next to the Kafka ceiling (a plain
#             consumer), with the worker's and the broker's CPU per 1,000
#             actions, and where a message's time goes (the worker's
#             acteon_stage_seconds) at each window;
#   table     bench/run.sh's table on this broker for memory/memory,
#             redis/memory and postgres/postgres (AW_BENCH_COMBOS): the
#             drain next to the same calls without Kafka (the backend
#             ceiling), and the latency at 1,000/s, 5,000/s and half the
#             drain rate (AW_BENCH_PACED_RATES);
#   webhook   bench/run.sh slow-webhook: a webhook answering in 50 ms,
#             8 threads, 64 calls in flight each;
#   rss       bench/run.sh rss: redis/postgres over N/10 actions with 64 KiB
#             payloads (AW_BENCH_RSS_PAYLOAD_BYTES);
#   peer      bench/peer.sh: Confluent Parallel Consumer and the worker on
#             the same broker and load, N/2 actions (noop, Redis SET NX dedup,
#             50 ms webhook; AW_BENCH_PEER_RUNS rounds, 1); needs a JDK and
#             Maven (docs/performance.md, "Peer").
#
# Starts a broker with scripts/kafka-broker.sh (Java 17; the jars of
# `scripts/kafka-broker.sh fetch`; Kafka's default 1 GiB segments, not the
# tests' 16 MiB) and Redis and PostgreSQL with
# scripts/test-servers.sh, and stops them at the end, unless
# AW_BENCH_BROKER=HOST:PORT (and AW_BENCH_BROKER_PID, for the broker's CPU
# column) or AW_TEST_REDIS_URL / AW_TEST_POSTGRES_URL name running ones.
# Every run gets topics of its own (32 partitions), so a broker can serve
# several. Knobs as bench/run.sh: AW_BENCH_THREADS (8 here), AW_BENCH_WORKER,
# AW_BUILD_DIR (build), AW_BENCH_KAFKA_PROPS (the worker's librdkafka
# properties; default none: a real broker answers a Fetch as soon as data
# arrives); AW_BENCH_METRICS_DIR keeps each window's /metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
N=200000
if [ "${1:-}" = "-n" ]; then
    N=$2
    shift 2
fi
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(windows table webhook rss peer)
read -r -a windows <<<"${AW_BENCH_WINDOWS:-2000 10000 50000}"
BUILD=$(cd "${AW_BUILD_DIR:-build}" && pwd)
B=$BUILD/bench
WORKER=${AW_BENCH_WORKER:-$BUILD/acteon-worker}
# The worker's default configuration (workers.threads = 8), as the targets
# in docs/performance.md are stated for it.
THREADS=${AW_BENCH_THREADS:-8}
KAFKA_PROPS=${AW_BENCH_KAFKA_PROPS:-}
CLK_TCK=$(getconf CLK_TCK)
for f in "$WORKER" "$B/bench_load" "$B/bench_consume" "$B/bench_replies" \
    "$BUILD/tests/kafka_admin"; do
    [ -x "$f" ] || { echo "broker: missing $f: build first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/aw-broker.XXXXXX)
own_broker=false
wpid=
own_servers=false
cleanup() {
    [ -z "$wpid" ] || kill -TERM "$wpid" 2>/dev/null || true
    [ -z "$wpid" ] || wait "$wpid" 2>/dev/null || true
    if $own_broker; then scripts/kafka-broker.sh stop "$work/kafka" >/dev/null 2>&1 || true; fi
    if $own_servers; then scripts/test-servers.sh stop "$work/servers" >/dev/null 2>&1 || true; fi
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
    # Kafka's default segment size, as a production broker has: the test
    # template's 16 MiB segments roll the paced topic's partitions every
    # few seconds at half the drain rate, and each roll delayed the actions
    # around it by 30-75 ms (docs/performance.md, "The paced load's start").
    AW_KAFKA_PROPERTIES="log.segment.bytes=1073741824 ${AW_KAFKA_PROPERTIES:-}" \
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

# stage_rows METRICS_FILE: one table row per stage of acteon_stage_seconds:
# count, mean, and the bucket bounds holding the median and the 99th
# percentile (ms).
stage_rows() {
    awk '
        match($0, /^acteon_stage_seconds_bucket\{stage="[a-z_]+",le="[^"]+"\} /) {
            split($0, a, "\""); st = a[2]; le = a[4]; c = $NF
            if (!(st in seen)) { seen[st] = 1; order[++n] = st }
            nb[st]++; bound[st, nb[st]] = le; cum[st, nb[st]] = c
        }
        /^acteon_stage_seconds_sum\{/ { split($0, a, "\""); sum[a[2]] = $NF }
        /^acteon_stage_seconds_count\{/ { split($0, a, "\""); cnt[a[2]] = $NF }
        function q(st, p,   i) {
            for (i = 1; i <= nb[st]; i++)
                if (cum[st, i] >= p * cnt[st])
                    return bound[st, i] == "+Inf" ? "+Inf" : bound[st, i] * 1000
        }
        END {
            for (i = 1; i <= n; i++) {
                st = order[i]
                if (cnt[st] > 0)
                    printf "%s | %d | %.2f | <= %s | <= %s\n", st, cnt[st],
                        sum[st] / cnt[st] * 1000, q(st, 0.5), q(st, 0.99)
            }
        }' "$1"
}

windows_table() {
    local rows=() stages=() window run fill replies dlq kafka port load1 bcpu0 fill_line cpu bcpu rate ceiling ratio
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
        curl -sf -m 5 "http://127.0.0.1:$port/metrics" >"$work/metrics-$window.txt" || true
        [ -z "${AW_BENCH_METRICS_DIR:-}" ] || cp "$work/metrics-$window.txt" "$AW_BENCH_METRICS_DIR/"
        while IFS= read -r line; do stages+=("$window | $line"); done < <(stage_rows "$work/metrics-$window.txt")
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
        "provider noop; $(machine_line)"
    echo "| workers.max_in_flight | actions | actions/s | CPU s/1000 | Kafka ceiling /s | broker CPU s/1000 | x Kafka | executed/dedup | load |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for r in "${rows[@]}"; do echo "| $r |"; done
    echo
    echo "Where a message's time goes during those drains (acteon_stage_seconds; ms; p50/p99 are the histogram bucket bounds holding them)"
    echo "| workers.max_in_flight | stage | count | mean ms | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|---|"
    for r in "${stages[@]}"; do echo "| $r |"; done
}

machine_line() {
    echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
        "$(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
}

# servers: Redis and PostgreSQL for the table and rss sections.
servers() {
    [ -z "${AW_TEST_REDIS_URL:-}" ] || [ -z "${AW_TEST_POSTGRES_URL:-}" ] || return 0
    $own_servers && return 0
    log "starting Redis and PostgreSQL (scripts/test-servers.sh)"
    own_servers=true
    scripts/test-servers.sh start "$work/servers" redis postgres >"$work/servers.log" 2>&1 ||
        { cat "$work/servers.log" >&2; exit 1; }
    # shellcheck disable=SC1091
    source "$work/servers/env"
    export AW_TEST_REDIS_URL AW_TEST_POSTGRES_URL
}

# run_sh ARGS...: bench/run.sh on this broker (its output goes to ours).
run_sh() {
    AW_BENCH_BROKER=$BOOT AW_BENCH_THREADS=$THREADS bench/run.sh "$@"
}

# A broker just started runs its request paths interpreted until the JIT
# has compiled them: the first minutes of load measured replies and
# fetches 10-50x slower at the tail (2026-12-06: 5,000 actions/s paced, p99
# 467 ms two minutes after the start, 11 ms five minutes after). One
# unreported memory/memory drain and paced phase first (AW_BENCH_WARMUP=0:
# none, for a broker already warm).
if [ "${AW_BENCH_WARMUP:-1}" != 0 ]; then
    log "warm-up: a drain of $((N / 2)) actions and 10 s at 5,000/s, not reported"
    AW_BENCH_PACED_RATES=5000 AW_BENCH_PACED_S=10 run_sh -n "$((N / 2))" memory/memory >/dev/null 2>&1 ||
        log "warm-up failed (ignored)"
fi

for section in "${sections[@]}"; do
    case $section in
    windows) windows_table ;;
    table)
        servers
        read -r -a combos <<<"${AW_BENCH_COMBOS:-memory/memory redis/memory postgres/postgres}"
        AW_BENCH_PACED_RATES=${AW_BENCH_PACED_RATES:-"1000 5000 half"} run_sh -n "$N" "${combos[@]}"
        ;;
    webhook)
        AW_BENCH_SLOW_CONC=${AW_BENCH_SLOW_CONC:-64} AW_BENCH_SLOW_THREADS=${AW_BENCH_SLOW_THREADS:-8} \
            run_sh -n "$((N / 4))" slow-webhook
        ;;
    rss)
        servers
        AW_BENCH_RSS_PAYLOAD_BYTES=${AW_BENCH_RSS_PAYLOAD_BYTES:-65536} run_sh -n "$((N / 10))" rss redis/postgres
        ;;
    peer)
        servers
        AW_BENCH_BROKER=$BOOT AW_BENCH_BROKER_PID=$BROKER_PID AW_BENCH_THREADS=$THREADS \
            bench/peer.sh -n "$((N / 2))" -r "${AW_BENCH_PEER_RUNS:-1}"
        ;;
    *) echo "broker: unknown section $section (windows, table, webhook, rss, peer)" >&2; exit 2 ;;
    esac
done
