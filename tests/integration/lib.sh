# Shared helpers for the integration tests (sourced). Each test gets its own
# temp dir, Kafka topics and consumer group, and webhook target; everything it
# started is stopped on exit. No sleeps as synchronisation: wait_for polls a
# condition with a deadline.
#
# Kafka peer, chosen by AW_KAFKA:
#   real  the broker at AW_KAFKA_BOOTSTRAP (a real Apache Kafka broker that
#         scripts/test.sh starts once per run and shares between all tests and
#         build flavours); topics are created with tests/support/kafka_admin.
#   mock  a librdkafka mock cluster process per test (tests/support/mock_cluster),
#         its topics made at start.
#   unset real when AW_KAFKA_BOOTSTRAP is set, else mock (so plain ctest works).
# Because the real broker is shared, every test run uses its own topic names
# and group id: ACTIONS_TOPIC, REPLY_TOPIC, DLQ_TOPIC, GROUP (a random suffix).
set -euo pipefail

: "${AW_BUILD_DIR:?AW_BUILD_DIR must point at the build directory}"
: "${AW_SOURCE_DIR:?AW_SOURCE_DIR must point at the source tree}"
case "${AW_KAFKA:-}" in
    mock) KAFKA_PEER=mock ;;
    real)
        [ -n "${AW_KAFKA_BOOTSTRAP:-}" ] || { echo "FAIL: AW_KAFKA=real needs AW_KAFKA_BOOTSTRAP" >&2; exit 1; }
        KAFKA_PEER=real ;;
    "") if [ -n "${AW_KAFKA_BOOTSTRAP:-}" ]; then KAFKA_PEER=real; else KAFKA_PEER=mock; fi ;;
    *) echo "FAIL: AW_KAFKA must be real or mock, not '$AW_KAFKA'" >&2; exit 1 ;;
esac

WORKER="$AW_BUILD_DIR/acteon-worker"
SUPPORT="$AW_BUILD_DIR/tests"
T=$(mktemp -d "${TMPDIR:-/tmp}/aw-it.XXXXXX")
PIDS=()

