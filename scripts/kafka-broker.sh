#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, one node, 127.0.0.1) for the integration
# tests, assembled from Maven Central jars (tests/kafka/pom.xml). Needs Java 17
# and Maven on PATH. Test infrastructure only.
#
#   scripts/kafka-broker.sh fetch                      jars -> build-kafka/libs (cached)
#   scripts/kafka-broker.sh start DIR                  format + start; writes DIR/bootstrap
#   scripts/kafka-broker.sh start-secure DIR           the same with a SASL_SSL listener (below)
#   scripts/kafka-broker.sh create-topic DIR NAME PARTS
#   scripts/kafka-broker.sh stop DIR                   SIGTERM, bounded wait (then SIGKILL)
#
# start writes DIR/server.properties, DIR/data (log.dirs), DIR/kafka.log,
# DIR/kafka.pid and, once the broker says it started, DIR/bootstrap
# ("127.0.0.1:PORT"). Ports are chosen free at run time. Every wait is a poll
# with a deadline.
#
# AW_KAFKA_HOST=ADDR (default 127.0.0.1): the client listener binds ADDR and
# advertises it, and DIR/bootstrap says ADDR:PORT. The partition tests
# (tests/partition/) set a veth address so a worker in another network
# namespace can reach the broker; the controller listener stays on loopback.
#
# start-secure: the client listener is SASL_SSL (SCRAM-SHA-512) with a server
# certificate from a test CA made in DIR/tls (scripts/lib/test-ca.sh: SAN
# IP:127.0.0.1 and DNS:localhost); clients trust DIR/tls/ca.pem. The one
# SCRAM user, AW_KAFKA_SCRAM_USER / AW_KAFKA_SCRAM_PASSWORD (both required),
# is written into the metadata at format time (KRaft). A second, PLAINTEXT
# listener on loopback (DIR/bootstrap-plaintext) serves inter-broker traffic
# and the tests' admin tools; DIR/bootstrap names the SASL_SSL one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pom="$root/tests/kafka/pom.xml"
libs=${AW_KAFKA_LIBS:-$root/build-kafka/libs}
start_timeout=${AW_KAFKA_START_TIMEOUT:-90}
host=${AW_KAFKA_HOST:-127.0.0.1}
stop_timeout=${AW_KAFKA_STOP_TIMEOUT:-30}
secure=false # start-secure sets it for cmd_start

