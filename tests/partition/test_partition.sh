#!/usr/bin/env bash
# Issue 18: nothing executed twice under partitions. Three workers share one
# state backend (memory audit) on a real Kafka broker, with a webhook that
# logs every call with its caller's address. Worker w3 runs in its own
# network namespace (tests/partition/netns.sh); in the middle of the run it
# is cut off for PART_CUT_S (15 s) while it can still reach the webhook, then
# the cut heals. check_calls.py then counts lost messages, messages with two
# outcomes, repeated calls without a higher fencing token, and the isolated
# worker's calls after its lease could no longer be renewed.
#
#   test_partition.sh BACKEND [VARIANT...]   (default: every variant)
#   BACKEND: redis | postgres | dynamodb (dynalite)
#     both        w3 cut from the broker and the state backend, both directions
#     state       w3 cut from the state backend only
#     broker      w3 cut from the broker only (its leases stay renewable)
#     oneway-out  w3 -> host dropped (broker and state), host -> w3 passes
#     oneway-in   host -> w3 dropped (broker and state), w3 -> host passes:
#                 its requests (heartbeats, lease renewals) still arrive
#
# Starts its own state server and Kafka broker (scripts/kafka-broker.sh with
# AW_KAFKA_HOST) on the veth's host address (and 127.0.0.1, except dynalite,
# which binds one address), so nothing here touches the servers
# scripts/test.sh shares. Needs root; skips (77) when it cannot create a
# network namespace. Exit 0 only when every variant had no violation.
# Dating a token (was it issued before the cut?): Redis and PostgreSQL draw
# every token from one counter (read at the cut: --token-at-cut); DynamoDB
# draws them per identity, so ddb_tokens.py scans every identity's token at
# the cut instead (--tokens-at-cut; README.md).
# Knobs (env): PART_TOTAL, PART_DUPS, PART_CUT_S, PART_LEASE_MS,
# PART_DELAY_MS, PART_THREADS, PART_CONCURRENCY, PART_RESULTS (a file the
# per-variant counts are appended to as JSON lines).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# lib.sh announces "kafka peer: mock" (no broker exists yet when it is
# sourced); the test starts its own broker below and switches to it.
source "$HERE/../integration/lib.sh"
source "$HERE/netns.sh"

BACKEND=${1:-}
case "$BACKEND" in
    redis|postgres|dynamodb) shift ;;
    *) fail "usage: test_partition.sh redis|postgres|dynamodb [VARIANT...] (got '$BACKEND')" ;;
esac
ALL_VARIANTS=(both state broker oneway-out oneway-in)
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("${ALL_VARIANTS[@]}")
for v in "${VARIANTS[@]}"; do
    [[ " ${ALL_VARIANTS[*]} " == *" $v "* ]] || fail "unknown variant '$v' (${ALL_VARIANTS[*]})"
done

# The same 3,000 on every backend: dynalite (one Node thread) keeps up with
# the webhook's pace (a DynamoDB variant takes 30-40 s, as on Redis). Half
# of it is produced before the cut, and the cut waits for w3 to make 50
# calls after the rebalance: with 1,500 (750 before the cut) w3 once had
# only 43 calls left to make and the run timed out.
TOTAL=${PART_TOTAL:-3000}
DUPS=${PART_DUPS:-300}
CUT_S=${PART_CUT_S:-15}
LEASE_MS=${PART_LEASE_MS:-5000}
# Calls slow enough (200 ms; 2 threads x 8 in flight = 80 calls/s a worker)
# that w3 holds claimed, unfinished work when the cut starts and the run
# outlasts the cut.
DELAY_MS=${PART_DELAY_MS:-200}
THREADS=${PART_THREADS:-2}
CONCURRENCY=${PART_CONCURRENCY:-8}
MAX_IN_FLIGHT=200
NSN=1
HOST_IP=$(ns_host_ip $NSN)
ISO_IP=$(ns_ip $NSN)

ns_require
# Every process started from here on gets `9>&-`: the lock's descriptor
# must not outlive this shell in a daemon (netns.sh, ns_lock).
ns_lock
ns_create $NSN

# ---- the state server, on 127.0.0.1 and the veth's host address ----------
# Every worker, host or namespace, reaches it at $HOST_IP; the test itself
# reads the token counter through 127.0.0.1 (or $HOST_IP for dynalite).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

