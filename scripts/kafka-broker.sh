#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, one node, 127.0.0.1) for the integration
# tests, assembled from Maven Central jars (tests/kafka/pom.xml). Needs Java 17
# and Maven on PATH. Test infrastructure only.
#
#   scripts/kafka-broker.sh fetch                      jars -> build-kafka/libs (cached)
#   scripts/kafka-broker.sh start DIR                  format + start; writes DIR/bootstrap
#   scripts/kafka-broker.sh start-secure DIR           the same with a SASL_SSL listener (below)
#   scripts/kafka-broker.sh create-topic DIR NAME PARTS [RF [KEY=VALUE...]]
#   scripts/kafka-broker.sh stop DIR                   SIGTERM, bounded wait (then SIGKILL)
#
# A three-node cluster (each node broker + controller, one shared KRaft
# quorum; replicated internal topics, min.insync.replicas=2):
#   scripts/kafka-broker.sh start-cluster DIR [N]      N nodes (default 3) in DIR/nodeI
#   scripts/kafka-broker.sh stop-cluster DIR           stop every node
#   scripts/kafka-broker.sh kill DIR NODE              SIGKILL node NODE (1..N)
#   scripts/kafka-broker.sh term DIR NODE              controlled shutdown (SIGTERM, bounded)
#   scripts/kafka-broker.sh restart DIR NODE           start NODE again on its own data
#   scripts/kafka-broker.sh leader DIR TOPIC PART      node id leading TOPIC's partition PART
#   scripts/kafka-broker.sh controller DIR             node id of the active controller
#   scripts/kafka-broker.sh topic-config DIR NAME KEY=VALUE|-KEY   set or remove a topic config
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
# AW_KAFKA_PROPERTIES="KEY=VALUE ..." (start, start-secure): broker
# properties appended to the template's, which they override (later keys
# win in a Java properties file). bench/broker.sh gives Kafka's default
# segment size back this way (the template's 16 MiB segments suit tests).
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

# launch_node DIR HEAP_OPTION...: run kafka.Kafka on DIR/server.properties in
# the background (log DIR/kafka.log, pid DIR/kafka.pid).
launch_node() {
    local dir=$1
    shift
    nohup java "$@" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$root/tests/kafka/log4j.properties" \
        -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
        </dev/null >"$dir/kafka.log" 2>&1 &
    echo $! >"$dir/kafka.pid"
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
        for kv in ${AW_KAFKA_PROPERTIES:-}; do
            printf '%s\n' "$kv" >>"$dir/server.properties"
        done
        if $secure; then
            secure_properties "$dir" "$port" "$pport"
            scram=(--add-scram "SCRAM-SHA-512=[name=$AW_KAFKA_SCRAM_USER,password=$AW_KAFKA_SCRAM_PASSWORD]")
        fi
        id=$(tool_java kafka.tools.StorageTool random-uuid) || die "StorageTool random-uuid failed"
        tool_java kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" "${scram[@]}" \
            >"$dir/format.log" 2>&1 || die "StorageTool format failed: $(cat "$dir/format.log")"
        launch_node "$dir" -Xms256m -Xmx512m
        pid=$(cat "$dir/kafka.pid")
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
    [ $# -ge 3 ] || usage
    need_tools
    local dir name=$2 parts=$3 rf=${4:-1} kv configs=()
    dir=$(abs_dir "$1")
    shift 4 2>/dev/null || shift $#
    for kv in "$@"; do configs+=(--config "$kv"); done
    [ -s "$dir/bootstrap" ] || die "no broker bootstrap in $dir"
    local boot=$dir/bootstrap
    [ ! -s "$dir/bootstrap-plaintext" ] || boot=$dir/bootstrap-plaintext # start-secure
    tool_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$(cat "$boot")" \
        --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor "$rf" \
        "${configs[@]}"
}

cmd_topic_config() {
    [ $# -eq 3 ] || usage
    need_tools
    local dir change
    dir=$(abs_dir "$1")
    [ -s "$dir/bootstrap" ] || die "no broker bootstrap in $dir"
    case $3 in
        -*) change=(--delete-config "${3#-}") ;;
        *) change=(--add-config "$3") ;;
    esac
    tool_java kafka.admin.ConfigCommand --bootstrap-server "$(cat "$dir/bootstrap")" \
        --alter --entity-type topics --entity-name "$2" "${change[@]}"
}