die() { echo "kafka-broker: $*" >&2; exit 1; }
usage() {
    sed -n '2,/^set -euo/{/^set/!p}' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

need_tools() {
    command -v java >/dev/null || die "java not found on PATH (Java 17 needed)"
}

# shellcheck source=scripts/lib/jvm-server.sh
source "$root/scripts/lib/jvm-server.sh"
# shellcheck source=scripts/lib/test-ca.sh
source "$root/scripts/lib/test-ca.sh"

# A JVM for the short-lived CLI tools: small heap, quick start, quiet logging.
tool_java() {
    java -Xms32m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
        -Dlog4j.configuration="file:$root/tests/kafka/tools-log4j.properties" \
        -cp "$libs/*" "$@"
}

cmd_fetch() {
    fetch_jars kafka-broker "$pom" "$libs" 'kafka_2.13-*.jar'
}

# secure_setup DIR: the test CA, the broker's certificate and its PKCS12
# keystore in DIR/tls (the keystore password is a throw-away of the test's).
secure_setup() {
    local tls=$1/tls
    [ -n "${AW_KAFKA_SCRAM_USER:-}" ] && [ -n "${AW_KAFKA_SCRAM_PASSWORD:-}" ] \
        || die "start-secure needs AW_KAFKA_SCRAM_USER and AW_KAFKA_SCRAM_PASSWORD"
    command -v keytool >/dev/null || die "keytool not found on PATH (it comes with the JRE)"
    test_cert "$tls" broker "IP:127.0.0.1,DNS:localhost"
    rm -f "$tls/broker.p12"
    openssl pkcs12 -export -in "$tls/broker.pem" -inkey "$tls/broker.key" -name broker \
        -passout pass:test-keystore -out "$tls/broker.p12" >"$tls/p12.log" 2>&1 \
        || die "openssl pkcs12 failed: $(cat "$tls/p12.log")"
    # keytool reads it back: a keystore Java cannot open fails here, not in
    # the broker's start-up log.
    keytool -list -storetype PKCS12 -keystore "$tls/broker.p12" -storepass test-keystore \
        >"$tls/keytool.log" 2>&1 || die "keytool cannot read the keystore: $(cat "$tls/keytool.log")"
}

# secure_properties DIR SASL_PORT PLAIN_PORT: turn DIR/server.properties into
# the SASL_SSL + PLAINTEXT layout of start-secure.
secure_properties() {
    local dir=$1 sport=$2 pport=$3 f=$1/server.properties
    sed -i -e "s|^listeners=PLAINTEXT://[^,]*,|listeners=SASL_SSL://$host:$sport,PLAINTEXT://127.0.0.1:$pport,|" \
        -e "s|^advertised.listeners=.*|advertised.listeners=SASL_SSL://$host:$sport,PLAINTEXT://127.0.0.1:$pport|" \
        -e "s|^listener.security.protocol.map=.*|&,SASL_SSL:SASL_SSL|" "$f"
    cat >>"$f" <<PROPS
# start-secure: SASL_SSL with SCRAM-SHA-512 for clients (kafka-broker.sh)
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/broker.p12
ssl.keystore.password=test-keystore
ssl.client.auth=none
PROPS
}

cmd_start_secure() {
    [ $# -eq 1 ] || usage
    need_tools
    local dir
    dir=$(abs_dir "$1")
    secure_setup "$dir"
    secure=true
    cmd_start "$dir"
}

cmd_start() {
    [ $# -eq 1 ] || usage
    need_tools
    local dir pid port cport pport id attempt rc scram=()
    dir=$(abs_dir "$1")
    if [ -f "$dir/kafka.pid" ] && alive "$(cat "$dir/kafka.pid")"; then
        die "a broker is already running from $dir (pid $(cat "$dir/kafka.pid"))"
    fi
    cmd_fetch >/dev/null
    rm -f "$dir/bootstrap"
    for attempt in 1 2 3; do
        read -r port cport pport < <(free_ports 3) || true
        [ -n "${pport:-}" ] || die "cannot pick free ports (python3 needed)"
        rm -rf "$dir/data"
        sed -e "s|@HOST@|$host|g" -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$cport|g" -e "s|@LOG_DIR@|$dir/data|g" \
            "$root/tests/kafka/server.properties.in" >"$dir/server.properties"
        if $secure; then
            secure_properties "$dir" "$port" "$pport"
            scram=(--add-scram "SCRAM-SHA-512=[name=$AW_KAFKA_SCRAM_USER,password=$AW_KAFKA_SCRAM_PASSWORD]")
        fi
        id=$(tool_java kafka.tools.StorageTool random-uuid) || die "StorageTool random-uuid failed"
        tool_java kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" "${scram[@]}" \
            >"$dir/format.log" 2>&1 || die "StorageTool format failed: $(cat "$dir/format.log")"
        nohup java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
            -Dlog4j.configuration="file:$root/tests/kafka/log4j.properties" \
            -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
            </dev/null >"$dir/kafka.log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/kafka.pid"
        # Ready when KafkaRaftServer logs "[KafkaRaftServer nodeId=1] Kafka
        # Server started" (3.9.2, KRaft): an open port is not enough.
        stop_on_timeout() { cmd_stop "$dir"; }
        rc=0
        await_start kafka-broker "$pid" "$dir/kafka.log" "$start_timeout" "$attempt" \
            grep -q 'KafkaRaftServer nodeId=1\] Kafka Server started' "$dir/kafka.log" || rc=$?
        [ $rc -eq 2 ] && continue
        ! $secure || echo "127.0.0.1:$pport" >"$dir/bootstrap-plaintext"
        echo "$host:$port" >"$dir/bootstrap.tmp"
        mv "$dir/bootstrap.tmp" "$dir/bootstrap"
        echo "kafka-broker: started pid $pid at $host:$port (cluster $id)"
        return 0
    done
    die "could not find free ports"
}

cmd_create_topic() {
    [ $# -eq 3 ] || usage
    need_tools
    local dir
    dir=$(abs_dir "$1")
    [ -s "$dir/bootstrap" ] || die "no broker bootstrap in $dir"
    local boot=$dir/bootstrap
    [ ! -s "$dir/bootstrap-plaintext" ] || boot=$dir/bootstrap-plaintext # start-secure
    tool_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$(cat "$boot")" \
        --create --if-not-exists --topic "$2" --partitions "$3" --replication-factor 1
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    stop_server kafka-broker "$1" kafka.pid bootstrap
    rm -f "$1/bootstrap-plaintext"
}

jvm_main "$@"
