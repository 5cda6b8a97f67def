#!/usr/bin/env bash
# TLS and SASL on real servers (issue 22): a broker of the test's own with a
# SASL_SSL listener (SCRAM-SHA-512, server certificate from a test CA:
# scripts/kafka-broker.sh start-secure) and a PostgreSQL of its own with
# ssl=on, a certificate from the same kind of CA and a password (scram-sha-256
# over hostssl only). The worker runs with the documented properties and
# state + audit over sslmode=verify-full: 300 actions (30 repeating an id)
# executed and replied. Then each misconfiguration must make `acteon-worker
# run` exit non-zero at start, within a bound, naming the connection: a wrong
# CA for Kafka, a wrong SASL password, a wrong CA for PostgreSQL (state, then
# audit), a host name not in the PostgreSQL certificate, a wrong PostgreSQL
# password. No secret (SASL password,
# PostgreSQL password, the wrong password tried) appears in any worker log
# or in `config check` output.
#
# Needs the real broker's Java (skips where the other real-broker tests run
# on the mock cluster) and PostgreSQL's server binaries (skips when no
# server is installed, as the outage tests do).
source "$(dirname "$0")/lib.sh"
[ "$KAFKA_PEER" = real ] || { echo "SKIP: needs a real Kafka broker (Java); the peer is the mock cluster"; exit 77; }
# shellcheck source=scripts/servers/postgres.sh
source "$AW_SOURCE_DIR/scripts/servers/postgres.sh"
[ -x "$_pg_bin/postgres" ] || { echo "SKIP: PostgreSQL server not installed"; exit 77; }
die() { fail "$*"; }
# shellcheck source=scripts/lib/test-ca.sh
source "$AW_SOURCE_DIR/scripts/lib/test-ca.sh"

SASL_USER=aw-security
SASL_PASSWORD="sasl-pw-${T##*.}-$RANDOM"
PG_PASSWORD="pg-pw-${T##*.}-$RANDOM"
WRONG_PASSWORD="wrong-pw-${T##*.}-$RANDOM"
START_BOUND=60 # seconds a failing `run` may take to give up

# ---- the broker: SASL_SSL for the worker, PLAINTEXT on loopback for kcat/admin
KDIR="$T/kafka"
CLEANUP_HOOKS+=("'$AW_SOURCE_DIR/scripts/kafka-broker.sh' stop '$KDIR'")
AW_KAFKA_SCRAM_USER=$SASL_USER AW_KAFKA_SCRAM_PASSWORD=$SASL_PASSWORD \
    "$AW_SOURCE_DIR/scripts/kafka-broker.sh" start-secure "$KDIR" >"$T/broker-start.txt" 2>&1 \
    || fail "secure broker: $(tail -n 30 "$T/broker-start.txt")"
BOOT=$(cat "$KDIR/bootstrap-plaintext")
SECURE_BOOT=$(cat "$KDIR/bootstrap")
"$SUPPORT/kafka_admin" -b "$BOOT" -t "$ACTIONS_TOPIC:4" -t "$REPLY_TOPIC:4" -t "$DLQ_TOPIC:1" \
    >"$T/admin.txt" 2>&1 || fail "topics: $(cat "$T/admin.txt")"
pass "broker with SASL_SSL at $SECURE_BOOT"