# ---- the cluster (start-cluster and the commands that act on one node) ----

# Per node: a small heap (three JVMs share the test machine).
node_heap=(-Xms128m -Xmx384m)

node_dir() { echo "$1/node$2"; }
node_ready() { grep -q "KafkaRaftServer nodeId=$2\] Kafka Server started" "$1/kafka.log"; }

# write_node_config DIR ID PORT CPORT VOTERS: the single-node template with
# this node's id and ports, the shared quorum, and replication for 3 nodes
# (later keys override the template's in a Java properties file).
write_node_config() {
    local dir=$1 id=$2 port=$3 cport=$4 voters=$5
    sed -e "s|@HOST@|$host|g" -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$cport|g" \
        -e "s|@LOG_DIR@|$dir/data|g" "$root/tests/kafka/server.properties.in" >"$dir/server.properties"
    cat >>"$dir/server.properties" <<PROPS
# ---- cluster node (scripts/kafka-broker.sh start-cluster) ----
node.id=$id
controller.quorum.voters=$voters
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
# A killed node is fenced (its partitions get new leaders) after 3 s, not 9.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
PROPS
}

# await_node DIR ID ATTEMPT: wait until node ID logs that it started.
await_node() {
    local ndir cluster_dir=$1
    ndir=$(node_dir "$1" "$2")
    # Called by await_start without arguments: cluster_dir is this call's.
    stop_on_timeout() { cmd_stop_cluster "$cluster_dir"; }
    await_start "kafka-node$2" "$(cat "$ndir/kafka.pid")" "$ndir/kafka.log" "$start_timeout" "$3" \
        node_ready "$ndir" "$2"
}