# Unique names per test run: test name + the temp dir's random suffix. The
# same RUN_ID prefixes every state key (write_config), since the state servers
# are shared too.
TEST_NAME=$(basename "$0" .sh)
TEST_NAME=${TEST_NAME#test_}
RUN_ID="${TEST_NAME//_/-}-${T##*.}"
ACTIONS_TOPIC="aw-it.$RUN_ID.actions"
REPLY_TOPIC="aw-it.$RUN_ID.replies"
DLQ_TOPIC="aw-it.$RUN_ID.dlq"
GROUP="aw-it.$RUN_ID.workers"
echo "kafka peer: $KAFKA_PEER; topics $ACTIONS_TOPIC, $REPLY_TOPIC, $DLQ_TOPIC; group $GROUP"

CLEANUP_HOOKS=() # commands run first at exit (servers a test started itself)
cleanup() {
    local rc=$?
    for hook in "${CLEANUP_HOOKS[@]:-}"; do
        [ -n "$hook" ] && eval "$hook" >/dev/null 2>&1 || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    # Bounded: a process that ignores SIGTERM for 30 s is killed (and the
    # test reports it), so a hang cannot hold the suite until ctest's timeout.
    local deadline=$((SECONDS + 30)) pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] || continue
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "cleanup: pid $pid ($(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null | cut -c1-80)) still running 30 s after SIGTERM: killed" >&2
            kill -KILL "$pid" 2>/dev/null || true
            [ $rc -ne 0 ] || rc=1
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [ $rc -ne 0 ]; then
        echo "---- test failed (rc=$rc) on the $KAFKA_PEER Kafka peer; logs in $T ----" >&2
        for f in "$T"/*.log; do
            [ -f "$f" ] || continue
            echo "==== $f (last 40 lines)" >&2
            tail -n 40 "$f" >&2
        done
    elif [ -n "${AW_IT_KEEP:-}" ]; then
        echo "logs kept in $T"
    else
        rm -rf "$T"
    fi
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds.
wait_for() {
    local secs=$1 what=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timed out after ${secs}s waiting for $what"
        sleep 0.2
    done
}

# start_kafka TOPIC:PARTS...: make the topics on the chosen peer (see the
# top of this file) and wait until every partition has a leader; sets BOOT.
# The mock cluster gets MOCK_BROKERS brokers (default 1) and a control
# channel for mock_ctl.
start_kafka() {
    local args=()
    for t in "$@"; do args+=(-t "$t"); done
    if [ "$KAFKA_PEER" = real ]; then
        BOOT=$AW_KAFKA_BOOTSTRAP
        "$SUPPORT/kafka_admin" -b "$BOOT" "${args[@]}" >"$T/admin.log" 2>&1 \
            || fail "cannot create topics on $BOOT: $(cat "$T/admin.log")"
    else
        local margs=()
        for t in "$@"; do margs+=(--topic "$t"); done
        "$SUPPORT/mock_cluster" --bootstrap-file "$T/bootstrap" --brokers "${MOCK_BROKERS:-1}" \
            --control "$T/mock.ctl" "${margs[@]}" >"$T/mock.log" 2>&1 &
        MOCK_PID=$!
        PIDS+=($MOCK_PID)
        wait_for 20 "mock cluster" test -s "$T/bootstrap"
        BOOT=$(cat "$T/bootstrap")
        "$SUPPORT/kafka_admin" -b "$BOOT" --check "${args[@]}" >"$T/admin.log" 2>&1 \
            || fail "mock cluster topics not ready: $(cat "$T/admin.log")"
    fi
}

# mock_ctl COMMAND ARGS...: apply a fault through the mock cluster's control
# channel (the commands are listed in tests/support/mock_cluster.c) and wait,
# bounded, until the cluster says it is in place; prints the answer's detail
# (error-count prints the count). Fails the test on an error answer.
mock_ctl() {
    [ "$KAFKA_PEER" = mock ] || fail "mock_ctl needs the mock cluster"
    # Unique even when called in a subshell ($(mock_ctl error-count ...)).
    local tag="c$(date +%s%N).$BASHPID" answer=""
    # The cluster holds the pipe open: the write cannot block unless it died.
    timeout 10 bash -c 'printf "%s\n" "$2" >"$1"' _ "$T/mock.ctl" "$tag $*" \
        || fail "mock_ctl $*: cannot write to the control channel"
    local deadline=$((SECONDS + 20))
    until answer=$(grep -m1 "^$tag " "$T/mock.ctl.ack" 2>/dev/null); do
        [ $SECONDS -lt $deadline ] || fail "mock_ctl $*: no answer within 20 s"
        sleep 0.05
    done
    answer=${answer#"$tag "}
    case "$answer" in
        ok) ;;
        ok\ *) echo "${answer#ok }" ;;
        *) fail "mock_ctl $*: $answer" ;;
    esac
}

# start_webhook [ARGS...]: start the webhook target; sets HOOK_URL, HOOK_LOG,
# HOOK_PORT, HOOK_PID.
start_webhook() {
    HOOK_LOG="$T/hook.calls"
    : >"$HOOK_LOG"
    _launch_webhook "$@"
    HOOK_PORT=$(cat "$T/hook.port")
    HOOK_URL="http://127.0.0.1:$HOOK_PORT/hook"
}

_launch_webhook() {
    rm -f "$T/hook.port"
    "$SUPPORT/webhook_target" --port-file "$T/hook.port" --log "$HOOK_LOG" "$@" \
        >>"$T/webhook.log" 2>&1 &
    HOOK_PID=$!
    PIDS+=($HOOK_PID)
    wait_for 20 "webhook target" test -s "$T/hook.port"
}

# stop_webhook: SIGTERM the target (it finishes open requests) and wait; new
# connections to its port are then refused.
stop_webhook() {
    kill -TERM "$HOOK_PID"
    wait "$HOOK_PID" || fail "webhook target exited with $?"
}

# restart_webhook [ARGS...]: a new target on the port of the stopped one,
# appending to the same HOOK_LOG (HOOK_URL stays valid).
restart_webhook() { _launch_webhook --port "$HOOK_PORT" "$@"; }

# write_config FILE: a config for the Kafka peer (this test's topics and
# group), the state and audit backends (STATE_BACKEND/STATE_URL,
# AUDIT_BACKEND/AUDIT_URL; memory by default; STATE_EXTRA and AUDIT_EXTRA
# inserted as is inside their groups), the webhook provider (named
# "webhook"; WEBHOOK_MAX_ATTEMPTS, WEBHOOK_BACKOFF_MS and
# WEBHOOK_BACKOFF_MAX_MS set its retries, WEBHOOK_EXTRA is inserted as is),
# WEBHOOK_TIMEOUT_MS its timeout per attempt (default 5000 ms), the log
# provider, and
# EXTRA_CONFIG appended as is. THREADS, MAX_IN_FLIGHT and
# SHUTDOWN_TIMEOUT_MS set the workers group (WORKERS_EXTRA is inserted as
# is inside it, e.g. "rebalance_timeout_ms = 2000;"). KAFKA_EXTRA
# is inserted as is inside the kafka group (kafka.* keys, e.g.
# "transactional_replies = true;"); KAFKA_PROPERTIES is appended to the
# librdkafka pass-through list (quoted strings, e.g. '"statistics.interval.ms=1000"').
write_config() {
    cat >"$1" <<CONF
kafka = { brokers = "$BOOT"; group_id = "$GROUP";
          topics = [ "$ACTIONS_TOPIC" ]; reply_topic = "$REPLY_TOPIC";
          dlq_topic = "$DLQ_TOPIC";
          properties = [ "session.timeout.ms=6000", "heartbeat.interval.ms=500"
                         ${KAFKA_PROPERTIES:+, $KAFKA_PROPERTIES} ];
          ${KAFKA_EXTRA:-} };
state = { backend = "${STATE_BACKEND:-memory}"; url = "${STATE_URL:-}";
          key_prefix = "${STATE_KEY_PREFIX:-$RUN_ID:}"; ${STATE_EXTRA:-} };
audit = { enabled = true; backend = "${AUDIT_BACKEND:-memory}"; url = "${AUDIT_URL:-}";
          ${AUDIT_EXTRA:-} };
workers = { threads = ${THREADS:-4}; max_in_flight = ${MAX_IN_FLIGHT:-2000};
            shutdown_timeout_ms = ${SHUTDOWN_TIMEOUT_MS:-20000}; ${WORKERS_EXTRA:-} };
dedup = { window_s = 3600; lease_ms = ${LEASE_MS:-10000}; };
providers = ( { name = "webhook"; type = "webhook"; url = "$HOOK_URL";
                timeout_ms = ${WEBHOOK_TIMEOUT_MS:-5000}; max_attempts = ${WEBHOOK_MAX_ATTEMPTS:-4};
                backoff_base_ms = ${WEBHOOK_BACKOFF_MS:-20};
                backoff_max_ms = ${WEBHOOK_BACKOFF_MAX_MS:-10000}; ${WEBHOOK_EXTRA:-} },
              { name = "log"; type = "log"; } );
${EXTRA_CONFIG:-}
CONF
}

# start_worker NAME CONFIG: run a worker in the background; sets WORKER_PID.
start_worker() {
    "$WORKER" --log-level "${LOG_LEVEL:-info}" run -c "$2" >"$T/$1.log" 2>&1 &
    WORKER_PID=$!
    PIDS+=($WORKER_PID)
}

# free_port: a TCP port of 127.0.0.1 nothing listens on (bound, then freed).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stop_within SECONDS PID: SIGTERM PID and wait, bounded, for it to exit;
# fails the test if it is still running after SECONDS. Sets STOP_RC (its
# exit status) and STOP_SECS (seconds it took, whole).
stop_within() {
    local secs=$1 pid=$2 t0=$SECONDS
    kill -TERM "$pid"
    local deadline=$((SECONDS + secs))
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "pid $pid still running ${secs}s after SIGTERM"
        sleep 0.1
    done
    STOP_RC=0
    wait "$pid" || STOP_RC=$?
    STOP_SECS=$((SECONDS - t0))
}

# stop_worker PID: SIGTERM and require a clean exit 0.
stop_worker() {
    kill -TERM "$1"
    local rc=0
    wait "$1" || rc=$?
    [ $rc -eq 0 ] || fail "worker exited with $rc after SIGTERM"
}

# read_topic TOPIC FORMAT: every message of TOPIC (kcat format string).
read_topic() {
    kcat -C -b "$BOOT" -t "$1" -e -q -f "$2" 2>/dev/null
}

count_topic() { read_topic "$1" 'x\n' | wc -l; }

# topic_has TOPIC N: true when TOPIC holds at least N messages.
topic_has() { [ "$(count_topic "$1")" -ge "$2" ]; }

# migrate_and_check CONF: the schema migrated (log $T/migrate.log) and the
# configuration accepted by `config check`, or the test fails saying which.
migrate_and_check() {
    "$WORKER" --log-level warn migrate -c "$1" >"$T/migrate.log" 2>&1 \
        || fail "migrate: $(cat "$T/migrate.log")"
    "$WORKER" config check -c "$1" >"$T/config-check.log" 2>&1 \
        || fail "config check: $(cat "$T/config-check.log")"
}

# start_settled_group PARTITIONS CONF NAME...: a worker NAME on CONF for each
# name (pids in GROUP_PIDS, in order), then wait until they hold the
# PARTITIONS partitions between them with the rebalances over
# (group_settled).
start_settled_group() {
    local parts=$1 conf=$2 w logs=()
    shift 2
    GROUP_PIDS=()
    for w in "$@"; do
        start_worker "$w" "$conf"
        GROUP_PIDS+=("$WORKER_PID")
        logs+=("$T/$w.log")
    done
    wait_for 60 "the $parts partitions settled at $*" group_settled "$parts" "${logs[@]}"
}

# workers_assigned NAME...: each worker NAME (log $T/NAME.log) has been
# assigned partitions.
workers_assigned() {
    local w
    for w in "$@"; do grep -qs "assigned" "$T/$w.log" || return 1; done
}

# hook_calls_at_least N: the webhook target logged at least N calls.
hook_calls_at_least() { [ "$(wc -l <"$HOOK_LOG")" -ge "$1" ]; }

# group_settled N LOG...: the workers that write LOG... hold all N
# partitions between them, each having last said "assigned" (the eager
# protocol revokes everything first): the rebalances after the last join
# are over. A worker's first "assigned" is not enough: the next member's
# join revokes it again, for seconds on the mock cluster.
group_settled() {
    local want=$1 sum=0 f last; shift
    for f in "$@"; do
        last=$(grep -E '\[consumer\] (assigned|revoked) ' "$f" | tail -1)
        case "$last" in *"] assigned "*) ;; *) return 1 ;; esac
        sum=$((sum + $(sed -n 's/.*, \([0-9]*\) in total.*/\1/p' <<<"$last")))
    done
    [ "$sum" -eq "$want" ]
}

