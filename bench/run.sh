#!/usr/bin/env bash
# Run the benchmarks and print one table (see docs/performance.md).
#
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] [COMBO...]    e.g. bench/run.sh redis/postgres
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] slow-webhook  (see slow_webhook below)
#
# For each state/audit combination, on a fresh librdkafka mock cluster
# (tests/support/mock_cluster, a separate process like a broker):
#   1. pre-fill the "fill" topic with N actions (bench_load: 10% duplicate
#      identities, provider noop);
#   2. Kafka ceiling: a plain librdkafka consumer reads that topic (bench_consume);
#   3. backend ceiling: the same state/audit calls for N actions, no Kafka
#      (bench_backend, same config file);
#   4. the worker drains the topic; its drain rate comes from the replies'
#      completed_at (bench_replies), CPU and peak RSS from /proc;
#   5. latency: a paced load (1,000/s, at most half the drain rate; 10 s) on
#      the "paced" topic while the worker runs: produce -> reply completed_at.
# Ratios are to figures measured in this same run (machines are noisy: the
# ratios hold, absolute times do not) and to the seed's published figures.
#
# Servers: Redis and PostgreSQL (and others as scripts/servers/ grows) are
# started with scripts/test-servers.sh unless AW_TEST_<NAME>_URL is already
# set; a combination whose server is missing is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)

# ---- the combinations: one line each, "state/audit" ----------------------
COMBOS_ALL=(
    memory/memory
    redis/postgres
    postgres/postgres
    redis/memory
    redis/clickhouse
    dynamodb/postgres
    redis/elasticsearch
)
# The seed's throughput per state backend (docs: backends.md), actions/s.
declare -A SEED=([memory]=50000 [redis]=2000 [postgres]=850 [dynamodb]=340 [clickhouse]=120)
# The env variable holding each backend's URL: scripts/test-servers.sh sets
# the Redis and PostgreSQL ones; AW_TEST_OPENSEARCH_URL is the node of
# scripts/opensearch-node.sh; the ClickHouse and DynamoDB names are what the
# servers being added are expected to export (adjust when they land).
declare -A URL_VAR=([redis]=AW_TEST_REDIS_URL [postgres]=AW_TEST_POSTGRES_URL
    [clickhouse]=AW_TEST_CLICKHOUSE_URL [dynamodb]=AW_TEST_DYNAMODB_URL
    [elasticsearch]=AW_TEST_OPENSEARCH_URL)

N=
BUILD=build
while getopts "n:b:" o; do
    case $o in
    n) N=$OPTARG ;;
    b) BUILD=$OPTARG ;;
    *) echo "usage: $0 [-n ACTIONS] [-b BUILD_DIR] [STATE/AUDIT...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