cmd_start_cluster() {
    [ $# -ge 1 ] && [ $# -le 2 ] || usage
    need_tools
    local dir n=${2:-3} attempt i rc ports voters boot id ndir
    dir=$(abs_dir "$1")
    cmd_fetch >/dev/null
    rm -f "$dir/bootstrap"
    for attempt in 1 2 3; do
        # 2 ports per node: client listener, controller listener.
        read -r -a ports < <(free_ports $((2 * n))) || true
        [ ${#ports[@]} -eq $((2 * n)) ] || die "cannot pick free ports (python3 needed)"
        voters="" boot=""
        for i in $(seq 1 "$n"); do
            voters+="${voters:+,}$i@127.0.0.1:${ports[2 * i - 1]}"
            boot+="${boot:+,}$host:${ports[2 * i - 2]}"
        done
        id=$(tool_java kafka.tools.StorageTool random-uuid) || die "StorageTool random-uuid failed"
        for i in $(seq 1 "$n"); do
            ndir=$(abs_dir "$(node_dir "$dir" "$i")")
            if [ -f "$ndir/kafka.pid" ] && alive "$(cat "$ndir/kafka.pid")"; then
                die "node $i is already running from $ndir"
            fi
            rm -rf "$ndir/data"
            write_node_config "$ndir" "$i" "${ports[2 * i - 2]}" "${ports[2 * i - 1]}" "$voters"
            tool_java kafka.tools.StorageTool format -t "$id" -c "$ndir/server.properties" \
                >"$ndir/format.log" 2>&1 || die "StorageTool format failed: $(cat "$ndir/format.log")"
        done
        # All nodes at once: none finishes starting before the quorum has a
        # majority.
        for i in $(seq 1 "$n"); do launch_node "$(node_dir "$dir" "$i")" "${node_heap[@]}"; done
        rc=0
        for i in $(seq 1 "$n"); do
            await_node "$dir" "$i" "$attempt" || { rc=$?; break; }
        done
        if [ $rc -eq 2 ]; then cmd_stop_cluster "$dir"; continue; fi
        echo "$n" >"$dir/nodes"
        echo "$boot" >"$dir/bootstrap.tmp"
        mv "$dir/bootstrap.tmp" "$dir/bootstrap"
        echo "kafka-broker: cluster of $n started at $boot (cluster $id)"
        return 0
    done
    die "could not find free ports"
}

cmd_stop_cluster() {
    [ $# -eq 1 ] || usage
    local dir ndir
    dir=$(abs_dir "$1")
    # SIGTERM to all first: stopped one by one, the last node waits for a
    # quorum that has gone and only SIGKILL ends it.
    for ndir in "$dir"/node*; do
        [ -f "$ndir/kafka.pid" ] && kill -TERM "$(cat "$ndir/kafka.pid")" 2>/dev/null || true
    done
    for ndir in "$dir"/node*; do
        [ -d "$ndir" ] && stop_pidfile kafka-broker "$ndir/kafka.pid" "$stop_timeout"
    done
    rm -f "$dir/bootstrap"
}

# node_pidfile DIR NODE: the pid file of a node of the cluster in DIR.
node_pidfile() {
    local f
    f="$(node_dir "$(abs_dir "$1")" "$2")/kafka.pid"
    [ -f "$f" ] || die "node $2 has no pid file ($f): not running"
    echo "$f"
}

cmd_kill() {
    [ $# -eq 2 ] || usage
    local f pid
    f=$(node_pidfile "$1" "$2")
    pid=$(cat "$f")
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done # SIGKILL cannot be ignored
    rm -f "$f"
}

cmd_term() {
    [ $# -eq 2 ] || usage
    stop_pidfile kafka-broker "$(node_pidfile "$1" "$2")" "$stop_timeout"
}

cmd_restart() {
    [ $# -eq 2 ] || usage
    local dir ndir
    dir=$(abs_dir "$1")
    ndir=$(node_dir "$dir" "$2")
    [ -f "$ndir/server.properties" ] || die "no node $2 in $dir"
    if [ -f "$ndir/kafka.pid" ] && alive "$(cat "$ndir/kafka.pid")"; then
        die "node $2 is running"
    fi
    # Keep the earlier runs' logs: kafka.log.1, .2, ...
    local k=1
    while [ -e "$ndir/kafka.log.$k" ]; do k=$((k + 1)); done
    mv "$ndir/kafka.log" "$ndir/kafka.log.$k"
    launch_node "$ndir" "${node_heap[@]}"
    # Its ports are its own (in server.properties): no retry with others.
    await_node "$dir" "$2" 3
    echo "kafka-broker: node $2 restarted (pid $(cat "$ndir/kafka.pid"))"
}

# The leader as the metadata says (asked of any live node of the bootstrap
# list); a dead node stays leader until the controller notices (broker
# session timeout), so callers wait for the leader they expect.
cmd_leader() {
    [ $# -eq 3 ] || usage
    local dir
    dir=$(abs_dir "$1")
    kcat -L -b "$(cat "$dir/bootstrap")" -t "$2" -m 10 2>/dev/null |
        sed -n "s/^ *partition $3, leader \(-\?[0-9]*\),.*/\1/p" | grep . || die "no leader known for $2/$3"
}

cmd_controller() {
    [ $# -eq 1 ] || usage
    local dir
    dir=$(abs_dir "$1")
    tool_java org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server "$(cat "$dir/bootstrap")" \
        describe --status 2>/dev/null | sed -n 's/^LeaderId: *\([0-9]*\).*/\1/p' | grep . \
        || die "no active controller known"
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    stop_server kafka-broker "$1" kafka.pid bootstrap
    rm -f "$1/bootstrap-plaintext"
}

jvm_main "$@"
