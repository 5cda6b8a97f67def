# The Confluent Parallel Consumer peer of the benchmark (bench/peer/,
# docs/performance.md "Peer: Confluent Parallel Consumer"), and the worker's
# run of the same mode, as functions a benchmark script sources (bench/peer.sh;
# bench/broker.sh can fold the rows into its table). Sourced; set -euo pipefail
# in the caller is fine.
#
#   peer_build                          build-peer/ (cached on the sources' checksum)
#   peer_fill MODE TOPIC N PREFIX       pre-fill TOPIC with bench_load for MODE
#   peer_webhook_start DIR              a webhook target answering in PEER_DELAY_MS
#   peer_webhook_stop
#   peer_run MODE TOPIC REPLIES N       the peer drains TOPIC; prints key=value
#   peer_worker_run MODE TOPIC REPLIES DLQ N   build/acteon-worker, the same
#
# MODE is noop, redis (SET NX on the dedup identity) or webhook (a POST to a
# target answering in 50 ms). Both run lines print
#   tool= mode= actions= rate= cpu_per_1000= broker_cpu_per_1000= redis_cpu_per_1000=
#   executed= deduplicated= other= p50_ms= p99_ms= calls= max_in_flight=
# rate and latencies come from bench_replies on REPLIES (the same reader
# for both tools: the replies' completed_at); calls is the webhook target's
# count of POSTs and max_in_flight the most it answered at once (0 outside
# webhook mode).
#
# The caller sets: BOOT (HOST:PORT of the broker), BUILD (the C build
# folder: bench/bench_load, bench/bench_replies, tests/webhook_target,
# acteon-worker), PEER_WORK (a scratch folder for configs and logs);
# optionally BROKER_PID and REDIS_PID (their CPU is then measured),
# AW_TEST_REDIS_URL (redis mode), AW_BENCH_THREADS (worker threads in noop
# and redis, 4).
# Needs a JDK 17 (javac: peer_build) and Maven on PATH.

PEER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PEER_SRC=$PEER_ROOT/bench/peer
PEER_OUT=${AW_PEER_OUT:-$PEER_ROOT/build-peer}
PEER_DELAY_MS=${AW_PEER_DELAY_MS:-50}
# Set by peer_webhook_start for the runs of webhook mode.
PEER_WEBHOOK_URL= PEER_WEBHOOK_STATS= PEER_WEBHOOK_CALLS= PEER_WEBHOOK_PID=

_peer_log() { echo "[peer $(date -u +%H:%M:%S)] $*" >&2; }
_peer_kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
# _peer_ticks PID: user + system CPU ticks of PID (0 when unknown or gone).
_peer_ticks() { { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; } || echo 0; }
_peer_per_1000() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.3f", s * 1000 / n }'; }
# The servers' CPU is taken around each drain: _peer_mark before the tool
# starts, _peer_server_cpu PID TICKS0 N after (empty when PID is unknown).
_peer_mark() {
    _peer_b0=$(_peer_ticks "${BROKER_PID:-}")
    _peer_r0=$(_peer_ticks "${REDIS_PID:-}")
}
_peer_server_cpu() {
    [ -n "$1" ] || return 0
    awk -v a="$2" -v b="$(_peer_ticks "$1")" -v t="$(getconf CLK_TCK)" -v n="$3" \
        'BEGIN { printf "%.3f", (b - a) / t * 1000 / n }'
}

