#!/usr/bin/env bash
# Build one flavour: scripts/build.sh [release|asan|tsan] [TARGET...]
#   release -> build/       (the binary: build/acteon-worker)
#   asan    -> build-asan/  (AddressSanitizer + UndefinedBehaviorSanitizer)
#   tsan    -> build-tsan/  (ThreadSanitizer)
# With TARGETs (e.g. acteon-worker) only those are built, not the tests and
# benchmarks: scripts/dev.sh builds just the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
targets=()
[ $# -le 1 ] || { shift; for t in "$@"; do targets+=(--target "$t"); done; }
case "$flavour" in
    release) dir=build; opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    asan) dir=build-asan; opts=(-DCMAKE_BUILD_TYPE=Debug -DAW_SANITIZE_ADDRESS=ON) ;;
    tsan) dir=build-tsan; opts=(-DCMAKE_BUILD_TYPE=Debug -DAW_SANITIZE_THREAD=ON) ;;
    *) echo "usage: $0 [release|asan|tsan]" >&2; exit 2 ;;
esac
# Every backend the test suite covers, stated explicitly so that a build
# folder configured earlier with other options cannot silently skip one.
backends=(-DWITH_STATE_REDIS=ON -DWITH_STATE_POSTGRES=ON -DWITH_STATE_DYNAMODB=ON
          -DWITH_CLICKHOUSE=ON)
# Quiet on success; compiler errors go to stderr.
cmake -S . -B "$dir" "${opts[@]}" "${backends[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" "${targets[@]}" >/dev/null
echo "built $flavour in $dir/"