# ---- PostgreSQL: ssl=on, password auth over TLS only
PGDIR="$T/pg"
CLEANUP_HOOKS+=("postgres_stop '$PGDIR'")
postgres_start "$PGDIR" >"$T/pg-start.txt" 2>&1 || fail "postgres: $(cat "$T/pg-start.txt")"
PGPORT=$(cat "$PGDIR/port")
test_cert "$T/tls-pg" postgres "IP:127.0.0.1,DNS:localhost"
install -m 600 "$T/tls-pg/postgres.pem" "$PGDIR/data/server.crt"
install -m 600 "$T/tls-pg/postgres.key" "$PGDIR/data/server.key"
[ "$(id -u)" != 0 ] || chown postgres: "$PGDIR/data/server.crt" "$PGDIR/data/server.key"
# Local socket trusted (the test's own admin); TCP only over TLS with a password.
cat >"$PGDIR/data/pg_hba.conf" <<HBA
local   all all                trust
hostssl all all 127.0.0.1/32   scram-sha-256
host    all all 127.0.0.1/32   reject
HBA
psql_sock() { psql -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$PGPORT" -U postgres -d acteon_test "$@"; }
psql_sock -c "ALTER SYSTEM SET ssl = on" -c "ALTER USER postgres PASSWORD '$PG_PASSWORD'" \
    >"$T/pg-ssl.txt" 2>&1 || fail "postgres ssl: $(cat "$T/pg-ssl.txt")"
_pg_as "$_pg_bin/pg_ctl" -D "$PGDIR/data" reload >>"$T/pg-ssl.txt" 2>&1 || fail "pg_ctl reload"
ssl_on() { [ "$(psql_sock -tAc 'SHOW ssl')" = on ]; }
wait_for 20 "PostgreSQL with ssl=on" ssl_on
pg_url() { # pg_url HOST CA [EXTRA]
    echo "postgres://postgres:$PG_PASSWORD@$1:$PGPORT/acteon_test?sslmode=verify-full&sslrootcert=$2${3:-}"
}
PG_URL=$(pg_url 127.0.0.1 "$T/tls-pg/ca.pem")
pass "PostgreSQL with ssl=on (scram-sha-256 over hostssl only) on 127.0.0.1:$PGPORT"

# ---- the worker's configuration: only the secure listener and verify-full
kafka_props() { # kafka_props PASSWORD CA
    echo "\"security.protocol=SASL_SSL\", \"sasl.mechanisms=SCRAM-SHA-512\",
          \"sasl.username=$SASL_USER\", \"sasl.password=$1\", \"ssl.ca.location=$2\""
}
secure_config() { # secure_config FILE SASL_PASSWORD KAFKA_CA STATE_URL [AUDIT_URL]
    local boot=$BOOT
    BOOT=$SECURE_BOOT KAFKA_PROPERTIES=$(kafka_props "$2" "$3") \
        STATE_BACKEND=postgres STATE_URL=$4 AUDIT_BACKEND=postgres AUDIT_URL=${5:-$4} \
        write_config "$1"
    BOOT=$boot
}
start_webhook
secure_config "$T/worker.conf" "$SASL_PASSWORD" "$KDIR/tls/ca.pem" "$PG_URL"
"$WORKER" --log-level warn migrate -c "$T/worker.conf" >"$T/migrate.log" 2>&1 \
    || fail "migrate: $(cat "$T/migrate.log")"
"$WORKER" config check -c "$T/worker.conf" >"$T/config-check.log" 2>&1 \
    || fail "config check: $(cat "$T/config-check.log")"
python3 "$AW_SOURCE_DIR/tests/integration/gen_actions.py" --total 300 --dups 30 --bad 0 \
    --ids "$T/ids.txt" >"$T/actions.jsonl"
# Produced over SASL_SSL too, by the worker's own producer with this config.
"$WORKER" --log-level warn produce -c "$T/worker.conf" --brokers "$SECURE_BOOT" \
    <"$T/actions.jsonl" >"$T/produce.log" 2>&1 || fail "produce: $(cat "$T/produce.log")"

start_worker worker "$T/worker.conf"
wait_for 90 "300 replies" topic_has "$REPLY_TOPIC" 300
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"
check_exact_run 270 30 0
audited=$(psql_sock -tAc "SELECT count(*) FROM aw_audit_records" 2>&1) || fail "audit count: $audited"
[ "$audited" -ge 300 ] || fail "audit records over verify-full: want >= 300, got $audited"
pass "300 actions over SASL_SSL + verify-full: 270 executed, 30 deduplicated, $audited audit records"

# ---- misconfigurations: `run` exits non-zero at start, naming the connection
# must_fail_at_start NAME PATTERN: run $T/NAME.conf; it must exit 2
# within START_BOUND seconds and its log must match PATTERN (grep -E).
must_fail_at_start() {
    local name=$1 pattern=$2 rc=0 t0=$SECONDS
    timeout -k 5 "$START_BOUND" "$WORKER" run -c "$T/$name.conf" >"$T/run-$name.log" 2>&1 || rc=$?
    [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$name: still running after ${START_BOUND}s (rc $rc)"
    # 2: a start-up failure (not 0, nor a crash or a sanitizer's report).
    [ $rc -eq 2 ] || fail "$name: run exited $rc, not 2: $(tail -n 20 "$T/run-$name.log")"
    grep -Eq "$pattern" "$T/run-$name.log" \
        || fail "$name: no line matching '$pattern' in $(tail -n 20 "$T/run-$name.log")"
    pass "$name: exit $rc after $((SECONDS - t0))s: $(grep -Em1 "$pattern" "$T/run-$name.log" | cut -c1-200)"
}
test_ca "$T/tls-other" # a CA that signed none of the servers
secure_config "$T/kafka-wrong-ca.conf" "$SASL_PASSWORD" "$T/tls-other/ca.pem" "$PG_URL"
must_fail_at_start kafka-wrong-ca 'kafka.*certificate verify failed'
secure_config "$T/kafka-wrong-password.conf" "$WRONG_PASSWORD" "$KDIR/tls/ca.pem" "$PG_URL"
must_fail_at_start kafka-wrong-password 'kafka.*SASL authentication failed'
secure_config "$T/pg-wrong-ca.conf" "$SASL_PASSWORD" "$KDIR/tls/ca.pem" \
    "$(pg_url 127.0.0.1 "$T/tls-other/ca.pem")"
must_fail_at_start pg-wrong-ca 'state backend postgres.*certificate verify failed'
# Connects to 127.0.0.1 (hostaddr) but verifies the certificate against a
# host name its SAN does not hold.
secure_config "$T/pg-wrong-host.conf" "$SASL_PASSWORD" "$KDIR/tls/ca.pem" \
    "$(pg_url not-in-san.invalid "$T/tls-pg/ca.pem" '&hostaddr=127.0.0.1')"
must_fail_at_start pg-wrong-host 'state backend postgres.*does not match host name'
pg_wrong_password_url=$(pg_url 127.0.0.1 "$T/tls-pg/ca.pem")
pg_wrong_password_url=${pg_wrong_password_url/":$PG_PASSWORD@"/":$WRONG_PASSWORD@"}
secure_config "$T/pg-wrong-password.conf" "$SASL_PASSWORD" "$KDIR/tls/ca.pem" "$pg_wrong_password_url"
must_fail_at_start pg-wrong-password 'state backend postgres.*password authentication failed'
# The audit backend's own start-up check: state fine, audit URL refused.
secure_config "$T/audit-wrong-ca.conf" "$SASL_PASSWORD" "$KDIR/tls/ca.pem" "$PG_URL" \
    "$(pg_url 127.0.0.1 "$T/tls-other/ca.pem")"
must_fail_at_start audit-wrong-ca 'audit backend postgres.*certificate verify failed'

# ---- no secret in any log line or in config check output
for secret in "$SASL_PASSWORD" "$PG_PASSWORD" "$WRONG_PASSWORD"; do
    if grep -lF -- "$secret" "$T"/*.log; then
        fail "a secret appears in the logs above"
    fi
done
grep -q 'sasl.password=\*\*\*' "$T/config-check.log" \
    || fail "config check does not show the masked sasl.password: $(cat "$T/config-check.log")"
pass "no secret in $(ls "$T"/*.log | wc -l) logs (worker runs, config check, migrate, produce)"
