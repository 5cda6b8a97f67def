#!/usr/bin/env bash
# Run the benchmarks and print one table (see docs/performance.md).
#
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] [COMBO...]    e.g. bench/run.sh redis/postgres
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] slow-webhook  (see slow_webhook below)
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] threads [COMBO...]  (threads_curve)
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] payload [COMBO]     (payload_curve)
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] rss [COMBO]         (rss_flat)
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] rules [STATE...]    (rules_table)
#   bench/run.sh [-n CHAINS] [-b BUILD_DIR] chain [STATE...]     (chain_table)
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] group [STATE...]    (group_table)
#   bench/run.sh [-n ACTIONS] [-b BUILD_DIR] machine [STATE...]  (machine_table)
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
#   5. latency: a paced load (1,000/s, at most half the drain rate; 10 s,
#      after 4 s of warm-up from the same producer that the figures leave
#      out: AW_BENCH_PACED_S, AW_BENCH_PACED_WARM_S, whole seconds) on the
#      "paced" topic while the worker runs: produce -> reply completed_at.
# Ratios are to figures measured in this same run (machines are noisy: the
# ratios hold, absolute times do not) and to the seed's published figures.
# The curves (threads, payload) repeat steps 1, 2 and 4 per point; rss is one
# long drain sampled from /proc; rules repeats steps 1 and 4 once per rule
# verdict case and state backend (see rules_table).
#
# Servers: Redis, PostgreSQL, ClickHouse and dynalite (DynamoDB) are started
# with scripts/test-servers.sh unless their AW_TEST_<NAME>_URL is already
# set; Elasticsearch is an OpenSearch node the caller starts
# (scripts/opensearch-node.sh, AW_TEST_OPENSEARCH_URL). A combination whose
# server is missing is skipped with a note.
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
    clickhouse/memory
    redis/elasticsearch
)
# The seed's throughput per state backend (docs: backends.md), actions/s.
declare -A SEED=([memory]=50000 [redis]=2000 [postgres]=850 [dynamodb]=340 [clickhouse]=120)
# The env variable holding each backend's URL: scripts/test-servers.sh sets
# all but the last; AW_TEST_OPENSEARCH_URL is the node of
# scripts/opensearch-node.sh (http://host:port; the index is added per run).
declare -A URL_VAR=([redis]=AW_TEST_REDIS_URL [postgres]=AW_TEST_POSTGRES_URL
    [clickhouse]=AW_TEST_CLICKHOUSE_URL [dynamodb]=AW_TEST_DYNAMODB_URL
    [elasticsearch]=AW_TEST_OPENSEARCH_URL)
# At most this many actions for a combination using the backend: dynalite
# does about 1,000 sequential calls/s (two per action, and the backend
# ceiling runs the same calls again), so N = 100,000 would take 7 minutes.
# A key ending in "/" caps the combinations with that state backend only:
# ClickHouse as state does an INSERT and a SELECT per micro-batch step.
declare -A N_CAP=([dynamodb]=10000 [clickhouse/]=20000)

N=
BUILD=build
while getopts "n:b:" o; do
    case $o in
    n) N=$OPTARG ;;
    b) BUILD=$OPTARG ;;
    *) echo "usage: $0 [-n ACTIONS] [-b BUILD_DIR] [STATE/AUDIT... | slow-webhook | threads [STATE/AUDIT...] | payload [STATE/AUDIT] | rss [STATE/AUDIT] | rules [STATE...] | chain [STATE...] | group [STATE...] | machine [STATE...]]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MODE=combos
case "${1:-}" in
slow-webhook | threads | payload | rss | rules | chain | group | machine) MODE=$1; shift ;;
esac
COMBOS=("$@")
if [ -z "$N" ]; then
    case $MODE in
    slow-webhook) N=20000 ;;
    rss) N=1000000 ;;
    rules) N=50000 ;;
    chain) N=3000 ;; # chains (3 steps each)
    group) N=20000 ;;
    *) N=100000 ;;
    esac
