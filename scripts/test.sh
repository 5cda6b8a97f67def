#!/usr/bin/env bash
# README command 2: install what is missing, build every flavour, start the
# test servers and run the whole suite:
#   release build:      unit, conformance and integration tests
#   ASan+UBSan build:   unit, conformance and integration tests
#   TSan build:         the concurrency tests (conformance races, integration)
# Exit status 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan/tsan.supp}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}

failed=()
run_tier() { # run_tier BUILD_DIR LABEL_REGEX NAME
    echo "==== $3"
    if ! ctest --test-dir "$1" -L "$2" --output-on-failure -j 2; then
        failed+=("$3")
    fi
}

for flavour in release asan tsan; do
    scripts/build.sh "$flavour"
done

run_tier build 'unit|conformance|integration' "release: unit + conformance + integration"
run_tier build-asan 'unit|conformance|integration' "asan+ubsan: unit + conformance + integration"
run_tier build-tsan 'concurrency' "tsan: concurrency"

if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED tiers: ${failed[*]}"
    exit 1
fi
echo "all test tiers passed"
