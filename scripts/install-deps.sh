#!/usr/bin/env bash
# Install the Debian 12 packages acteon-worker needs, if any is missing.
# Idempotent; uses sudo when not root.
#
#   scripts/install-deps.sh          everything the test suite uses (command 2)
#   scripts/install-deps.sh --demo   only what building and the demo need (command 1)
#
# Tools that may come from outside dpkg (Java, Maven, Node.js with npm) are
# looked up on PATH first: a preinstalled one is kept, and Debian's package is
# installed only where none is found.
set -euo pipefail

demo=false
case "${1:-}" in
    "") ;;
    --demo) demo=true ;;
    *) echo "usage: $0 [--demo]" >&2; exit 2 ;;
esac

# Building the worker (every backend compiled in) and running `acteon-worker dev`.
PACKAGES=(
    build-essential cmake pkg-config
    librdkafka-dev libjansson-dev libconfig-dev libcurl4-openssl-dev libssl-dev
    libhiredis-dev libpq-dev libmicrohttpd-dev libcmocka-dev
)
if ! $demo; then
    PACKAGES+=(
        # the test servers (scripts/test-servers.sh) and their clients
        redis-server redis-sentinel postgresql clickhouse-server clickhouse-client
        # Kafka client for the integration tests, schema checks, HTTP probes
        kcat python3 python3-jsonschema curl
        # the venv of the current-ClickHouse test front (scripts/servers/chdb.sh
        # pip-installs chdb-core into it)
        python3-venv
        # the TLS tests' throw-away CA and certificates (scripts/lib/test-ca.sh);
        # a minimal Debian 12 image has libssl but not the openssl command
        openssl
        # tests/partition: network namespaces, veth pairs and nftables cuts
        iproute2 nftables
        # sanitizer and fuzz builds; llvm provides llvm-symbolizer, without
        # which LeakSanitizer cannot match the function names in tests/lsan.supp
        clang libclang-rt-14-dev llvm valgrind
        # tests/docs: docker-compose.yml is validated offline
        docker-compose
    )
    # Java 17 and Maven run the real Kafka broker and OpenSearch node.
    command -v java >/dev/null 2>&1 || PACKAGES+=(default-jre-headless)
    command -v mvn >/dev/null 2>&1 || PACKAGES+=(maven)
    # Node.js and npm run dynalite (the DynamoDB stand-in). A Node installed
    # from elsewhere (e.g. nodesource) ships its own npm: Debian's npm would
    # conflict with it, so both come from Debian only when neither is there.
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        if command -v node >/dev/null 2>&1 && ! dpkg-query -W -f='${Status}' nodejs 2>/dev/null |
            grep -q "install ok installed"; then
            echo "install-deps: node is on PATH but npm is not, and this Node is not Debian's:" \
                "install npm with it (Debian's npm package would conflict)" >&2
            exit 1
        fi
        PACKAGES+=(nodejs npm)
    fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${#missing[@]} package(s) and their dependencies: ${missing[*]}" >&2
$SUDO apt-get update -qq
# Quiet on success; on failure apt's own messages are shown.
log=$(mktemp)
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    echo "install-deps: apt-get install failed (above)" >&2
    exit 1
fi
rm -f "$log"