fi
[ $MODE != combos ] || [ ${#COMBOS[@]} -gt 0 ] || COMBOS=("${COMBOS_ALL[@]}")
BUILD=$(cd "$BUILD" && pwd)
# AW_BENCH_WORKER: another worker binary (e.g. before/after a change).
WORKER=${AW_BENCH_WORKER:-$BUILD/acteon-worker}
B=$BUILD/bench
for f in "$WORKER" "$B/bench_load" "$B/bench_consume" "$B/bench_replies" \
    "$B/bench_backend" "$B/bench_chain_steps" "$BUILD/tests/mock_cluster"; do
    [ -x "$f" ] || { echo "missing $f: build first (cmake --build $BUILD)" >&2; exit 1; }
done
THREADS=${AW_BENCH_THREADS:-4}
PACED_S=${AW_BENCH_PACED_S:-10}
# Seconds the paced producer runs before its measured PACED_S (left out of
# the figures: bench_load --warm-up-s).
PACED_WARM_S=${AW_BENCH_PACED_WARM_S:-4}
# The latency phases run at these rates, one after the other, each on a
# topic of its own (or at half the drain rate if that is lower; "half": half
# the drain rate): one fixed load for every combination, so their latencies
# compare. The main table shows the first; all go in the latency table.
read -r -a PACED_RATES <<<"${AW_BENCH_PACED_RATES:-${AW_BENCH_PACED_RATE:-1000}}"
CLK_TCK=$(getconf CLK_TCK)
# librdkafka properties of the worker, as a libconfig list body. The mock
# cluster answers a Fetch with no data only after the full fetch.wait.max.ms
# (500 ms by default; a real broker answers as soon as data arrives), which
# would add 0-500 ms to every latency at low load: wait 10 ms at most.
# On a real broker (AW_BENCH_BROKER) the worker keeps librdkafka's defaults.
if [ -n "${AW_BENCH_BROKER:-}" ]; then
    KAFKA_PROPS=${AW_BENCH_KAFKA_PROPS:-}
else
    KAFKA_PROPS=${AW_BENCH_KAFKA_PROPS:-'"fetch.wait.max.ms=10"'}
fi
# The mock keeps about 5 MiB (and 100,000 messages) per partition and drops
# the oldest beyond that. The curves size N or the partition count so that a
# topic holds at most this much per partition: half the limit, a margin for
# uneven keys.
PART_BUDGET=$((5 * 1024 * 1024 / 2))

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
# stop_all: every process started here so far, newest first (the worker
# stops before the mock cluster it talks to).
stop_all() {
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
    PIDS=()
}
cleanup() {
    stop_all
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
machine() {
    echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
        "$(date -u +%Y-%m-%dT%H:%MZ); commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')"
}
print_table() { # print_table HEADER ROW...: a Markdown table, fields split on |
    local cols h
    h=$1; shift
    cols=$(awk -F'|' '{ print NF }' <<<"$h")
    printf '| %s |\n' "${h//|/ | }"
    printf '|%s\n' "$(printf -- '---|%.0s' $(seq "$cols"))"
    for h in "$@"; do printf '| %s |\n' "${h//|/ | }"; done
}

# start_mock DIR TOPIC:PARTITIONS...: a fresh mock cluster; sets BOOT, MOCK.
start_mock() {
    local d=$1 t args=()
    shift
    for t in "$@"; do args+=(--topic "$t"); done
    "$BUILD/tests/mock_cluster" --bootstrap-file "$d/bootstrap" "${args[@]}" >"$d/mock.log" 2>&1 &
    MOCK=$!
    PIDS+=($MOCK)
    wait_file 20 "$d/bootstrap"
    BOOT=$(cat "$d/bootstrap")
}
# cpu_s PID: user + system CPU seconds of PID so far.
cpu_s() {
    awk -v t="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"
}
# The window every table states: it bounds the drain (docs/performance.md).
window_note() { echo "workers.max_in_flight=${AW_BENCH_MAX_IN_FLIGHT:-10000 (default)}"; }
per1000() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.3f", c * 1000 / n }'; }
# free_port: a TCP port nothing listens on now (for the worker's http.listen).
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ---- slow-webhook: in-flight concurrency against a 50 ms provider -------
# A webhook target (tests/support/webhook_target, one thread per connection)
# answers every call after AW_BENCH_SLOW_DELAY_MS (50); memory state and
# audit, workers.threads = AW_BENCH_SLOW_THREADS (8), N unique actions for
# provider "webhook". One run per providers[].max_concurrency value in
# AW_BENCH_SLOW_CONC ("1 64"), workers.batch_size AW_BENCH_SLOW_BATCH (64);
# 1 is the one-call-at-a-time path, the
# baseline of the same run, and drains only AW_BENCH_SLOW_BASE_N actions
# (N / 10: at ~160/s a full N would take minutes). "none" leaves the key out
# (a worker binary that predates it, via AW_BENCH_WORKER; no ideal then).
# Ideal = threads x min(max_concurrency, workers.batch_size) / delay.
slow_webhook() {
    local threads=${AW_BENCH_SLOW_THREADS:-8} delay=${AW_BENCH_SLOW_DELAY_MS:-50}
    local concs=${AW_BENCH_SLOW_CONC:-"1 64"} base_n=${AW_BENCH_SLOW_BASE_N:-$((N / 10))}
    local batch=${AW_BENCH_SLOW_BATCH:-64} rows=() seq_rate= conc
    for conc in $concs; do
        local n=$N run="slow-$conc-$RANDOM$RANDOM"
        [ "$conc" != 1 ] || n=$base_n
        local d="$W/$run"
        mkdir -p "$d"
        log "slow-webhook max_concurrency=$conc: topics, target (${delay} ms), pre-fill $n"
        run_kafka "$d" "$run" 32
        "$BUILD/tests/webhook_target" --port-file "$d/hook.port" --log "$d/hook.calls" \
            --delay-ms "$delay" >"$d/target.log" 2>&1 &
        PIDS+=($!)
        wait_file 20 "$d/hook.port"
        local key="max_concurrency = $conc;"
        [ "$conc" != none ] || key=
        cat >"$d/worker.conf" <<CONF
worker_id = "bench";
kafka = { brokers = "$BOOT"; group_id = "bench-$run";
          topics = [ "$TOPIC_FILL" ]; reply_topic = "$TOPIC_REPLIES"; dlq_topic = "$TOPIC_DLQ";
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
        "$B/bench_load" -b "$BOOT" -t "$TOPIC_FILL" -n "$n" --prefix "$run" --provider webhook \
            --unique >/dev/null
        local load1
        load1=$(cut -d' ' -f1 /proc/loadavg)
        "$WORKER" run -c "$d/worker.conf" >"$d/worker.log" 2>&1 &
        local wpid=$!
        PIDS+=($wpid)
        local fill
        fill=$("$B/bench_replies" -b "$BOOT" -t "$TOPIC_REPLIES" -n "$n" --fill "$TOPIC_FILL" | grep '^fill')
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
# ---- servers --------------------------------------------------------------
# ensure_servers COMBO...: start the test servers once if a combination
# needs a backend whose URL is not set.
ensure_servers() {
    local c b needs=
    for c in "$@"; do
        for b in ${c/\// }; do
            [ "$b" = memory ] || [ "$b" = elasticsearch ] || [ -n "${!URL_VAR[$b]:-}" ] || needs=1
        done
    done
    [ -n "$needs" ] && [ -z "$SERVERS_STARTED" ] || return 0
    log "starting test servers (scripts/test-servers.sh)"
    SERVERS_STARTED=1
    "$SRC/scripts/test-servers.sh" start "$W/servers" >"$W/servers.log" 2>&1 ||
        log "some servers did not start (their combinations are skipped): $(grep -i fail "$W/servers.log" | head -3)"
    # shellcheck disable=SC1091
    source "$W/servers/env"
}
# missing_server COMBO: prints the URL variables a combination lacks;
# status 0 when one is missing.
missing_server() {
    local b miss=
    for b in ${1/\// }; do
        [ "$b" = memory ] || [ -n "${!URL_VAR[$b]:-}" ] || miss+=" ${URL_VAR[$b]}"
    done
    [ -n "$miss" ] && echo "set${miss}"
}
# backend_url BACKEND RUN: the URL a run uses ("" for memory). Elasticsearch
# gets an index prefix of the run's own (dated indices aw-bench-RUN-*),
# deleted by drop_run_data.
backend_url() {
    [ "$1" != memory ] || return 0
    local u=${!URL_VAR[$1]:-}
    case $1 in
    elasticsearch) u="${u%/}/?index=aw-bench-$2&replicas=0" ;;
    esac
    echo "$u"
}
drop_run_data() { # drop_run_data COMBO RUN: what a run left in shared servers
    case $1 in
    */elasticsearch)
        local es=${AW_TEST_OPENSEARCH_URL%/}
        curl -sf -X DELETE "$es/aw-bench-$2-*" >/dev/null || true
        curl -sf -X DELETE "$es/_index_template/aw-bench-$2" >/dev/null || true
        ;;
    esac
}
# combo_n COMBO N: N, capped by N_CAP for the combination's backends.
combo_n() {
    local n=$2 b
    for b in ${1/\// } "${1%/*}/"; do
        [ -z "${N_CAP[$b]:-}" ] || [ "$n" -le "${N_CAP[$b]}" ] || n=${N_CAP[$b]}
    done
    echo "$n"
}

# ---- one worker run -------------------------------------------------------
# write_config FILE STATE AUDIT RUN THREADS [EXTRA]: the worker's config on
# the mock cluster BOOT; EXTRA is appended (top-level groups the template
# leaves out: ingest, http). DEDUP_WINDOW_S (default 3600) is dedup.window_s;
# AW_BENCH_MAX_IN_FLIGHT sets workers.max_in_flight (default: the worker's).
write_config() {
    cat >"$1" <<CONF
worker_id = "bench";
kafka = { brokers = "$BOOT"; group_id = "bench-$4";
          topics = [ "${TOPIC_FILL:-fill}"$(paced_topics_conf) ]; reply_topic = "${TOPIC_REPLIES:-replies}";
          dlq_topic = "${TOPIC_DLQ:-dlq}"; properties = [ $KAFKA_PROPS ]; };
state = { backend = "$2"; url = "$(backend_url "$2" "$4")"; key_prefix = "bench-$4:";
          $([ "$2" != clickhouse ] || echo "allow_eventual_consistency = true;") };
audit = { enabled = true; backend = "$3"; url = "$(backend_url "$3" "$4")"; };
workers = { threads = $5; ${AW_BENCH_MAX_IN_FLIGHT:+max_in_flight = $AW_BENCH_MAX_IN_FLIGHT;} };
dedup = { window_s = ${DEDUP_WINDOW_S:-3600}; };
log = { level = "warn"; };
providers = ( { name = "noop"; type = "noop"; } );
${6:-}
CONF
}
# run_kafka DIR RUN FILL_PARTITIONS [REPLY_PARTITIONS]: the run's topics.
# Without AW_BENCH_BROKER a fresh mock cluster with topics fill, paced1..K
# (one per AW_BENCH_PACED_RATES entry), replies and dlq; on a real broker
# (AW_BENCH_BROKER=HOST:PORT, scripts/kafka-broker.sh start DIR) the same
# topics named RUN-fill, RUN-paced1, ..., created with tests/kafka_admin, so
# a broker serves any number of runs. Sets BOOT, TOPIC_FILL, TOPIC_REPLIES,
# TOPIC_DLQ and PACED_TOPICS.
run_kafka() {
    local d=$1 run=$2 parts=$3 rparts=${4:-64} pre= i specs=()
    [ -z "${AW_BENCH_BROKER:-}" ] || pre="$run-"
    TOPIC_FILL=${pre}fill TOPIC_REPLIES=${pre}replies TOPIC_DLQ=${pre}dlq PACED_TOPICS=()
    for ((i = 1; i <= ${#PACED_RATES[@]}; i++)); do PACED_TOPICS+=("${pre}paced$i"); done
    specs=("$TOPIC_FILL:$parts" "$TOPIC_REPLIES:$rparts" "$TOPIC_DLQ:1")
    for i in "${PACED_TOPICS[@]}"; do specs+=("$i:4"); done
    if [ -z "${AW_BENCH_BROKER:-}" ]; then
        start_mock "$d" "${specs[@]}"
        return
    fi
    BOOT=$AW_BENCH_BROKER
    local args=()
    for i in "${specs[@]}"; do args+=(-t "$i"); done
    "$BUILD/tests/kafka_admin" -b "$BOOT" "${args[@]}" >/dev/null
}
# paced_topics_conf: the paced topics as libconfig list items.
paced_topics_conf() {
    local t
    for t in "${PACED_TOPICS[@]}"; do printf ', "%s"' "$t"; done
}
# prepare_run COMBO RUN DIR THREADS N FILL_PARTITIONS [bench_load options]:
# the run's topics (run_kafka), worker config, migrations, N actions
# pre-filled on TOPIC_FILL; sets LOAD (bench_load's line).
prepare_run() {
    local combo=$1 run=$2 d=$3 threads=$4 n=$5 parts=$6
    shift 6
    mkdir -p "$d"
    run_kafka "$d" "$run" "$parts"
    write_config "$d/worker.conf" "${combo%/*}" "${combo#*/}" "$run" "$threads" "${EXTRA_CONF:-}"
    if [ "$combo" != memory/memory ]; then
        "$WORKER" --log-level warn migrate -c "$d/worker.conf" >"$d/migrate.log" 2>&1 ||
            { log "$combo: migrate failed: $(tail -1 "$d/migrate.log")"; exit 1; }
    fi
    LOAD=$("$B/bench_load" -b "$BOOT" -t "$TOPIC_FILL" -n "$n" --prefix "$run" "$@")
}
# start_worker DIR: the worker on DIR/worker.conf; sets WPID and LOAD1 (the
# 1-minute load average just before: how busy the machine is, others too).
start_worker() {
    LOAD1=$(cut -d' ' -f1 /proc/loadavg)
    "$WORKER" run -c "$1/worker.conf" >"$1/worker.log" 2>&1 &
    WPID=$!
    PIDS+=($WPID)
}
# drain DIR N: start the worker and wait until the N pre-filled actions are
# answered; sets FILL (bench_replies' line), CPU (worker CPU seconds from
# start to the end of the drain), WPID, LOAD1.
drain() {
    start_worker "$1"
    FILL=$("$B/bench_replies" -b "$BOOT" -t "${TOPIC_REPLIES:-replies}" -n "$2" \
        --fill "${TOPIC_FILL:-fill}" | grep '^fill')
    CPU=$(cpu_s "$WPID")
}

# ---- the main table ---------------------------------------------------------
server_baselines() {
    # What the server itself does on this machine now, with the worker's
    # pipeline depth (64 = workers.batch_size) and connections (workers.threads).
    local hp val t args r tps
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
}

# latency_phases COMBO RUN DRAIN_RATE DONE: with the worker running and DONE
# replies written, one paced load per PACED_RATES entry for PACED_S seconds
# on its own topic (PACED_TOPICS), each waited for in full; sets PACED_AT
# (the rates) and PACED_LINES (bench_replies' lines), and adds a row per
# phase to LAT_ROWS.
latency_phases() {
    local combo=$1 run=$2 drain=$3 done=$4 i r n line
    PACED_AT=() PACED_LINES=()
    for ((i = 0; i < ${#PACED_RATES[@]}; i++)); do
        r=${PACED_RATES[$i]}
        [ "$r" != half ] || r=$drain
        r=$(awk -v r="$r" -v d="$drain" 'BEGIN { printf "%d", d / 2 < r ? d / 2 : r }')
        n=$((r * PACED_S))
        log "$combo: latency, paced load of $r/s for ${PACED_S}s (after ${PACED_WARM_S}s of warm-up)"
        "$B/bench_load" -b "$BOOT" -t "${PACED_TOPICS[$i]}" -n "$n" --rate "$r" \
            --warm-up-s "$PACED_WARM_S" --prefix "$run-p$i" >/dev/null
        done=$((done + n + r * PACED_WARM_S))
        line=$("$B/bench_replies" -b "$BOOT" -t "$TOPIC_REPLIES" -n "$done" \
            --fill "$TOPIC_FILL" --paced "${PACED_TOPICS[$i]}" | grep '^paced')
        PACED_AT+=("$r") PACED_LINES+=("$line")
        LAT_ROWS+=("$combo|${PACED_RATES[$i]}|$r|$n|$(kv p50_ms "$line")|$(kv p99_ms "$line")|$(kv max_ms "$line")|$LOAD1")
    done
}

main_table() {
    local combo st au run d n miss kc bc paced_rate paced_n paced rss_kb rate kafka_rate be_rate
    local rows=()
    BASE=() LAT_ROWS=()
    ensure_servers "${COMBOS[@]}"
    server_baselines
    for combo in "${COMBOS[@]}"; do
        st=${combo%/*} au=${combo#*/}
        if miss=$(missing_server "$combo"); then
            log "$combo: skipped (no server: $miss)"
            rows+=("$combo|skipped: no server ($miss)")
            continue
        fi
        run="${combo//\//-}-$RANDOM$RANDOM"
        d="$W/$run"
        n=$(combo_n "$combo" "$N")
        log "$combo: ${AW_BENCH_BROKER:+broker }topics, pre-fill $n actions"
        # An action is ~250 bytes, a reply ~700, and the reply topic gets
        # N + the paced load. 32 and 64 partitions leave room for N up to
        # ~300,000.
        prepare_run "$combo" "$run" "$d" "$THREADS" "$n" 32

        log "$combo: Kafka ceiling (plain consumer)"
        kc=$("$B/bench_consume" -b "$BOOT" -t "$TOPIC_FILL" -n "$n")
        log "$combo: backend ceiling (bench_backend, no Kafka)"
        bc=$("$B/bench_backend" -c "$d/worker.conf" -n "$n" --run-id "$run-bb")

        log "$combo: worker drains $n actions"
        drain "$d" "$n"
        rate=$(kv rate "$FILL")
        latency_phases "$combo" "$run" "$rate" "$n"
        paced=${PACED_LINES[0]}
        paced_rate=${PACED_AT[0]}
        rss_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$WPID/status")
        stop_all
        drop_run_data "$combo" "$run"

        {
            echo "# $combo"
            echo "load: $LOAD"
            echo "kafka: $kc"
            echo "backend: $bc"
            echo "worker: $FILL cpu_s=$CPU rss_kb=$rss_kb"
            printf 'paced: %s\n' "${PACED_LINES[@]}"
        } >"$d/figures"
        cat "$d/figures" >&2
        kafka_rate=$(kv rate "$kc")
        be_rate=$(kv rate "$bc")
        rows+=("$combo|$n|$rate|$(kv p50_ms "$paced")|$(kv p99_ms "$paced")|$paced_rate|$((rss_kb / 1024))|$(per1000 "$CPU" "$n")|$kafka_rate|$(ratio "$rate" "$kafka_rate")|$be_rate|$(ratio "$rate" "$be_rate")|${SEED[$st]:-}|$(ratio "$rate" "${SEED[$st]:-0}")|$(kv executed "$FILL")/$(kv deduplicated "$FILL")|$LOAD1")
    done

    echo
    echo "N=$N actions per combination (capped: ${!N_CAP[*]} at ${N_CAP[*]}; 10% duplicates, provider noop)," \
        "workers.threads=$THREADS, $(window_note); $(machine)"
    print_table "state/audit|actions|actions/s|p50 ms|p99 ms|at /s|peak RSS MiB|CPU s/1000|Kafka ceiling /s|x Kafka|backend ceiling /s|x backend|seed /s|x seed|executed/dedup|load" "${rows[@]}"
    if [ ${#PACED_RATES[@]} -gt 1 ]; then
        echo
        echo "Latency, action produced -> outcome (reply's completed_at), open-loop loads of ${PACED_S} s" \
            "each after the drain (a load is capped at half the drain rate)"
        print_table "state/audit|asked /s|ran at /s|actions|p50 ms|p99 ms|max ms|load" "${LAT_ROWS[@]}"
    fi
    if [ ${#BASE[@]} -gt 0 ]; then
        echo
        print_table "server baseline (public tool)|result" "${BASE[@]}"
    fi
}

# ---- threads: drain rate against workers.threads ---------------------------
# For each combination (memory/memory and redis/postgres unless given) and
# each value of AW_BENCH_THREADS_LIST ("1 2 4 8 16"): a fresh mock cluster,
# N actions pre-filled, the Kafka ceiling on that topic, the worker drain
# (steps 1, 2 and 4 of the main table; no backend ceiling, no latency).
threads_curve() {
    local list=${AW_BENCH_THREADS_LIST:-"1 2 4 8 16"} combo t run d n miss kc rate kafka_rate
    local rows=() pivot=() line
    [ ${#COMBOS[@]} -gt 0 ] || COMBOS=(memory/memory redis/postgres)
    ensure_servers "${COMBOS[@]}"
    declare -A by=()
    for combo in "${COMBOS[@]}"; do
        if miss=$(missing_server "$combo"); then
            log "$combo: skipped (no server: $miss)"
            rows+=("$combo|skipped: no server ($miss)")
            continue
        fi
        n=$(combo_n "$combo" "$N")
        for t in $list; do
            run="${combo//\//-}-t$t-$RANDOM$RANDOM"
            d="$W/$run"
            log "threads: $combo, workers.threads=$t, pre-fill $n"
            prepare_run "$combo" "$run" "$d" "$t" "$n" 32
            kc=$("$B/bench_consume" -b "$BOOT" -t "$TOPIC_FILL" -n "$n")
            drain "$d" "$n"
            stop_all
            drop_run_data "$combo" "$run"
            echo "threads=$t $combo: $FILL cpu_s=$CPU kafka: $kc" >&2
            rate=$(kv rate "$FILL")
            kafka_rate=$(kv rate "$kc")
            by[$combo:$t]=$rate
            rows+=("$combo|$t|$n|$rate|$(per1000 "$CPU" "$n")|$kafka_rate|$(ratio "$rate" "$kafka_rate")|$(kv executed "$FILL")/$(kv deduplicated "$FILL")|$LOAD1")
        done
        line=$combo
        for t in $list; do line+="|${by[$combo:$t]}"; done
        pivot+=("$line")
    done
    echo
    echo "threads: drain rate against workers.threads, N=$N actions per point (10% duplicates," \
        "provider noop), $(window_note), one fresh mock cluster per point; $(machine)"
    print_table "state/audit|workers.threads|actions|actions/s|CPU s/1000|Kafka ceiling /s|x Kafka|executed/dedup|load" "${rows[@]}"
    if [ ${#pivot[@]} -gt 0 ]; then
        echo
        print_table "actions/s at workers.threads =|${list// /|}" "${pivot[@]}"
    fi
}

# ---- payload: drain rate against the action's payload size ----------------
# memory/memory (or the combination given), workers.threads = THREADS, one
# run per size in AW_BENCH_PAYLOAD_SIZES (bytes of the payload object's JSON
# text, bench_load --payload-bytes). The mock keeps ~5 MiB per partition, so
# the fill and reply topics get 64 partitions and each size drains at most
# 64 x PART_BUDGET / (size + 700) actions (the reply carries the payload
# too, plus ~700 bytes), never more than N: 100 B and 1 KiB run the full N
# = 100,000, 8 KiB ~20,000, 64 KiB ~2,500.
# ingest.max_message_bytes is set to at least size + 4 KiB.
payload_curve() {
    local sizes=${AW_BENCH_PAYLOAD_SIZES:-"100 1024 8192 65536"} combo=${COMBOS[0]:-memory/memory}
    local parts=64 size n run d kc rate msg kafka_rate rows=() miss
    ensure_servers "$combo"
    if miss=$(missing_server "$combo"); then
        echo "payload: $combo: no server ($miss)" >&2
        exit 1
    fi
    for size in $sizes; do
        n=$((parts * PART_BUDGET / (size + 700)))
        [ "$n" -le "$N" ] || n=$N
        n=$(combo_n "$combo" "$n")
        run="${combo//\//-}-p$size-$RANDOM$RANDOM"
        d="$W/$run"
        local max=$((size + 4096))
        [ $max -ge 1048576 ] || max=1048576
        log "payload: $size bytes, pre-fill $n actions on $parts partitions"
        EXTRA_CONF="ingest = { max_message_bytes = $max; };" \
            prepare_run "$combo" "$run" "$d" "$THREADS" "$n" $parts --payload-bytes "$size"
        kc=$("$B/bench_consume" -b "$BOOT" -t "$TOPIC_FILL" -n "$n")
        drain "$d" "$n"
        stop_all
        drop_run_data "$combo" "$run"
        echo "payload=$size $combo: $FILL cpu_s=$CPU kafka: $kc" >&2
        rate=$(kv rate "$FILL")
        kafka_rate=$(kv rate "$kc")
        msg=$(awk -v b="$(kv bytes "$kc")" -v c="$(kv consumed "$kc")" 'BEGIN { printf "%d", b / c }')
        rows+=("$size|$msg|$n|$rate|$(awk -v r="$rate" -v m="$msg" 'BEGIN { printf "%.1f", r * m / 1e6 }')|$(per1000 "$CPU" "$n")|$kafka_rate|$(awk -v r="$kafka_rate" -v m="$msg" 'BEGIN { printf "%.0f", r * m / 1e6 }')|$(ratio "$rate" "$kafka_rate")|$(kv executed "$FILL")/$(kv deduplicated "$FILL")|$LOAD1")
    done
    echo
    echo "payload: $combo, workers.threads=$THREADS, $parts partitions (fill and replies)," \
        "10% duplicates, provider noop, $(window_note); MB = 10^6 bytes of action messages; $(machine)"
    print_table "payload B|message B|actions|actions/s|MB/s|CPU s/1000|Kafka ceiling /s|Kafka MB/s|x Kafka|executed/dedup|load" "${rows[@]}"
}

# ---- rss: is the worker's memory flat over N = 1,000,000 actions? ---------
# One worker (redis/postgres unless a combination is given) drains N actions
# plus a tail of N/20 in one go, so that at the last sample it still has a
# backlog, as at the first (a worker that has run dry holds less: no
# prefetched messages, nothing in flight). The fill topic gets enough
# partitions for PART_BUDGET each; the reply topic keeps 64 partitions and
# the mock drops the oldest replies (nothing reads them: progress is the
# worker's own acteon_outcomes_total on /metrics). VmRSS and RssAnon of the
# worker are read from /proc at every N/10 actions.
# Backends: the memory ones keep what they are asked to keep, so a memory
# combination grows by design: memory state holds every done record for
# dedup.window_s (its reaper frees expired ones; rss runs set the window to
# AW_BENCH_RSS_WINDOW_S, 10 s, for memory state), and memory audit holds
# every record for audit.retention_s (at least 60 s, deleted every
# audit.cleanup_interval_s), i.e. rate x 60 s of records at the very least.
# Redis/PostgreSQL keep that in the servers: the worker's own memory is
# what is left, which is what must stay flat.
rss_flat() {
    local combo=${COMBOS[0]:-redis/postgres} every=$((N / 10)) tail=$((N / 20))
    local total parts port run d miss next got last_got t0 stall rss anon cpu metrics
    local rows=() first_rss= last_rss= first_max= last_max= wmax=0 win=$((N / 20))
    ensure_servers "$combo"
    if miss=$(missing_server "$combo"); then
        echo "rss: $combo: no server ($miss)" >&2
        exit 1
    fi
    [ "${combo#*/}" != memory ] ||
        log "rss: memory audit keeps every record for audit.retention_s (>= 60 s): RSS grows by design"
    if [ "${combo%/*}" = memory ]; then DEDUP_WINDOW_S=${AW_BENCH_RSS_WINDOW_S:-10}; fi
    total=$((N + tail))
    # ~250 bytes an action, plus AW_BENCH_RSS_PAYLOAD_BYTES of payload text
    # when set (ingest.max_message_bytes raised to fit)
    local size=${AW_BENCH_RSS_PAYLOAD_BYTES:-0} load_opt=() ingest=
    if [ "$size" -gt 0 ]; then
        load_opt=(--payload-bytes "$size")
        ingest="ingest = { max_message_bytes = $((size + 4096 > 1048576 ? size + 4096 : 1048576)); };"
    fi
    parts=$((total * (250 + size) / PART_BUDGET + 1))
    [ $parts -ge 32 ] || parts=32
    port=$(free_port)
    run="rss-${combo//\//-}-$RANDOM$RANDOM"
    d="$W/$run"
    log "rss: $combo, pre-fill $total actions${load_opt[*]:+ (${load_opt[*]})} on $parts partitions"
    EXTRA_CONF="http = { listen = \"127.0.0.1:$port\"; };
$ingest" prepare_run "$combo" "$run" "$d" "$THREADS" "$total" "$parts" "${load_opt[@]}"
    log "rss: worker drains; VmRSS every $every actions"
    start_worker "$d"
    t0=$SECONDS
    stall=$SECONDS
    last_got=0
    next=$every
    while [ "$next" -le "$N" ]; do
        kill -0 "$WPID" 2>/dev/null || { echo "rss: the worker exited: $(tail -3 "$d/worker.log")" >&2; exit 1; }
        metrics=$(curl -sf -m 2 "http://127.0.0.1:$port/metrics" 2>/dev/null) || metrics=
        got=$(awk '/^acteon_outcomes_total/ { s += $2 } END { print s + 0 }' <<<"$metrics")
        read -r rss anon < <(awk '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } END { print r, a }' "/proc/$WPID/status")
        [ -z "${AW_BENCH_DEBUG:-}" ] ||
            echo "rss: $got VmRSS $rss $(grep -E '^acteon_(in_flight|consumption_paused) ' <<<"$metrics" | tr '\n' ' ')" >&2
        if [ "$got" -gt "$last_got" ]; then last_got=$got stall=$SECONDS; fi
        [ $((SECONDS - stall)) -lt 120 ] || { echo "rss: no progress for 120 s at $got actions" >&2; exit 1; }
        [ "$got" -lt $((next - win)) ] || [ "$rss" -le "$wmax" ] || wmax=$rss
        if [ "$got" -ge "$next" ]; then
            cpu=$(cpu_s "$WPID")
            rows+=("$next|$got|$((rss / 1024))|$((wmax / 1024))|$((anon / 1024))|$((SECONDS - t0))|$(per1000 "$cpu" "$got")")
            echo "rss: $got actions: VmRSS ${rss} kB (max ${wmax} kB since $((next - win))) RssAnon ${anon} kB cpu_s=$cpu" >&2
            [ -n "$first_rss" ] || first_rss=$rss first_max=$wmax
            last_rss=$rss last_max=$wmax
            wmax=0
            while [ "$next" -le "$got" ]; do next=$((next + every)); done
        fi
        sleep 0.2
    done
    local hwm
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$WPID/status")
    LOAD1="$LOAD1 -> $(cut -d' ' -f1 /proc/loadavg)"
    stop_all
    drop_run_data "$combo" "$run"
    echo
    echo "rss: $combo, workers.threads=$THREADS, $total actions${load_opt[*]:+ of ${size}-byte payloads} pre-filled on $parts partitions" \
        "(N=$N + a tail of $tail), 10% duplicates, provider noop, dedup.window_s=${DEDUP_WINDOW_S:-3600}," \
        "$(window_note), MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-unset}; load $LOAD1; $(machine)"
    print_table "actions|sampled at|VmRSS MiB|max VmRSS over the last $win MiB|RssAnon MiB|s since start|CPU s/1000" "${rows[@]}"
    echo
    echo "VmRSS after $N actions / after $every: $((last_rss / 1024)) / $((first_rss / 1024)) MiB =" \
        "$(ratio "$last_rss" "$first_rss"); the highest VmRSS over the $win actions before each:" \
        "$((last_max / 1024)) / $((first_max / 1024)) MiB = $(ratio "$last_max" "$first_max") (target <= 1.10);" \
        "peak (VmHWM) $((hwm / 1024)) MiB"
}

# ---- rules: the cost of each verdict (docs/rules.md) -----------------------
# For each state backend given (redis postgres unless given; memory audit,
# so the audit does not bound the figures), one drain of N unique actions
# (bench_load --unique: every action takes its case's path exactly once, no
# dedup answers) per case, each on a fresh mock cluster, the cases
# interleaved: every state's "none" first, then every state's "suppress",
# and so on, and "none" again at the end, so drift over the run shows in the
# two baselines. "x none" is the rate over the mean of that state's two
# baselines.
#   none             no rules (the baseline)
#   suppress         one rule matching every action: suppressed, no state touched
#   throttle-allow   throttle keyed "{tenant}" (8 keys), a limit never reached:
#                    one increment per action
#   throttle-reject  the same with max_count 1: all but 8 throttled (increment,
#                    then the lease released)
#   throttle-delay   max_count 1, on_limit delay: all but 8 put in the due
#                    index, answered "scheduled" (the drain counts that reply);
#                    window_s is chosen so the next window starts >= 2 h later
#                    (rules_window_s): nothing comes due during the run
#   lock-distinct    lock keyed "{id}": a lock acquired and released per action,
#                    never contended
#   scheduled        no rules, every action with a not_before an hour ahead
#                    (bench_load --not-before-s 3600): one due_put each
# State calls per action: the counts of the worker's /metrics round-trip
# histograms (claim_batch, complete_batch, throttle increments, lock_acquire,
# due_put, due_take) over N. Lease and lock releases have no histogram: they
# are not in that column (docs/performance.md says where they add one).
# AW_BENCH_RULE_CASES: a subset, in the order given (e.g. "none lock-distinct
# none"); the ratio needs "none" first and last.
read -r -a RULE_CASES <<<"${AW_BENCH_RULE_CASES:-none suppress throttle-allow throttle-reject throttle-delay lock-distinct scheduled none}"
# rules_window_s: the first of a day, a week, 30 days, a year whose current
# window (aligned on the epoch, as the worker's) ends more than 2 h from now.
rules_window_s() {
    local now w
    now=$(date +%s)
    for w in 86400 604800 2592000 31536000; do
        [ $((w - now % w)) -le 7200 ] || { echo $w; return; }
    done
    echo 31536000
}
# rule_conf CASE WINDOW_S: the rules group of a case (nothing for none and
# scheduled).
rule_conf() {
    local m='match = { action_type = "notify"; };'
    local t="verdict = \"throttle\"; key = \"{tenant}\"; window_s = $2;"
    case $1 in
    suppress) echo "rules = ( { name = \"bench\"; $m verdict = \"suppress\"; } );" ;;
    throttle-allow) echo "rules = ( { name = \"bench\"; $m $t max_count = 1000000000; } );" ;;
    throttle-reject) echo "rules = ( { name = \"bench\"; $m $t max_count = 1; on_limit = \"reject\"; } );" ;;
    throttle-delay) echo "rules = ( { name = \"bench\"; $m $t max_count = 1; on_limit = \"delay\"; } );" ;;
    lock-distinct) echo "rules = ( { name = \"bench\"; $m verdict = \"lock\"; key = \"{id}\"; } );" ;;
    esac
}
# state_calls METRICS: the state round trips counted by /metrics.
state_calls() {
    awk '/^acteon_(claim|complete|throttle_count|lock_acquire|due_put|due_take)_seconds_count / { s += $2 }
         END { print s + 0 }' <<<"$1"
}
rules_table() {
    local states=("${COMBOS[@]}") win st combo i c run d port metrics calls rate load_opt miss
    [ ${#states[@]} -gt 0 ] || states=(redis postgres)
    local combos=()
    for st in "${states[@]}"; do combos+=("$st/memory"); done
    ensure_servers "${combos[@]}"
    win=$(rules_window_s)
    declare -A rates=() rowof=()
    local rows=() order=()
    for i in "${!RULE_CASES[@]}"; do
        c=${RULE_CASES[$i]}
        for combo in "${combos[@]}"; do
            st=${combo%/*}
            if miss=$(missing_server "$combo"); then
                [ "$i" -gt 0 ] || { log "$combo: skipped (no server: $miss)"; rows+=("$st|skipped: no server ($miss)"); }
                continue
            fi
            run="rules-$st-$c-$RANDOM$RANDOM"
            d="$W/$run"
            port=$(free_port)
            load_opt=(--unique)
            [ "$c" != scheduled ] || load_opt+=(--not-before-s 3600)
            log "rules: $st, $c: pre-fill $N actions"
            EXTRA_CONF="http = { listen = \"127.0.0.1:$port\"; };
$(rule_conf "$c" "$win")" prepare_run "$combo" "$run" "$d" "$THREADS" "$N" 32 "${load_opt[@]}"
            drain "$d" "$N"
            metrics=$(curl -sf -m 5 "http://127.0.0.1:$port/metrics") || metrics=
            stop_all
            calls=$(state_calls "$metrics")
            {
                echo "# $st $c"
                echo "load: $LOAD"
                echo "worker: $FILL cpu_s=$CPU state_calls=$calls"
                grep -E '^acteon_(outcomes_total|rule_verdicts_total)\{|^acteon_(claim|complete|throttle_count|lock_acquire|due_put|due_take)_seconds_(count|sum) ' <<<"$metrics" || true
            } >"$d/figures"
            cat "$d/figures" >&2
            rate=$(kv rate "$FILL")
            rates[$st:$c:$i]=$rate
            order+=("$st:$c:$i")
            rowof[$st:$c:$i]="$st|$c|$N|$rate|X|$(awk -v c="$CPU" -v n="$N" 'BEGIN { printf "%.0f", c * 1e6 / n }')|$(awk -v s="${calls:-0}" -v n="$N" -v m="${metrics:+1}" 'BEGIN { if (m) printf "%.3f", s / n; else print "-" }')|$(kv executed "$FILL")/$(kv other "$FILL")|$LOAD1"
        done
    done
    local k base
    for st in "${states[@]}"; do
        base=$(awk -v a="${rates[$st:none:0]:-0}" -v b="${rates[$st:none:$((${#RULE_CASES[@]} - 1))]:-0}" \
            'BEGIN { print (a + b) / 2 }')
        for k in "${order[@]}"; do
            [ "${k%%:*}" = "$st" ] || continue
            rows+=("${rowof[$k]/|X|/|$(ratio "${rates[$k]}" "$base")|}")
        done
    done
    echo
    echo "rules: the cost of each verdict; N=$N unique actions per case, provider noop, memory audit," \
        "workers.threads=$THREADS, $(window_note), throttle window_s=$win;" \
        "x none = actions/s over the mean of the state's two none runs; $(machine)"
    print_table "state|case|actions|actions/s|x none|CPU ms/1000|state calls/action|executed/other|load" "${rows[@]}"
}

# ---- machine: state-machine transitions/s (docs/performance.md) -----------
# For each state backend given (redis postgres unless given; memory audit,
# provider noop), AW_BENCH_REPEATS (3) rounds, the backends interleaved in
# each round. A run pre-fills N actions over AW_BENCH_EVENTS (10,000)
# events (bench_load --events, bench/bench_events.h: alert, ack, resolve
# ... so that 8 actions of 10 move their event and 2 are refused), keyed
# by event; then:
#   ceiling  bench_event_ceiling on the worker's config: the same backend's
#            rate for a transition's state calls (claim_batch, a get and a
#            compare-and-swap per action, complete_batch) at the worker's
#            threads and batch size, and each part alone (dedup, apply, get);
#   none     the worker drains the same load with no rules (the dedup path
#            alone: the baseline);
#   machine  the worker drains it with one state_machine rule.
# transitions/s = actions/s x state_changed / N (state_changed from the
# worker's acteon_rule_verdicts_total); "x ceiling" compares actions/s
# (the worker may move fewer events than the ceiling: docs/performance.md
# says why); the state calls' time from its /metrics histograms (claim,
# complete, event move: sums over the drain); "state busy" is that time
# over threads x drain time.
# On a real broker: AW_BENCH_BROKER=HOST:PORT (scripts/kafka-broker.sh
# start DIR; DIR/bootstrap); every run gets topics of its own there
# (tests/kafka_admin) and the worker keeps librdkafka's fetch defaults, as
# bench/broker.sh. Without it, a fresh mock cluster per run.
MACHINE_CONF='state_machines = ( { name = "incident"; fingerprint = "{payload.event}";
    initial = "new"; states = [ "new", "open", "acked", "resolved" ];
    transitions = ( { from = [ "new", "resolved" ]; to = "open"; on = "alert"; },
                    { from = [ "open" ]; to = "acked"; on = "ack"; },
                    { from = [ "open", "acked" ]; to = "resolved"; on = "resolve"; } );
    retention_s = 3600; } );'
MACHINE_RULE='rules = ( { name = "bench"; verdict = "state_machine"; machine = "incident"; } );'
# hist_sum METRICS NAME: the _sum of histogram NAME (seconds).
hist_sum() { awk -v n="acteon_$2_seconds_sum" '$1 == n { print $2 + 0 }' <<<"$1"; }
# verdicts METRICS VERDICT: acteon_rule_verdicts_total of that verdict.
verdicts() {
    awk -v v="verdict=\"$2\"" 'index($0, "acteon_rule_verdicts_total{") == 1 && index($0, v) { s += $NF } END { print s + 0 }' <<<"$1"
}
# machine_run STATE CASE RUN: one drain (CASE none or machine) of the load
# of run RUN; sets FILL, CPU, LOAD1, METRICS.
machine_run() {
    local st=$1 case=$2 run=$3 d="$W/$3-$2" port rule=
    mkdir -p "$d"
    run_kafka "$d" "$run-$case" 32
    port=$(free_port)
    [ "$case" = none ] || rule=$MACHINE_RULE
    write_config "$d/worker.conf" "$st" memory "$run-$case" "$THREADS" \
        "http = { listen = \"127.0.0.1:$port\"; };
$MACHINE_CONF
$rule"
    [ "$st" = memory ] || "$WORKER" --log-level warn migrate -c "$d/worker.conf" >"$d/migrate.log" 2>&1 ||
        { log "$st: migrate failed: $(tail -1 "$d/migrate.log")"; exit 1; }
    LOAD=$("$B/bench_load" -b "$BOOT" -t "$TOPIC_FILL" -n "$N" --prefix "$run" --events "$EVENTS")
    if [ "$case" = machine ]; then
        log "machine: $st: ceiling (bench_event_ceiling, no Kafka)"
        CEIL=$("$B/bench_event_ceiling" -c "$d/worker.conf" -n "$N" --events "$EVENTS" --run-id "$run-ec")
    fi
    log "machine: $st, $case: the worker drains $N actions"
    drain "$d" "$N"
    METRICS=$(curl -sf -m 5 "http://127.0.0.1:$port/metrics") || METRICS=
    stop_all
}
# med3 VALUES...: "median (min-max)" of the values.
med3() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s (%s-%s)", m, v[1], v[NR] }'
}
machine_table() {
    local states=("${COMBOS[@]}") st r run rate none_rate moved refused tr ceil_tr ceil_rate busy miss
    local rows=() sums=() stages=() repeats=${AW_BENCH_REPEATS:-3}
    EVENTS=${AW_BENCH_EVENTS:-10000}
    [ ${#states[@]} -gt 0 ] || states=(redis postgres)
    local combos=()
    for st in "${states[@]}"; do combos+=("$st/memory"); done
    ensure_servers "${combos[@]}"
    declare -A col=()
    for ((r = 1; r <= repeats; r++)); do
        for st in "${states[@]}"; do
            if miss=$(missing_server "$st/memory"); then
                [ "$r" -gt 1 ] || { log "$st: skipped (no server: $miss)"; rows+=("$st|skipped: no server ($miss)"); }
                continue
            fi
            run="machine-$st-$r-$RANDOM$RANDOM"
            machine_run "$st" none "$run"
            none_rate=$(kv rate "$FILL")
            machine_run "$st" machine "$run"
            rate=$(kv rate "$FILL")
            moved=$(verdicts "$METRICS" state_changed)
            refused=$(verdicts "$METRICS" state_refused)
            tr=$(awk -v r="$rate" -v m="$moved" -v n="$N" 'BEGIN { printf "%.0f", r * m / n }')
            ceil_tr=$(kv transitions_rate "$(grep '^phase=transition' <<<"$CEIL")")
            ceil_rate=$(kv rate "$(grep '^phase=transition' <<<"$CEIL")")
            # Share of the threads' drain time spent in state round trips
            # (claim, event moves, complete; N / rate s of drain).
            busy=$(awk -v c="$(hist_sum "$METRICS" claim)" -v m="$(hist_sum "$METRICS" event_move)" \
                -v p="$(hist_sum "$METRICS" complete)" -v t="$THREADS" -v r="$rate" -v n="$N" \
                'BEGIN { printf "%.2f", (c + m + p) / t / (n / r) }')
            {
                echo "# $st round $r"
                echo "load: $LOAD"
                echo "ceiling: $CEIL"
                echo "none: $none_rate; machine: $FILL cpu_s=$CPU moved=$moved refused=$refused busy=$busy"
                grep -E '^acteon_(claim|complete|event_move)_seconds_(count|sum) ' <<<"$METRICS" || true
            } >&2
            rows+=("$st|$r|$N|$rate|$ceil_rate|$(ratio "$rate" "$ceil_rate")|$tr|$ceil_tr|$moved/$refused|$none_rate|$(ratio "$rate" "$none_rate")|$(per1000 "$CPU" "$N")|$busy|$LOAD1")
            col[$st:rate]+=" $rate" col[$st:tr]+=" $tr" col[$st:ceil]+=" $ceil_tr" col[$st:ceil_rate]+=" $ceil_rate"
            col[$st:xc]+=" $(ratio "$rate" "$ceil_rate")" col[$st:xn]+=" $(ratio "$rate" "$none_rate")"
            col[$st:busy]+=" $busy"
            local ph
            for ph in dedup apply transition get; do
                col[$st:$ph]+=" $(kv rate "$(grep "^phase=$ph " <<<"$CEIL")")"
            done
            col[$st:move_ms]+=" $(awk -v s="$(hist_sum "$METRICS" event_move)" \
                -v c="$(awk '$1 == "acteon_event_move_seconds_count" { print $2 }' <<<"$METRICS")" \
                'BEGIN { if (c > 0) printf "%.3f", s * 1000 / c; else print 0 }')"
        done
    done
    for st in "${states[@]}"; do
        [ -n "${col[$st:rate]:-}" ] || continue
        # shellcheck disable=SC2086
        sums+=("$st|$(med3 ${col[$st:rate]})|$(med3 ${col[$st:ceil_rate]})|$(med3 ${col[$st:xc]})|$(med3 ${col[$st:tr]})|$(med3 ${col[$st:ceil]})|$(med3 ${col[$st:xn]})")
        # shellcheck disable=SC2086
        stages+=("$st|$(med3 ${col[$st:dedup]})|$(med3 ${col[$st:apply]})|$(med3 ${col[$st:transition]})|$(med3 ${col[$st:get]})|$(med3 ${col[$st:move_ms]})|$(med3 ${col[$st:busy]})")
    done
    local kafka="librdkafka mock cluster"
    [ -z "${AW_BENCH_BROKER:-}" ] || kafka="Kafka broker $AW_BENCH_BROKER"
    echo
    echo "machine: N=$N actions over $EVENTS events per run (8 in 10 move their event), provider noop," \
        "memory audit, workers.threads=$THREADS, $(window_note), $kafka, $repeats rounds; $(machine)"
    print_table "state|round|actions|actions/s|ceiling actions/s|x ceiling|transitions/s|ceiling transitions/s|moved/refused|none actions/s|x none|CPU s/1000|state busy|load" "${rows[@]}"
    echo
    print_table "state|actions/s|ceiling actions/s|x ceiling|transitions/s|ceiling transitions/s|x none" "${sums[@]}"
    echo
    print_table "state|ceiling dedup /s|ceiling apply /s|ceiling transition /s|ceiling get /s|worker ms per move|state busy" "${stages[@]}"
}

# ---- group: grouped members/s (docs/rules.md, "group") ----------------------
# For each state backend given (redis postgres unless given; memory audit,
# so the audit does not bound the figures): the worker drains N unique
# actions that a group rule (group_by {payload.host}, max_size GROUP_SIZE, a
# window longer than the run) joins into groups of GROUP_SIZE (bench_load
# --group-size: consecutive actions share a host, so a group fills within
# one stretch of the topic), provider noop; "members/s" is the rate of the
# members' replies (grouped), which never wait for a flush. Then the
# backend's ceiling for what a member costs there: bench_group, the same
# joins called directly with the same config and threads (no Kafka, no
# claim, no done record, no pipeline), its members of one group joined by
# every thread at once. "flushed" is acteon_groups_closed_total when the
# drain ended (flushes run on the scheduler's thread, behind the members).
GROUP_SIZE=${AW_BENCH_GROUP_SIZE:-20}
group_conf() {
    echo "schedule = { poll_ms = 100; };
rules = ( { name = \"bench\"; match = { action_type = \"notify\"; }; verdict = \"group\";
            group_by = \"{payload.host}\"; window_ms = 3600000; max_size = $GROUP_SIZE; } );"
}
group_table() {
    local states=("${COMBOS[@]}") st combo run d port metrics ceiling miss rows=()
    [ ${#states[@]} -gt 0 ] || states=(redis postgres)
    local combos=()
    for st in "${states[@]}"; do combos+=("$st/memory"); done
    ensure_servers "${combos[@]}"
    for combo in "${combos[@]}"; do
        st=${combo%/*}
        if miss=$(missing_server "$combo"); then
            rows+=("$st|skipped: no server ($miss)")
            continue
        fi
        run="group-$st-$RANDOM$RANDOM"
        d="$W/$run"
        port=$(free_port)
        log "group: $st: pre-fill $N actions in groups of $GROUP_SIZE"
        EXTRA_CONF="http = { listen = \"127.0.0.1:$port\"; };
$(group_conf)" prepare_run "$combo" "$run" "$d" "$THREADS" "$N" 32 --unique --group-size "$GROUP_SIZE"
        drain "$d" "$N"
        metrics=$(curl -sf -m 5 "http://127.0.0.1:$port/metrics") || metrics=
        stop_all
        log "group: $st: the backend's ceiling (bench_group, $N members)"
        ceiling=$("$B/bench_group" -c "$d/worker.conf" -n "$N" --run-id "$run-c")
        { echo "# $st"; echo "load: $LOAD"; echo "worker: $FILL cpu_s=$CPU"; echo "ceiling: $ceiling"
          grep -E '^acteon_(outcomes_total|groups_closed_total|group_join_seconds_(count|sum))' <<<"$metrics" || true
        } >"$d/figures"
        cat "$d/figures" >&2
        rows+=("$st|$N|$(kv rate "$FILL")|$(kv rate "$ceiling")|$(ratio "$(kv rate "$FILL")" "$(kv rate "$ceiling")")|$(kv races_per_member "$ceiling")|$(awk -v c="$CPU" -v n="$N" 'BEGIN { printf "%.0f", c * 1e6 / n }')|$(awk '/^acteon_groups_closed_total / { print $2 }' <<<"$metrics")/$((N / GROUP_SIZE))|$LOAD1")
    done
    echo
    echo "group: grouped members/s; N=$N unique actions in groups of $GROUP_SIZE, provider noop, memory" \
        "audit, workers.threads=$THREADS, $(window_note); ceiling = bench_group (the joins alone); $(machine)"
    print_table "state|members|members/s (worker)|members/s (ceiling)|x ceiling|races/member (ceiling)|CPU ms/1000|flushed/groups|load" "${rows[@]}"
}

# ---- chains (docs/rules.md, "chain") ----------------------------------------
# chain_conf: every action (notify) starts a chain of 3 noop steps, each
# payload from the trigger and the step before.
chain_conf() {
    cat <<'CONF'
rules = ( { name = "bench"; match = { action_type = "notify"; }; verdict = "chain"; chain = "bench"; } );
chains = ( { name = "bench"; steps = (
  { name = "s1"; provider = "noop"; action_type = "s1"; payload = "{\"id\": {{action.id}}}"; },
  { name = "s2"; provider = "noop"; action_type = "s2"; payload = "{\"prev\": {{steps.s1.outcome}}}"; },
  { name = "s3"; provider = "noop"; action_type = "s3"; payload = "{\"prev\": {{steps.s2.outcome}}}"; } ); } );
CONF
}
# chain_table [STATE...]: per state backend (redis, postgres by default), N
# triggers pre-filled, one worker: the chains' steps/s (3 x the rate of
# their end replies, once the worker runs) next to the same-run ceiling of
# the state operations a step costs, bench_chain_steps on the same config
# (one session: a replica's scheduler is one thread).
chain_table() {
    local states=("${COMBOS[@]}") st combo run d port miss fill ends rate ceil steps_s metrics
    [ ${#states[@]} -gt 0 ] || states=(redis postgres)
    local combos=() rows=()
    for st in "${states[@]}"; do combos+=("$st/memory"); done
    ensure_servers "${combos[@]}"
    for combo in "${combos[@]}"; do
        st=${combo%/*}
        if miss=$(missing_server "$combo"); then
            log "$combo: skipped (no server: $miss)"
            rows+=("$st|skipped: no server ($miss)")
            continue
        fi
        run="chain-$st-$RANDOM$RANDOM"
        d="$W/$run"
        port=$(free_port)
        log "chain: $st: pre-fill $N triggers"
        EXTRA_CONF="http = { listen = \"127.0.0.1:$port\"; };
$(chain_conf)" prepare_run "$combo" "$run" "$d" "$THREADS" "$N" 32 --unique
        start_worker "$d"
        # N chain_started (source fill), 3N step replies (without the
        # trigger's metadata: counted "unreadable") and N ends (source
        # acteon.chains, the trigger's metadata: their latency).
        fill=$("$B/bench_replies" -b "$BOOT" -t "$TOPIC_REPLIES" -n $((5 * N)) --fill "$TOPIC_FILL" --paced acteon.chains)
        CPU=$(cpu_s "$WPID")
        metrics=$(curl -sf -m 5 "http://127.0.0.1:$port/metrics") || metrics=
        stop_all
        ends=$(grep '^paced' <<<"$fill")
        rate=$(kv rate "$ends")
        steps_s=$(awk -v r="${rate:-0}" 'BEGIN { printf "%.0f", 3 * r }')
        log "chain: $st: ceiling (bench_chain_steps, no Kafka)"
        ceil=$("$B/bench_chain_steps" -c "$d/worker.conf" -n "$N" --run-id "$run-bc")
        {
            echo "# $st"
            echo "load: $LOAD"
            echo "worker: $fill cpu_s=$CPU"
            echo "ceiling: $ceil"
            grep -E '^acteon_(chains_total|chain_steps_total)' <<<"$metrics" || true
        } >"$d/figures"
        cat "$d/figures" >&2
        rows+=("$st|$N|$steps_s|$(kv step_rate "$ceil")|$(ratio "$steps_s" "$(kv step_rate "$ceil")")|$(kv p50_ms "$ends")|$(kv p99_ms "$ends")|$(awk -v c="$CPU" -v n="$N" 'BEGIN { printf "%.0f", c * 1e6 / (3 * n) }')|$LOAD1")
    done
    echo
    echo "chain: N=$N chains of 3 noop steps, one worker, memory audit, workers.threads=$THREADS," \
        "schedule.batch_size default; steps/s = 3 x the chains' end replies/s; ceiling:" \
        "bench_chain_steps (the state operations of a step, one session); latency: trigger" \
        "produced -> end replied; $(machine)"
    print_table "state|chains|steps/s|ceiling steps/s|x ceiling|p50 ms|p99 ms|CPU ms/1000 steps|load" "${rows[@]}"
}

case $MODE in
combos) main_table ;;
slow-webhook) slow_webhook ;;
threads) threads_curve ;;
payload) payload_curve ;;
rss) rss_flat ;;
rules) rules_table ;;
chain) chain_table ;;
group) group_table ;;
machine) machine_table ;;
esac