_peer_sources_sum() {
    find "$PEER_SRC" -type f \( -name pom.xml -o -name '*.java' \) -print0 | sort -z |
        xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

peer_build() {
    local sum log
    sum=$(_peer_sources_sum)
    if [ -f "$PEER_OUT/.sources.sha256" ] && [ "$(cat "$PEER_OUT/.sources.sha256")" = "$sum" ]; then
        return 0
    fi
    command -v mvn >/dev/null || { _peer_log "mvn not found on PATH (Maven builds the peer)"; return 1; }
    # A JRE (scripts/install-deps.sh's default-jre-headless) runs the broker
    # but cannot compile the peer.
    command -v javac >/dev/null ||
        { _peer_log "javac not found on PATH: the peer needs a JDK 17 (Debian: default-jdk-headless)"; return 1; }
    _peer_log "building the peer (mvn package into $PEER_OUT)"
    rm -rf "$PEER_OUT"
    mkdir -p "$PEER_OUT"
    log=$PEER_OUT/mvn.log
    if ! nice -n 10 mvn -B -ntp -Dstyle.color=never -f "$PEER_SRC/pom.xml" \
        -Dpeer.out="$PEER_OUT" package >"$log" 2>&1; then
        grep -E '^\[(ERROR|WARNING)\]' "$log" | head -n 40 >&2
        _peer_log "mvn package failed (log: $log)"
        return 1
    fi
    echo "$sum" >"$PEER_OUT/.sources.sha256"
}

# peer_fill MODE TOPIC N PREFIX: bench_load's actions (10% repeated
# identities); webhook mode: provider "webhook" and unique identities, as
# bench/run.sh slow-webhook, so both tools call the target N times.
peer_fill() {
    local extra=()
    [ "$1" != webhook ] || extra=(--provider webhook --unique)
    "$BUILD/bench/bench_load" -b "$BOOT" -t "$2" -n "$3" --prefix "$4" "${extra[@]}" >/dev/null
}

peer_webhook_start() {
    local dir=$1 deadline=$((SECONDS + 20))
    mkdir -p "$dir"
    rm -f "$dir/hook.port" "$dir/hook.calls"
    "$BUILD/tests/webhook_target" --port-file "$dir/hook.port" --log "$dir/hook.calls" \
        --delay-ms "$PEER_DELAY_MS" >"$dir/target.log" 2>&1 &
    PEER_WEBHOOK_PID=$!
    until [ -s "$dir/hook.port" ]; do
        [ $SECONDS -lt $deadline ] || { _peer_log "webhook target did not start"; return 1; }
        sleep 0.1
    done
    PEER_WEBHOOK_URL="http://127.0.0.1:$(cat "$dir/hook.port")/hook"
    PEER_WEBHOOK_CALLS=$dir/hook.calls
    PEER_WEBHOOK_STATS="http://127.0.0.1:$(cat "$dir/hook.port")/stats"
}

peer_webhook_stop() {
    [ -n "$PEER_WEBHOOK_PID" ] || return 0
    kill -TERM "$PEER_WEBHOOK_PID" 2>/dev/null || true
    wait "$PEER_WEBHOOK_PID" 2>/dev/null || true
    PEER_WEBHOOK_PID=
}

# _peer_measure TOOL MODE TOPIC REPLIES N CPU_CMD: wait for the N replies
# with bench_replies, then print the run line; CPU_CMD sets _peer_cpu to
# the drained process's CPU seconds (run after the replies are in, in this
# shell: it may `wait` for the process). The caller ran _peer_mark.
_peer_measure() {
    local tool=$1 mode=$2 topic=$3 replies=$4 n=$5 cpu_cmd=$6 fill bcpu rcpu calls=0 conc=
    fill=$("$BUILD/bench/bench_replies" -b "$BOOT" -t "$replies" -n "$n" --fill "$topic" | grep '^fill') ||
        { _peer_log "$tool $mode: bench_replies did not see $n replies"; return 1; }
    bcpu=$(_peer_server_cpu "${BROKER_PID:-}" "$_peer_b0" "$n")
    rcpu=$(_peer_server_cpu "${REDIS_PID:-}" "$_peer_r0" "$n")
    $cpu_cmd || return 1
    if [ "$mode" = webhook ]; then
        calls=$(wc -l <"$PEER_WEBHOOK_CALLS")
        conc=$(curl -sf -m 5 "$PEER_WEBHOOK_STATS" | sed -n 's/.*"max_in_flight": *\([0-9]*\).*/\1/p')
    fi
    [ "$mode" = redis ] || rcpu=
    echo "tool=$tool mode=$mode actions=$n rate=$(_peer_kv rate "$fill")" \
        "cpu_per_1000=$(_peer_per_1000 "$_peer_cpu" "$n")" \
        "broker_cpu_per_1000=$bcpu redis_cpu_per_1000=$rcpu" \
        "executed=$(_peer_kv executed "$fill") deduplicated=$(_peer_kv deduplicated "$fill")" \
        "other=$(_peer_kv other "$fill") p50_ms=$(_peer_kv p50_ms "$fill")" \
        "p99_ms=$(_peer_kv p99_ms "$fill") calls=$calls max_in_flight=${conc:-0}"
}

# peer_run MODE TOPIC REPLIES N: the peer (a fresh consumer group) drains N
# actions of TOPIC and stops by itself; its own line (cpu_s: the JVM's CPU
# time, start-up and JIT included) goes to PEER_WORK/peer-TOPIC.out.
peer_run() {
    local mode=$1 topic=$2 replies=$3 n=$4 out=$PEER_WORK/peer-$2.out pid args
    args=(--mode "$mode" --brokers "$BOOT" --topic "$topic" --replies "$replies" -n "$n"
        --group "peer-$topic" --redis-prefix "peer-$topic:")
    [ "$mode" != redis ] || args+=(--redis "${AW_TEST_REDIS_URL:?redis mode needs AW_TEST_REDIS_URL}")
    [ "$mode" != webhook ] || args+=(--webhook "${PEER_WEBHOOK_URL:?webhook mode needs peer_webhook_start}")
    [ -z "${AW_PEER_CONCURRENCY:-}" ] || args+=(--concurrency "$AW_PEER_CONCURRENCY")
    _peer_mark
    java -Xms256m -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -cp "$PEER_OUT/target/peer-bench-0.jar:$PEER_OUT/lib/*" io.acteon.bench.peer.PeerBench \
        "${args[@]}" >"$out" 2>"$PEER_WORK/peer-$topic.log" &
    pid=$!
    _peer_java_cpu() {
        wait "$pid" || { _peer_log "peer exited with $? (log: $PEER_WORK/peer-$topic.log)"; return 1; }
        _peer_cpu=$(_peer_kv cpu_s "$(cat "$out")")
    }
    _peer_measure peer "$mode" "$topic" "$replies" "$n" _peer_java_cpu ||
        { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 1; }
}

# peer_worker_run MODE TOPIC REPLIES DLQ N: acteon-worker drains the same
# load: memory state and audit (noop), Redis state (redis), a webhook
# provider with workers.threads=8 and max_concurrency 64 (webhook, the
# shape of bench/run.sh slow-webhook). CPU from /proc, start-up included.
peer_worker_run() {
    local mode=$1 topic=$2 replies=$3 dlq=$4 n=$5 conf=$PEER_WORK/worker-$2.conf
    local threads=${AW_BENCH_THREADS:-4} state='backend = "memory";'
    local provider='{ name = "noop"; type = "noop"; }' batch= wpid rc=0
    case $mode in
    redis) state="backend = \"redis\"; url = \"${AW_TEST_REDIS_URL:?}\"; key_prefix = \"bench-$topic:\";" ;;
    webhook)
        threads=8 batch="batch_size = 64;"
        provider="{ name = \"webhook\"; type = \"webhook\"; url = \"${PEER_WEBHOOK_URL:?}\";
                timeout_ms = 5000; max_concurrency = 64; }"
        ;;
    esac
    cat >"$conf" <<CONF
worker_id = "bench";
kafka = { brokers = "$BOOT"; group_id = "bench-$topic";
          topics = [ "$topic" ]; reply_topic = "$replies"; dlq_topic = "$dlq"; };
state = { $state };
audit = { enabled = true; backend = "memory"; };
workers = { threads = $threads; $batch };
dedup = { window_s = 3600; };
log = { level = "warn"; };
providers = ( $provider );
CONF
    if [ "$mode" = redis ]; then
        "$BUILD/acteon-worker" --log-level warn migrate -c "$conf" >"$PEER_WORK/migrate-$topic.log" 2>&1 ||
            { _peer_log "migrate failed: $(tail -1 "$PEER_WORK/migrate-$topic.log")"; return 1; }
    fi
    _peer_mark
    "$BUILD/acteon-worker" run -c "$conf" >"$PEER_WORK/worker-$topic.log" 2>&1 &
    wpid=$!
    _peer_worker_cpu() { _peer_cpu=$(awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15) / t }' "/proc/$wpid/stat"); }
    _peer_measure worker "$mode" "$topic" "$replies" "$n" _peer_worker_cpu || rc=1
    kill -TERM "$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
    return $rc
}