redis_up() { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }
start_redis() {
    mkdir -p "$T/redis"
    STATE_PORT=$(free_port)
    # Protected mode would refuse every client not on loopback (the veth
    # address included); the server listens on loopback and the private /30 only.
    redis-server --port "$STATE_PORT" --bind "127.0.0.1 $HOST_IP" --protected-mode no \
        --daemonize yes --save '' \
        --appendonly no --dir "$T/redis" --pidfile "$T/redis/redis.pid" \
        --logfile "$T/redis/redis.log" >/dev/null 9>&-
    CLEANUP_HOOKS+=("timeout 5 redis-cli -p $STATE_PORT shutdown nosave")
    wait_for 30 "redis on port $STATE_PORT" redis_up "$STATE_PORT"
}

# PostgreSQL 15 as scripts/servers/postgres.sh starts it (initdb as the
# postgres user, trust, no fsync), but listening on the veth address too,
# with pg_hba trusting the namespace's /30.
start_postgres() {
    # shellcheck source=scripts/servers/postgres.sh
    source "$AW_SOURCE_DIR/scripts/servers/postgres.sh"
    PGDIR="$T/pg"
    mkdir -p "$PGDIR"
    [ -x "$_pg_bin/postgres" ] || fail "PostgreSQL 15 server binaries not found in $_pg_bin"
    _pg_open_path "$PGDIR" || fail "cannot make $PGDIR reachable for the postgres user"
    _pg_as "$_pg_bin/initdb" -D "$PGDIR/data" -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
        -U postgres >"$T/pg-initdb.log" 2>&1 || fail "initdb: $(cat "$T/pg-initdb.log")"
    echo "host all all ${HOST_IP%.*}.0/30 trust" >>"$PGDIR/data/pg_hba.conf"
    local attempt
    for attempt in 1 2 3; do
        STATE_PORT=$(free_port)
        if _pg_as "$_pg_bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 30 \
            -o "-p $STATE_PORT -k $PGDIR -c listen_addresses=127.0.0.1,$HOST_IP -c fsync=off \
                -c full_page_writes=off -c max_connections=200" \
            start >"$T/pg-start.log" 2>&1 9>&-; then
            break
        fi
        grep -q "could not bind\|Address already in use" "$PGDIR/postgres.log" 2>/dev/null \
            || fail "postgres: $(cat "$T/pg-start.log" "$PGDIR/postgres.log" 2>/dev/null)"
        [ "$attempt" -lt 3 ] || fail "postgres: no free port after 3 attempts"
    done
    CLEANUP_HOOKS+=("postgres_stop $PGDIR")
    "$_pg_bin/psql" -X -q -h 127.0.0.1 -p "$STATE_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -c "CREATE DATABASE acteon_test" >"$T/pg-db.log" 2>&1 \
        || fail "create database: $(cat "$T/pg-db.log")"
}
# dynalite as scripts/servers/dynalite.sh starts it, but on the veth address
# (its --host takes one address; the host workers use it too).
start_dynalite() {
    # shellcheck source=scripts/servers/dynalite.sh
    source "$AW_SOURCE_DIR/scripts/servers/dynalite.sh"
    _dynalite_install "$AW_SOURCE_DIR" || fail "cannot install dynalite"
    STATE_PORT=$(free_port)
    mkdir -p "$T/dynalite"
    node "$AW_SOURCE_DIR/build-dynalite/node_modules/dynalite/cli.js" --host "$HOST_IP" \
        --port "$STATE_PORT" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
        >"$T/dynalite.log" 2>&1 </dev/null 9>&- &
    echo $! >"$T/dynalite/dynalite.pid"
    PIDS+=($!)
    CLEANUP_HOOKS+=("dynalite_stop $T/dynalite")
    wait_for 20 "dynalite on $HOST_IP:$STATE_PORT" _dynalite_up "$HOST_IP:$STATE_PORT"
}

case "$BACKEND" in
    redis) start_redis ;;
    postgres) start_postgres ;;
    dynamodb) start_dynalite ;;
esac
wait_for 10 "$BACKEND reachable from the namespace" ns_connects $NSN "$STATE_PORT"

mkdir -p "$T/kafka"
AW_KAFKA_HOST=$HOST_IP "$AW_SOURCE_DIR/scripts/kafka-broker.sh" start "$T/kafka" \
    >"$T/kafka-start.log" 2>&1 9>&- || fail "kafka broker: $(tail -20 "$T/kafka-start.log")"