COMBOS=("$@")
MODE=combos
[ "${COMBOS[0]:-}" != slow-webhook ] || MODE=slow-webhook
[ -n "$N" ] || { [ $MODE = slow-webhook ] && N=20000 || N=100000; }
[ ${#COMBOS[@]} -gt 0 ] || COMBOS=("${COMBOS_ALL[@]}")
BUILD=$(cd "$BUILD" && pwd)
# AW_BENCH_WORKER: another worker binary (e.g. before/after a change).
WORKER=${AW_BENCH_WORKER:-$BUILD/acteon-worker}
B=$BUILD/bench
for f in "$WORKER" "$B/bench_load" "$B/bench_consume" "$B/bench_replies" \
    "$B/bench_backend" "$BUILD/tests/mock_cluster"; do
    [ -x "$f" ] || { echo "missing $f: build first (cmake --build $BUILD)" >&2; exit 1; }
done
THREADS=${AW_BENCH_THREADS:-4}
PACED_S=${AW_BENCH_PACED_S:-10}
# The latency phase runs at this rate (or half the drain rate if that is
# lower): one fixed load for every combination, so their latencies compare.
PACED_RATE=${AW_BENCH_PACED_RATE:-1000}
CLK_TCK=$(getconf CLK_TCK)
# librdkafka properties of the worker, as a libconfig list body. The mock
# cluster answers a Fetch with no data only after the full fetch.wait.max.ms
# (500 ms by default; a real broker answers as soon as data arrives), which
# would add 0-500 ms to every latency at low load: wait 10 ms at most.
KAFKA_PROPS=${AW_BENCH_KAFKA_PROPS:-'"fetch.wait.max.ms=10"'}

W=$(mktemp -d "${TMPDIR:-/tmp}/aw-bench.XXXXXX")
PIDS=()
SERVERS_STARTED=
# stop_pid PID: SIGTERM, then SIGKILL after 30 s (a worker whose broker is
# gone can block in rd_kafka_consumer_close); only processes started here.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    local deadline=$((SECONDS + 30))
    while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    # Newest first: the worker stops before the mock cluster it talks to.
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
    [ -z "$SERVERS_STARTED" ] || "$SRC/scripts/test-servers.sh" stop "$W/servers" >/dev/null 2>&1 || true
    [ -n "${AW_BENCH_KEEP:-}" ] && echo "files kept in $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# wait_file SECONDS FILE: until FILE is non-empty.
wait_file() {
    local deadline=$((SECONDS + $1))
    until [ -s "$2" ]; do
        [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $2" >&2; return 1; }
        sleep 0.1
    done
}
# kv KEY LINE: the value of KEY=value in LINE.
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---- slow-webhook: in-flight concurrency against a 50 ms provider -------
# A webhook target (tests/support/webhook_target, one thread per connection)
# answers every call after AW_BENCH_SLOW_DELAY_MS (50); memory state and
# audit, workers.threads = AW_BENCH_SLOW_THREADS (8), N unique actions for
# provider "webhook". One run per providers[].max_concurrency value in
# AW_BENCH_SLOW_CONC ("1 64"); 1 is the one-call-at-a-time path, the
# baseline of the same run, and drains only AW_BENCH_SLOW_BASE_N actions
# (N / 10: at ~160/s a full N would take minutes). "none" leaves the key out
# (a worker binary that predates it, via AW_BENCH_WORKER; no ideal then).
# Ideal = threads x min(max_concurrency, workers.batch_size) / delay.
slow_webhook() {
    local threads=${AW_BENCH_SLOW_THREADS:-8} delay=${AW_BENCH_SLOW_DELAY_MS:-50}
    local concs=${AW_BENCH_SLOW_CONC:-"1 64"} base_n=${AW_BENCH_SLOW_BASE_N:-$((N / 10))}
    local batch=64 rows=() seq_rate= conc
    for conc in $concs; do
        local n=$N run="slow-$conc-$RANDOM$RANDOM"
        [ "$conc" != 1 ] || n=$base_n
        local d="$W/$run"
        mkdir -p "$d"
        log "slow-webhook max_concurrency=$conc: mock cluster, target (${delay} ms), pre-fill $n"
        "$BUILD/tests/mock_cluster" --bootstrap-file "$d/bootstrap" --topic fill:32 \
            --topic replies:64 --topic dlq:1 >"$d/mock.log" 2>&1 &
        PIDS+=($!)
        "$BUILD/tests/webhook_target" --port-file "$d/hook.port" --log "$d/hook.calls" \
            --delay-ms "$delay" >"$d/target.log" 2>&1 &
        PIDS+=($!)
        wait_file 20 "$d/bootstrap"
        wait_file 20 "$d/hook.port"
        BOOT=$(cat "$d/bootstrap")
        local key="max_concurrency = $conc;"
        [ "$conc" != none ] || key=
        cat >"$d/worker.conf" <<CONF
worker_id = "bench";
kafka = { brokers = "$BOOT"; group_id = "bench-$run";
          topics = [ "fill" ]; reply_topic = "replies"; dlq_topic = "dlq";
          properties = [ $KAFKA_PROPS ]; };
state = { backend = "memory"; };
audit = { enabled = true; backend = "memory"; };
workers = { threads = $threads; batch_size = $batch; };
dedup = { window_s = 3600; };
log = { level = "warn"; };
providers = ( { name = "webhook"; type = "webhook";
                url = "http://127.0.0.1:$(cat "$d/hook.port")/hook";
                timeout_ms = 5000; $key } );
CONF
        "$B/bench_load" -b "$BOOT" -t fill -n "$n" --prefix "$run" --provider webhook \
            --unique >/dev/null
        local load1
        load1=$(cut -d' ' -f1 /proc/loadavg)
        "$WORKER" run -c "$d/worker.conf" >"$d/worker.log" 2>&1 &
        local wpid=$!
        PIDS+=($wpid)
        local fill
        fill=$("$B/bench_replies" -b "$BOOT" -t replies -n "$n" --fill fill | grep '^fill')
        local ut stt cpu
        read -r ut stt < <(awk '{ print $14, $15 }' "/proc/$wpid/stat")
        cpu=$(awk -v u="$ut" -v s="$stt" -v t="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.3f", (u + s) / t * 1000 / n }')
        local i
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
        PIDS=()
        local calls rate eff ideal
        calls=$(wc -l <"$d/hook.calls")
        rate=$(kv rate "$fill")
        eff=$conc
        [ "$conc" != none ] || eff=0 # unknown: the binary's own behaviour
        [ "$eff" -le $batch ] || eff=$batch
        ideal=$((threads * eff * 1000 / delay))
        [ "$ideal" -gt 0 ] || ideal=-
        [ "$conc" != 1 ] || seq_rate=$rate
        echo "slow-webhook max_concurrency=$conc: $fill calls=$calls cpu_ms_per_1000=$cpu" >&2
        rows+=("$conc|$n|$rate|$ideal|$(ratio "$rate" "$ideal")|SEQ|$(kv executed "$fill")|$calls|$cpu|$load1")
    done
    echo
    echo "slow-webhook: webhook answering in $delay ms, workers.threads=$threads," \
        "workers.batch_size=$batch, memory state/audit, unique actions;" \
        "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
        "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf '| %s |\n' "max_concurrency | actions | actions/s | ideal /s | x ideal | x sequential | executed | provider calls | CPU s/1000 | load"
    printf '|%s\n' "---|---|---|---|---|---|---|---|---|---|"
    local r
    for r in "${rows[@]}"; do
        r=${r/SEQ/$(ratio "$(cut -d'|' -f3 <<<"$r")" "${seq_rate:-0}")}
        printf '| %s |\n' "${r//|/ | }"
    done
}
if [ $MODE = slow-webhook ]; then
    slow_webhook
    exit 0
fi

needs_servers=
for c in "${COMBOS[@]}"; do
    for b in ${c/\// }; do
        [ "$b" = memory ] || [ -n "${!URL_VAR[$b]:-}" ] || needs_servers=1
    done
done
if [ -n "$needs_servers" ]; then
    log "starting test servers (scripts/test-servers.sh)"
    SERVERS_STARTED=1
    "$SRC/scripts/test-servers.sh" start "$W/servers" >"$W/servers.log" 2>&1 ||
        log "some servers did not start (their combinations are skipped): $(grep -i fail "$W/servers.log" | head -3)"
    # shellcheck disable=SC1091
    source "$W/servers/env"
fi

# ---- server baselines with the servers' own public tools -----------------
# What the server itself does on this machine now, with the worker's pipeline
# depth (64 = workers.batch_size) and connections (workers.threads).
BASE=()
if [ -n "${AW_TEST_REDIS_URL:-}" ] && command -v redis-benchmark >/dev/null; then
    log "server baselines: redis-benchmark"
    hp=${AW_TEST_REDIS_URL#redis://}; hp=${hp%%/*}
    val=$(printf 'v%.0s' {1..200})
    for t in SET EVAL; do
        if [ $t = SET ]; then args=(-t set -d 200); else
            args=(EVAL "return redis.call('set',KEYS[1],ARGV[1])" 1 "aw-bench:__rand_int__" "$val")
        fi
        r=$(redis-benchmark -h "${hp%:*}" -p "${hp#*:}" -n 200000 -P 64 -c "$THREADS" --csv "${args[@]}" 2>/dev/null |
            awk -F'"' 'NR == 2 { printf "%.0f", $4 }')
        BASE+=("redis-benchmark $t (200-byte value), pipeline 64, $THREADS connections|${r:-?} ops/s")
    done
fi
if [ -n "${AW_TEST_POSTGRES_URL:-}" ] && command -v pgbench >/dev/null; then
    log "server baselines: pgbench"
    psql "$AW_TEST_POSTGRES_URL" -qc "CREATE TABLE IF NOT EXISTS aw_bench_raw (k bigint PRIMARY KEY, v text)" >/dev/null
    printf '%s\n' '\set k random(1, 10000000000)' \
        "INSERT INTO aw_bench_raw SELECT :k::bigint * 100 + g, repeat('x', 200) FROM generate_series(1, 64) g ON CONFLICT DO NOTHING;" >"$W/pg.sql"
    tps=$(pgbench -n -c "$THREADS" -j 2 -T 5 -f "$W/pg.sql" "$AW_TEST_POSTGRES_URL" 2>"$W/pgbench.log" |
        sed -n 's/^tps = \([0-9.]*\).*/\1/p') || true
    BASE+=("pgbench INSERT of 64 200-byte rows per statement, $THREADS connections|$(awk -v t="${tps:-0}" 'BEGIN { printf "%.0f rows/s (%.0f statements/s)", t * 64, t }')")
    psql "$AW_TEST_POSTGRES_URL" -qc "DROP TABLE aw_bench_raw" >/dev/null
fi

# write_config FILE STATE AUDIT STATE_URL AUDIT_URL RUN
write_config() {
    cat >"$1" <<CONF
worker_id = "bench";
kafka = { brokers = "$BOOT"; group_id = "bench-$6";
          topics = [ "fill", "paced" ]; reply_topic = "replies"; dlq_topic = "dlq";
          properties = [ $KAFKA_PROPS ]; };
state = { backend = "$2"; url = "$4"; key_prefix = "bench-$6:"; };
audit = { enabled = true; backend = "$3"; url = "$5"; };
workers = { threads = $THREADS; };
dedup = { window_s = 3600; };
log = { level = "warn"; };
providers = ( { name = "noop"; type = "noop"; } );
CONF
}

ROWS=()
for combo in "${COMBOS[@]}"; do
    st=${combo%/*} au=${combo#*/}
    st_url="" au_url=""
    if [ "$st" != memory ]; then st_url=${!URL_VAR[$st]:-}; fi
    if [ "$au" != memory ]; then au_url=${!URL_VAR[$au]:-}; fi
    if { [ "$st" != memory ] && [ -z "$st_url" ]; } || { [ "$au" != memory ] && [ -z "$au_url" ]; }; then
        log "$combo: skipped (no server: set ${URL_VAR[$st]:-}${URL_VAR[$au]:+ ${URL_VAR[$au]}})"
        ROWS+=("$combo|skipped: no server")
        continue
    fi
    run="${combo//\//-}-$RANDOM$RANDOM"
    d="$W/$run"
    mkdir -p "$d"
    log "$combo: mock cluster, pre-fill $N actions"
    # The mock keeps about 5 MiB (and 100k messages) per partition and drops
    # the oldest beyond that: an action is ~290 bytes, a reply ~700, and the
    # reply topic gets N + the paced load. 32 and 64 partitions leave room
    # for N up to ~300,000.
    "$BUILD/tests/mock_cluster" --bootstrap-file "$d/bootstrap" --topic fill:32 \
        --topic paced:4 --topic replies:64 --topic dlq:1 >"$d/mock.log" 2>&1 &
    MOCK=$!
    PIDS+=($MOCK)
    wait_file 20 "$d/bootstrap"
    BOOT=$(cat "$d/bootstrap")
    write_config "$d/worker.conf" "$st" "$au" "$st_url" "$au_url" "$run"
    if [ "$st" != memory ] || [ "$au" != memory ]; then
        "$WORKER" --log-level warn migrate -c "$d/worker.conf" >"$d/migrate.log" 2>&1 ||
            { log "$combo: migrate failed: $(tail -1 "$d/migrate.log")"; exit 1; }
    fi
    load=$("$B/bench_load" -b "$BOOT" -t fill -n "$N" --prefix "$run")

    log "$combo: Kafka ceiling (plain consumer)"
    kc=$("$B/bench_consume" -b "$BOOT" -t fill -n "$N")
    log "$combo: backend ceiling (bench_backend, no Kafka)"
    bc=$("$B/bench_backend" -c "$d/worker.conf" -n "$N" --run-id "$run-bb")

    load1=$(cut -d' ' -f1 /proc/loadavg) # how busy the machine is (others too)
    log "$combo: worker drains $N actions"
    "$WORKER" run -c "$d/worker.conf" >"$d/worker.log" 2>&1 &
    WPID=$!
    PIDS+=($WPID)
    fill=$("$B/bench_replies" -b "$BOOT" -t replies -n "$N" --fill fill | grep '^fill')
    read -r ut stt < <(awk '{ print $14, $15 }' "/proc/$WPID/stat")
    cpu=$(awk -v u="$ut" -v s="$stt" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (u + s) / t }')

    rate=$(kv rate "$fill")
    paced_rate=$(awk -v r="$rate" -v p="$PACED_RATE" 'BEGIN { printf "%d", r / 2 < p ? r / 2 : p }')
    paced_n=$((paced_rate * PACED_S))
    log "$combo: latency, paced load of $paced_rate/s for ${PACED_S}s"
    "$B/bench_load" -b "$BOOT" -t paced -n "$paced_n" --rate "$paced_rate" \
        --prefix "$run-p" >/dev/null
    paced=$("$B/bench_replies" -b "$BOOT" -t replies -n $((N + paced_n)) --fill fill \
        --paced paced | grep '^paced')
    rss_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$WPID/status")
    stop_pid "$WPID"
    stop_pid "$MOCK"
    PIDS=()

    {
        echo "# $combo"
        echo "load: $load"
        echo "kafka: $kc"
        echo "backend: $bc"
        echo "worker: $fill cpu_s=$cpu rss_kb=$rss_kb"
        echo "paced: $paced"
    } >"$d/figures"
    cat "$d/figures" >&2
    kafka_rate=$(kv rate "$kc")
    be_rate=$(kv rate "$bc")
    ROWS+=("$combo|$rate|$(kv p50_ms "$paced")|$(kv p99_ms "$paced")|$paced_rate|$((rss_kb / 1024))|$(awk -v c="$cpu" -v n="$N" 'BEGIN { printf "%.3f", c * 1000 / n }')|$kafka_rate|$(ratio "$rate" "$kafka_rate")|$be_rate|$(ratio "$rate" "$be_rate")|${SEED[$st]:-}|$(ratio "$rate" "${SEED[$st]:-0}")|$(kv executed "$fill")/$(kv deduplicated "$fill")|$load1")
done

echo
echo "N=$N actions per combination (10% duplicates, provider noop), workers.threads=$THREADS;" \
    "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
    "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '| %s |\n' "state/audit | actions/s | p50 ms | p99 ms | at /s | peak RSS MiB | CPU s/1000 | Kafka ceiling /s | x Kafka | backend ceiling /s | x backend | seed /s | x seed | executed/dedup | load"
printf '|%s\n' "---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do
    printf '| %s |\n' "${r//|/ | }"
done
if [ ${#BASE[@]} -gt 0 ]; then
    echo
    echo "| server baseline (public tool) | result |"
    echo "|---|---|"
    for r in "${BASE[@]}"; do printf '| %s |\n' "${r//|/ | }"; done
fi
