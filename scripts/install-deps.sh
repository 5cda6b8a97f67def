#!/usr/bin/env bash
# Install the Debian packages acteon-worker builds and tests with, if any is
# missing. Idempotent; uses sudo when not root. (Do not install Debian's npm:
# it fights a preinstalled Node.)
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    librdkafka-dev libjansson-dev libconfig-dev libcurl4-openssl-dev libssl-dev
    libhiredis-dev libpq-dev libmicrohttpd-dev libcmocka-dev
    redis-server postgresql
    clickhouse-server clickhouse-client
    kcat python3 python3-jsonschema clang libclang-rt-14-dev valgrind
    docker-compose
)
# Java 17 and Maven run the real Kafka broker of the integration tests
# (scripts/kafka-broker.sh). They may be installed outside dpkg: look on PATH
# first and ask apt only for what is absent.
command -v java >/dev/null 2>&1 || PACKAGES+=(default-jre-headless)
# The DynamoDB tests run dynalite with the preinstalled Node and its npm
# (scripts/servers/dynalite.sh installs it into build-dynalite/). Debian's
# npm is never installed here; without Node those tests skip.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    echo "note: node/npm not on PATH: scripts/test-servers.sh cannot start dynalite" >&2
command -v mvn >/dev/null 2>&1 || PACKAGES+=(maven)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