CLEANUP_HOOKS+=("'$AW_SOURCE_DIR/scripts/kafka-broker.sh' stop '$T/kafka'")
# Real broker from here on (lib.sh chose the mock: none existed at source time).
KAFKA_PEER=real
AW_KAFKA_BOOTSTRAP=$(cat "$T/kafka/bootstrap")
KAFKA_PORT=${AW_KAFKA_BOOTSTRAP##*:}
wait_for 10 "the broker reachable from the namespace" ns_connects $NSN "$KAFKA_PORT"
echo "$BACKEND $HOST_IP:$STATE_PORT, kafka $AW_KAFKA_BOOTSTRAP, isolated worker at $ISO_IP"

# Workers of the current variant; stopped first at exit (before the hooks
# that stop the servers, so a failed run does not leave them waiting on a
# broker that is gone).
RUNNING=()
stop_running() {
    local pid rc deadline
    for pid in "${RUNNING[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
    deadline=$((SECONDS + 30))
    for pid in "${RUNNING[@]:-}"; do
        [ -n "$pid" ] || continue
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { echo "worker $pid still running 30 s after SIGTERM: killed"; kill -KILL "$pid"; }
        rc=0; wait "$pid" 2>/dev/null || rc=$?
        [ $rc -eq 0 ] || echo "note: worker $pid exited with $rc"
    done
    RUNNING=()
}
CLEANUP_HOOKS=("stop_running" "${CLEANUP_HOOKS[@]}")

now_ms() { date +%s%3N; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
iso_calls() { awk -F'\t' -v ip="$ISO_IP" '$6 == ip' "$PEER_LOG" | wc -l; }
iso_calls_at_least() { [ "$(iso_calls)" -ge "$1" ]; }
assigned() { grep -q "assigned [1-9][0-9]* partition" "$T/$1.log" 2>/dev/null; }
distinct_replies() {
    read_topic "$REPLY_TOPIC" '%s\n' | python3 -c '
import json, sys
print(len({(r["source"]["partition"], r["source"]["offset"]) for r in map(json.loads, filter(str.strip, sys.stdin))}))'
}

# poll_until SECONDS COMMAND...: like wait_for, but a timeout is reported
# and the run goes on: the checker then counts what is missing.
poll_until() {
    local secs=$1; shift
    local deadline=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || { echo "note: not reached within ${secs}s: $*"; return 1; }
        sleep 0.5
    done
}
replies_at_least() { [ "$(distinct_replies)" -ge "$1" ]; }

# quiet SECONDS: the call log has not grown for SECONDS. After the heal the
# isolated worker may still be working through what it held; the run ends
# once no call has arrived for a while (bounded by the caller's poll).
QUIET_N=-1; QUIET_SINCE=0
quiet() {
    local n
    n=$(lines "$PEER_LOG")
    if [ "$n" -ne "$QUIET_N" ]; then QUIET_N=$n; QUIET_SINCE=$SECONDS; return 1; fi
    [ $((SECONDS - QUIET_SINCE)) -ge "$1" ]
}

RESULTS=()
run_variant() {
    local v=$1 dir ports state_cut="" cut_start heal_start heal_ms rc=0 half token_at_cut
    local variant_t0
    variant_t0=$(( $(now_ms) / 1000 ))
    echo "==== variant $v ($BACKEND)"
    case "$v" in
        both) dir=both; ports="$STATE_PORT $KAFKA_PORT"; state_cut=1 ;;
        state) dir=both; ports="$STATE_PORT"; state_cut=1 ;;
        broker) dir=both; ports="$KAFKA_PORT" ;;
        oneway-out) dir=out; ports="$STATE_PORT $KAFKA_PORT"; state_cut=1 ;;
        oneway-in) dir=in; ports="$STATE_PORT $KAFKA_PORT"; state_cut=1 ;;
    esac
    # Own topics, group, key prefix and call logs per variant.
    ACTIONS_TOPIC="aw-part.$RUN_ID.$v.actions"
    REPLY_TOPIC="aw-part.$RUN_ID.$v.replies"
    DLQ_TOPIC="aw-part.$RUN_ID.$v.dlq"
    GROUP="aw-part.$RUN_ID.$v.workers"
    STATE_KEY_PREFIX="$RUN_ID:$v:"
    start_kafka "$ACTIONS_TOPIC:6" "$REPLY_TOPIC:3" "$DLQ_TOPIC:1"

    HOOK_LOG="$T/$v.calls"
    PEER_LOG="$T/$v.peers"
    : >"$HOOK_LOG"
    : >"$PEER_LOG"
    _launch_webhook --bind "$HOST_IP" --peer-log "$PEER_LOG" --delay-ms "$DELAY_MS" 9>&-
    HOOK_PORT=$(cat "$T/hook.port")
    HOOK_URL="http://$HOST_IP:$HOOK_PORT/hook"
    wait_for 10 "the webhook reachable from the namespace" ns_connects $NSN "$HOOK_PORT"

    STATE_BACKEND=$BACKEND
    case "$BACKEND" in
        redis) STATE_URL="redis://$HOST_IP:$STATE_PORT/0" ;;
        postgres) STATE_URL="postgres://postgres@$HOST_IP:$STATE_PORT/acteon_test" ;;
        # Dummy credentials: dynalite checks none. One table per variant.
        dynamodb) STATE_URL="dynamodb://aw-test:aw-test@us-east-1/aw_part_${v//-/_}?endpoint=http://$HOST_IP:$STATE_PORT" ;;
    esac
    WEBHOOK_EXTRA="max_concurrency = $CONCURRENCY;"
    write_config "$T/$v.conf"
    # The schema (PostgreSQL tables, DynamoDB table) comes from `migrate`,
    # as a deploy job runs it (a no-op for Redis).
    "$WORKER" --log-level warn migrate -c "$T/$v.conf" >"$T/$v.migrate.log" 2>&1 9>&- \
        || fail "migrate: $(cat "$T/$v.migrate.log")"

    python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total "$TOTAL" --dups "$DUPS" \
        --bad 0 --ids "$T/$v.ids" >"$T/$v.actions.jsonl"
    half=$((TOTAL / 2))
    head -n "$half" "$T/$v.actions.jsonl" >"$T/$v.batch1.jsonl"
    tail -n +"$((half + 1))" "$T/$v.actions.jsonl" >"$T/$v.batch2.jsonl"
    "$WORKER" --log-level warn produce -c "$T/$v.conf" --brokers "$AW_KAFKA_BOOTSTRAP" \
        <"$T/$v.batch1.jsonl" >"$T/$v.produce.log" 2>&1 || fail "produce: $(cat "$T/$v.produce.log")"

    # w3 (isolated) first, so it surely holds partitions and claims; then
    # the two host workers join and the group rebalances.
    ns_start_worker $NSN "$v-w3" "$T/$v.conf"; RUNNING+=($WORKER_PID)
    wait_for 60 "w3 assigned" assigned "$v-w3"
    start_worker "$v-w1" "$T/$v.conf" 9>&-; RUNNING+=($WORKER_PID)
    start_worker "$v-w2" "$T/$v.conf" 9>&-; RUNNING+=($WORKER_PID)
    wait_for 60 "w1 and w2 assigned" eval "assigned $v-w1 && assigned $v-w2"
    # Cut while w3 is busy: 50 more calls of its own after the group formed.
    local base
    base=$(iso_calls)
    wait_for 120 "w3 calling after the rebalance" iso_calls_at_least $((base + 50))

    cut_start=$(now_ms)
    # shellcheck disable=SC2086
    ns_cut $NSN "$dir" $ports
    # The token counter now: a token up to it was issued before the cut, so
    # w3 using one after the heal used a lease it could not renew
    # (check_calls.py --token-at-cut). Redis draws every token from one key
    # per prefix, PostgreSQL from one sequence (migrations/postgres/
    # 0001_state.sql); DynamoDB per identity (backends/state/dynamodb/
    # ddb_request.c, aw_ddb_build_acquire): ddb_tokens.py scans the table
    # for every identity's token (--tokens-at-cut).
    token_args=()
    case "$BACKEND" in
        redis) token_at_cut=$(timeout 5 redis-cli -h 127.0.0.1 -p "$STATE_PORT" GET "${STATE_KEY_PREFIX}f:tokens") ;;
        postgres) token_at_cut=$(timeout 5 "$_pg_bin/psql" -X -q -h 127.0.0.1 -p "$STATE_PORT" -U postgres \
            -d acteon_test -tAc 'SELECT last_value FROM aw_state_tokens') ;;
        dynamodb)
            timeout 30 python3 "$HERE/ddb_tokens.py" --endpoint "http://$HOST_IP:$STATE_PORT" \
                --table "aw_part_${v//-/_}" --prefix "$STATE_KEY_PREFIX" >"$T/$v.tokens_at_cut.json" \
                2>"$T/$v.ddb_tokens.log" || fail "cannot scan the tokens at the cut: $(cat "$T/$v.ddb_tokens.log")"
            token_at_cut=per-identity ;;
    esac
    if [ "$token_at_cut" = per-identity ]; then
        token_args=(--tokens-at-cut "$T/$v.tokens_at_cut.json")
        echo "tokens at the cut: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/$v.tokens_at_cut.json") identities"
    else
        [[ $token_at_cut =~ ^[0-9]+$ ]] || fail "cannot read the token counter: '$token_at_cut'"
        token_args=(--token-at-cut "$token_at_cut")
    fi
    for p in $ports; do ns_blocked $NSN "$p" || fail "port $p still reachable from the namespace"; done
    ns_connects $NSN "$HOOK_PORT" || fail "the cut took the webhook too"
    echo "cut ($dir: ports $ports) at $cut_start, w3 had made $(iso_calls) calls"
    # The rest of the work arrives during the cut: the other two have it
    # to do, and w3's partitions move to them after session.timeout.ms.
    "$WORKER" --log-level warn produce -c "$T/$v.conf" --brokers "$AW_KAFKA_BOOTSTRAP" \
        <"$T/$v.batch2.jsonl" >>"$T/$v.produce.log" 2>&1 || fail "produce: $(cat "$T/$v.produce.log")"
    # The partition lasts CUT_S: its length is the experiment, not a wait
    # for something to happen.
    while [ "$(now_ms)" -lt $((cut_start + CUT_S * 1000)) ]; do sleep 0.2; done
    heal_start=$(now_ms)
    ns_heal $NSN
    heal_ms=$(now_ms)
    for p in $ports; do wait_for 10 "port $p reachable again" ns_connects $NSN "$p"; done
    echo "healed at $heal_ms ($((heal_ms - cut_start)) ms; the heal took $((heal_ms - heal_start)) ms), w3 had made $(iso_calls) calls"

    poll_until 300 replies_at_least "$TOTAL" || true
    poll_until 60 committed_at_end "$GROUP" "$ACTIONS_TOPIC" || true
    QUIET_N=-1
    poll_until 120 quiet 5 || true
    stop_running
    stop_webhook

    read_topic "$REPLY_TOPIC" '%s\n' >"$T/$v.replies.jsonl"
    python3 "$HERE/check_calls.py" --name "$v" --replies "$T/$v.replies.jsonl" \
        --calls "$PEER_LOG" --ids "$T/$v.ids" --messages "$TOTAL" --isolated-peer "$ISO_IP" \
        --cut-start-ms "$cut_start" --heal-start-ms "$heal_start" --heal-ms "$heal_ms" --lease-ms "$LEASE_MS" \
        ${state_cut:+--state-cut} "${token_args[@]}" --json "$T/$v.counts.json" || rc=$?
    grep -c "lease lost" "$T/$v-w3.log" | sed "s/^/[$v]   w3 'lease lost' log lines: /" || true
    if [ -n "${PART_RESULTS:-}" ]; then
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["date"]=sys.argv[2]; d["cut"]=sys.argv[3]; d["backend"]=sys.argv[4]; print(json.dumps(d))' \
            "$T/$v.counts.json" "$(date -u +%FT%TZ)" "$dir:$ports" "$BACKEND" >>"$PART_RESULTS"
    fi
    echo "[$v] variant took $(( $(now_ms) / 1000 - variant_t0 )) s"
    RESULTS+=("$v:$rc")
}

for v in "${VARIANTS[@]}"; do run_variant "$v"; done

echo "==== summary"
status=0
for r in "${RESULTS[@]}"; do
    v=${r%%:*}; rc=${r#*:}
    if [ "$rc" -eq 0 ]; then echo "$v: no violation"; else echo "$v: VIOLATIONS"; status=1; fi
done
[ $status -eq 0 ] || fail "the promise does not hold under partitions (issue 18); counts above, logs in $T"
pass "no violation in: ${VARIANTS[*]}"
