#!/usr/bin/env bash
# README command 2: install what is missing, build every flavour, start the
# test servers and run the whole suite:
#   release build:      unit, conformance and integration tests, the
#                       ClickHouse ones again on a current engine (label
#                       current: chdb behind tests/support/chdb_http.py,
#                       scripts/servers/chdb.sh; about 3 min), and the
#                       partition tests (tests/partition/: a worker cut off
#                       by nftables in a network namespace, on Redis,
#                       PostgreSQL and dynalite state; their own servers;
#                       7 to 9 min, run serially)
#   valgrind:           the unit programs of the release build under memcheck
#                       (ctest label valgrind: a definite or indirect leak or
#                       a memory error fails; 6 to 15 s)
#   ASan+UBSan build:   unit, conformance and integration tests
#   TSan build:         the concurrency tests (conformance races, integration)
#   fuzz build (clang): every libFuzzer target of tests/fuzz for 30 s
#                       (scripts/fuzz.sh; AW_FUZZ_SECONDS changes the time)
# One real OpenSearch node (scripts/opensearch-node.sh, Maven Central jars)
# starts alongside it for the Elasticsearch audit backend
# (AW_TEST_OPENSEARCH_URL). One real Apache Kafka broker (scripts/kafka-broker.sh: KRaft, 127.0.0.1,
# jars from Maven Central, needs Java 17 + Maven) is started in the background
# while the builds run, shared by every integration test of every flavour
# (AW_KAFKA_BOOTSTRAP), and stopped at exit. integration-mock/* tests run on
# librdkafka's mock cluster regardless. AW_KAFKA=mock scripts/test.sh skips the
# broker and runs every integration test on the mock cluster; with
# AW_KAFKA_BOOTSTRAP already set, that broker is used and none is started.
#
# scripts/test.sh --quick: the same installation, servers and checks, but
# only the release build, the unit and docs tests and one integration test
# per real server (a few minutes; scripts/fresh-machine-test.sh runs it on a
# new Debian 12 root).
# Exit status 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
quick=false
case "${1:-}" in
    "") ;;
    --quick) quick=true ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
# One integration test per real server: the Kafka broker, Redis and
# PostgreSQL (the quick start guide, run as written), ClickHouse, dynalite,
# OpenSearch, and the current ClickHouse engine (the chdb front).
quick_tests='^(integration/(test_docs_quickstart|test_state_clickhouse|test_e2e_dynamodb|test_audit_elasticsearch)|integration-current/test_state_clickhouse|docs/.*|unit/.*)$'
scripts/install-deps.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan/tsan.supp}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}

failed=()

# ---- the real Kafka broker: fetch + start in the background, during the builds
kafka_dir=""
kafka_start_pid=""
os_dir=""
os_start_pid=""
servers_dir=""
stop_all() {
    local rc=$?
    if [ -n "$servers_dir" ]; then
        scripts/test-servers.sh stop "$servers_dir" || true
        if [ $rc -eq 0 ]; then rm -rf "$servers_dir"; fi
    fi
    if [ -n "$kafka_start_pid" ]; then
        wait "$kafka_start_pid" 2>/dev/null || true # bounded: start has its own deadline
    fi
    if [ -n "$kafka_dir" ]; then
        scripts/kafka-broker.sh stop "$kafka_dir" || true
        if [ $rc -eq 0 ]; then rm -rf "$kafka_dir"; else echo "kafka broker files kept in $kafka_dir"; fi
    fi
    if [ -n "$os_start_pid" ]; then
        wait "$os_start_pid" 2>/dev/null || true # bounded: start has its own deadline
    fi
    if [ -n "$os_dir" ]; then
        scripts/opensearch-node.sh stop "$os_dir" || true
        if [ $rc -eq 0 ]; then rm -rf "$os_dir"; else echo "opensearch files kept in $os_dir"; fi
    fi
    exit $rc
}
if [ -n "${AW_KAFKA_BOOTSTRAP:-}" ] && [ "${AW_KAFKA:-}" != mock ]; then
    echo "==== using the Kafka broker at AW_KAFKA_BOOTSTRAP=$AW_KAFKA_BOOTSTRAP (none started)"
elif [ "${AW_KAFKA:-}" != mock ]; then
    mkdir -p build-kafka
    kafka_dir=$(mktemp -d "$root/build-kafka/broker.XXXXXX")
    (scripts/kafka-broker.sh fetch && scripts/kafka-broker.sh start "$kafka_dir") \
        >"$kafka_dir/start.log" 2>&1 &
    kafka_start_pid=$!
    kafka_t0=$SECONDS
fi


# ---- a real OpenSearch node (scripts/opensearch-node.sh: jars from Maven
# Central) for the Elasticsearch audit backend, also during the builds
# (AW_TEST_OPENSEARCH_URL). Set it yourself to use another cluster.
if [ -n "${AW_TEST_OPENSEARCH_URL:-}" ]; then
    echo "==== using the OpenSearch node at AW_TEST_OPENSEARCH_URL (none started)"
else
    mkdir -p build-opensearch
    os_dir=$(mktemp -d "$root/build-opensearch/node.XXXXXX")
    (scripts/opensearch-node.sh fetch && scripts/opensearch-node.sh start "$os_dir") \
        >"$os_dir/start.log" 2>&1 &
    os_start_pid=$!
    os_t0=$SECONDS
fi