# For tests that kill a worker while it calls (kill9_body.sh,
# schedule_kill9_body.sh, rules_lock_body.sh): each worker calls its own
# path of the webhook target (HOOK_URL/<name>), started with --peer-log
# PEER_LOG.
# write_worker_configs NAME...: $T/NAME.conf for each worker (write_config),
# calling its own path HOOK_URL/NAME; the first is also $T/worker.conf
# (produce_file reads it); then the schema is migrated.
write_worker_configs() {
    local base=$HOOK_URL w
    for w in "$@"; do
        HOOK_URL="$base/$w"
        write_config "$T/$w.conf"
    done
    HOOK_URL=$base
    cp "$T/$1.conf" "$T/worker.conf"
    migrate_and_check "$T/$1.conf"
}
# calls_of PATH N: the target has answered at least N calls made to PATH.
calls_of() { [ "$(awk -F'\t' -v p="$1" '$10 == p' "$PEER_LOG" | wc -l)" -ge "$2" ]; }
# in_flight_at PATH N: the target is handling at least N calls to PATH right
# now (its /stats). Read without a python start-up, so a kill can follow
# within a few ms.
in_flight_at() {
    local n
    n=$(curl -sf --max-time 2 "http://127.0.0.1:$HOOK_PORT/stats" |
        sed -n "s|.*\"$1\": \([0-9]*\).*|\1|p")
    [ "${n:-0}" -ge "$2" ]
}
# kill9_timed PID: SIGKILL PID and reap it; KILL_BEFORE and KILL_AFTER are
# the realtime clock (us) just before and just after kill(2), for
# kill9_check.py. bash's builtin kill and $EPOCHREALTIME: no fork between.
kill9_timed() {
    KILL_BEFORE=${EPOCHREALTIME//[.,]/}
    kill -KILL "$1"
    KILL_AFTER=${EPOCHREALTIME//[.,]/}
    wait "$1" 2>/dev/null || true
}
# kill9_check.py's window (the documented crash bound, docs/operations.md
# "Crashes"): the completion linger (COMPLETE_LINGER_MS in
# worker/pipeline_records.c) and the margin for what lies between the
# target's clock and the worker's record (kill9_body.sh says what it covers).
KILL9_LINGER_MS=2
KILL9_MARGIN_MS=20

# replies_distinct: how many distinct source messages (topic, partition, offset)
# the reply topic answers; has_distinct_replies N: at least N of them.
replies_distinct() { read_topic "$REPLY_TOPIC" '%s\n' | python3 -c '
import json, sys
print(len({(r["source"]["topic"], r["source"]["partition"], r["source"]["offset"]) for r in map(json.loads, filter(str.strip, sys.stdin))}))'; }
has_distinct_replies() { [ "$(replies_distinct)" -ge "$1" ]; }

# reply_sources ISOLATION: every reply's source ("partition offset", one a
# line), read with isolation.level=ISOLATION: read_committed leaves out the
# replies of aborted transactions (kafka.transactional_replies).
reply_sources() {
    kcat -C -b "$BOOT" -t "$REPLY_TOPIC" -X "isolation.level=$1" -e -q -f '%s\n' 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        r = json.loads(line)
        print(r["source"]["partition"], r["source"]["offset"])'
}
committed_replies_at_least() { [ "$(reply_sources read_committed | sort -u | wc -l)" -ge "$1" ]; }

# produce_file FILE: send each line (keyed by identity) with kcat-compatible
# keys computed by the worker's own producer.
produce_file() {
    "$WORKER" --log-level warn produce -c "$T/worker.conf" --brokers "$BOOT" <"$1" \
        >"$T/produce.log" 2>&1 || fail "produce failed: $(cat "$T/produce.log")"
}

# kill_in_call NAME PID: once worker NAME (calling the webhook on
# /hook/NAME) has a call in flight, kill it with SIGKILL and reap it.
kill_in_call() {
    local name=$1 pid=$2
    in_call() {
        local n
        n=$(curl -sf --max-time 2 "http://127.0.0.1:$HOOK_PORT/stats" |
            sed -n "s/.*\"\/hook\/$name\": \([0-9]*\).*/\1/p")
        [ "${n:-0}" -ge 1 ]
    }
    wait_for 60 "$name with a call in flight" in_call
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    echo "killed $name after $(wc -l <"$T/hook.peer") calls"
}

# committed_at_end GROUP TOPIC: every partition's committed offset equals its
# high watermark.
committed_at_end() {
    "$SUPPORT/kafka_offsets" -b "$BOOT" -g "$1" -t "$2" >"$T/offsets.txt" 2>>"$T/offsets.log" \
        || return 1
    awk '{ if ($3 > 0 && $2 != $3) bad = 1 } END { exit bad }' "$T/offsets.txt"
}

# check_exact_run EXECUTED DEDUPLICATED REJECTED: the reply topic holds
# exactly these outcomes (one per message, by source) and the webhook saw
# exactly one call per executed action.
check_exact_run() {
    read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
    python3 "$AW_SOURCE_DIR/tests/integration/check_replies.py" --executed "$1" \
        --deduplicated "$2" --rejected "$3" <"$T/replies.jsonl" || fail "reply outcomes"
    local calls distinct
    calls=$(wc -l <"$HOOK_LOG")
    distinct=$(cut -f1 "$HOOK_LOG" | sort -u | wc -l)
    [ "$calls" -eq "$1" ] && [ "$distinct" -eq "$1" ] \
        || fail "webhook: want $1 calls for $1 ids, got $calls for $distinct"
}

# metrics_url LOG: the /metrics URL of the worker that wrote LOG (its config
# has http.listen = "127.0.0.1:0"); empty until the endpoint is up.
metrics_url() {
    local port
    port=$(sed -n 's/.*serving \/metrics.*(port \([0-9]*\)).*/\1/p' "$1" | head -1)
    [ -z "$port" ] || echo "http://127.0.0.1:$port/metrics"
}

# metric NAME FILE: the value of the sample NAME (with its labels, exactly
# as printed) in the Prometheus text FILE; empty when absent.
metric() { awk -v m="$1" '$1 == m { print $2 }' "$2"; }

# postgres_audit_own_schema: this run's audit trail on PostgreSQL
# (AW_TEST_POSTGRES_URL) in a schema of its own (search_path in the URL),
# dropped at exit: this run's records only, which audit_wipe (defined
# here) empties, for check_replay_rebuilds. Sets AUDIT_BACKEND, AUDIT_URL.
postgres_audit_own_schema() {
    SCHEMA="awit_${RUN_ID//-/_}"
    psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$AW_TEST_POSTGRES_URL" -c "$1" >/dev/null; }
    psql_admin "CREATE SCHEMA $SCHEMA"
    CLEANUP_HOOKS+=("psql_admin 'DROP SCHEMA IF EXISTS $SCHEMA CASCADE'")
    local sep='?'
    case "$AW_TEST_POSTGRES_URL" in *\?*) sep='&' ;; esac
    AUDIT_BACKEND=postgres
    AUDIT_URL="${AW_TEST_POSTGRES_URL}${sep}options=-csearch_path%3D$SCHEMA"
    audit_wipe() { psql_admin "DROP SCHEMA $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"; }
}

# check_replay_rebuilds PATTERN...: the audit trail of this run (its own
# store, which the test's audit_wipe empties) is searched whole, wiped,
# migrated again and rebuilt by `replay` of the reply and DLQ topics: the
# rebuilt trail must hold the same records (audit_check.py same, payload
# aside: replies do not carry it) and a line matching each PATTERN (grep
# -F), so a test names the outcomes it wants rebuilt.
check_replay_rebuilds() {
    local p
    "$WORKER" --log-level warn audit search -c "$T/worker.conf" --all >"$T/audit1.jsonl" \
        2>"$T/search.err" || fail "audit search: $(cat "$T/search.err")"
    audit_wipe
    "$WORKER" --log-level warn migrate -c "$T/worker.conf" >>"$T/migrate.log" 2>&1 \
        || fail "migrate after the wipe"
    "$WORKER" replay -c "$T/worker.conf" --no-progress >"$T/replay.out" 2>"$T/replay.log" \
        || fail "replay: $(cat "$T/replay.out" "$T/replay.log")"
    "$WORKER" --log-level warn audit search -c "$T/worker.conf" --all >"$T/audit2.jsonl" \
        2>"$T/search.err" || fail "audit search after the replay: $(cat "$T/search.err")"
    python3 "$AW_SOURCE_DIR/tests/integration/audit_check.py" same "$T/audit1.jsonl" \
        "$T/audit2.jsonl" --ignore payload || fail "the replayed trail differs"
    for p in "$@"; do
        grep -qF -- "$p" "$T/audit2.jsonl" || fail "the replayed trail has no record with $p"
    done
    cat "$T/replay.out"
}

# check_until SECONDS WHAT CHECKER ARGS...: the end of a rules test. Read the
# reply topic into $T/replies.jsonl and run tests/integration/CHECKER --wait
# ARGS until it passes (a gap may be a reply not read yet; the last
# complaint is in $T/check.err), wait for the offsets committed at the end,
# then run it once more on the final topic, without --wait, its report in
# $T/check.out (the test fails if it fails).
check_until() {
    local secs=$1 what=$2 checker=$AW_SOURCE_DIR/tests/integration/$3
    shift 3
    _check_passes() {
        read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
        python3 "$checker" --wait "$@" >/dev/null 2>"$T/check.err"
    }
    wait_for "$secs" "$what (last check: $T/check.err)" _check_passes "$@"
    wait_for 60 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
    read_topic "$REPLY_TOPIC" '%s\n' >"$T/replies.jsonl"
    python3 "$checker" "$@" >"$T/check.out" || fail "$what: $(tail -5 "$T/check.out")"
}