trap stop_all EXIT

# ---- Redis, PostgreSQL, ... (scripts/servers/*.sh): a few seconds, in parallel
mkdir -p build-servers
servers_dir=$(mktemp -d "$root/build-servers/run.XXXXXX")
chmod o+x "$root" "$root/build-servers" "$servers_dir" # postgres runs as its own user
# Servers that started are used even when another one failed: their tests
# still run, and the run fails for the server that did not start.
servers_down=()
scripts/test-servers.sh start "$servers_dir" || true
touch "$servers_dir/env" "$servers_dir/failed"
# shellcheck disable=SC1091
source "$servers_dir/env"
export $(sed -n 's/^export \([A-Z_]*\)=.*/\1/p' "$servers_dir/env")
while read -r s; do
    [ -z "$s" ] || servers_down+=("$s")
done <"$servers_dir/failed"

# A test skips (exit 77) when a server it needs is absent. Here every server
# is started, so a skip means a broken set-up and fails the run, loudly -
# except the transactional-replies test when the suite runs on the mock
# cluster on purpose (AW_KAFKA=mock), which cannot do transactions, and
# test_security then too (it starts a secured broker of its own), and the
# tests of a server that did not start (that failure is reported once, for
# the server, not again for every tier). The partition tests skip where no
# network namespace can be created (not root, no CAP_NET_ADMIN): that too
# fails the run here, as CI runs as root; on such a machine allow it with
# AW_ALLOWED_SKIPS=partition/.
run_tier() { # run_tier BUILD_DIR LABEL_REGEX NAME [CTEST_ARG...]
    echo "==== $3"
    local log rc=0
    log=$(mktemp)
    ctest --test-dir "$1" -L "$2" "${@:4}" --no-tests=error --output-on-failure -j 2 2>&1 |
        tee "$log" || rc=1
    local skipped
    skipped=$(grep -E '\*\*\*Skipped' "$log" | grep -v -E "${AW_ALLOWED_SKIPS:-^$}" || true)
    if [ -n "$skipped" ] && [ ${#servers_down[@]} -gt 0 ]; then
        echo "note: $(echo "$skipped" | wc -l) test(s) skipped; the servers that did not start:" \
            "${servers_down[*]}" >&2
    elif [ -n "$skipped" ]; then
        echo "FAIL: tests skipped although scripts/test.sh started every server:" >&2
        echo "$skipped" >&2
        rc=1
    fi
    rm -f "$log"
    [ $rc -eq 0 ] || failed+=("$3")
}
if [ "${AW_KAFKA:-}" = mock ]; then
    AW_ALLOWED_SKIPS="test_txn_replies|test_security" # both need the real broker
fi

flavours=(release asan tsan)
$quick && flavours=(release)
for flavour in "${flavours[@]}"; do
    scripts/build.sh "$flavour"
done
# Built with the others, while the servers start; the fuzz tier only runs.
fuzz_built=true
$quick || scripts/fuzz.sh --build-only || fuzz_built=false

if [ -n "$kafka_start_pid" ]; then
    if wait "$kafka_start_pid"; then
        export AW_KAFKA_BOOTSTRAP
        AW_KAFKA_BOOTSTRAP=$(cat "$kafka_dir/bootstrap")
        echo "==== real Kafka broker at $AW_KAFKA_BOOTSTRAP (ready $((SECONDS - kafka_t0))s after launch)"
    else
        cat "$kafka_dir/start.log" >&2
        echo "==== the real Kafka broker did not start: integration tests fall back to the mock cluster" >&2
        failed+=("real Kafka broker start (log: $kafka_dir)")
        servers_down+=(kafka)
        export AW_KAFKA=mock
    fi
    kafka_start_pid=""
fi

if [ -n "$os_start_pid" ]; then
    if wait "$os_start_pid"; then
        # shellcheck disable=SC1091
        source "$os_dir/env"
        export AW_TEST_OPENSEARCH_URL
        echo "==== OpenSearch node at $AW_TEST_OPENSEARCH_URL (ready $((SECONDS - os_t0))s after launch)"
    else
        cat "$os_dir/start.log" >&2
        failed+=("OpenSearch node start (log: $os_dir)")
        servers_down+=(opensearch)
    fi
    os_start_pid=""
fi

if $quick; then
    run_tier build '.' "quick: unit, docs and one integration test per server" -R "$quick_tests"
else
run_tier build 'unit|conformance|integration|current|partition|crash' "release: unit + conformance + integration + current ClickHouse + partition + crash"
run_tier build valgrind "valgrind: unit (release build, memcheck)"
run_tier build-asan 'unit|conformance|integration' "asan+ubsan: unit + conformance + integration"
fuzz_tier="fuzz: ${AW_FUZZ_SECONDS:-30} s per target (logs: build-fuzz/logs, inputs: build-fuzz/artifacts)"
echo "==== $fuzz_tier"
if ! $fuzz_built || ! scripts/fuzz.sh "${AW_FUZZ_SECONDS:-30}"; then
    failed+=("$fuzz_tier")
fi
run_tier build-tsan 'concurrency' "tsan: concurrency"
fi

while read -r s; do
    [ -z "$s" ] || failed+=("test server $s did not start (log: $servers_dir/$s.start.log)")
done <"$servers_dir/failed"
if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED tiers: ${failed[*]}"
    exit 1
fi
echo "all test tiers passed"
