#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang in build-fuzz/
# and run each for SECONDS (default 60): scripts/fuzz.sh [SECONDS]
# scripts/fuzz.sh --build-only builds them and runs nothing.
# Each target starts from its committed seeds (tests/fuzz/corpus/<name>/) plus
# what earlier runs in this build folder found (build-fuzz/corpus/<name>/).
# A crash, leak, sanitizer report, timeout or OOM fails the run; the input
# that caused it is kept as build-fuzz/artifacts/<name>-crash-<sha1> (replay:
# build-fuzz/fuzz/fuzz_<name> FILE). Exit status 0 only if no target failed.
# Needs clang and its fuzzer runtime (Debian: clang libclang-rt-14-dev, in
# scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build_only=false
[ "$seconds" = --build-only ] && { build_only=true; seconds=0; }
# 0 would mean "forever" to libFuzzer's -max_total_time.
case "$seconds" in '' | *[!0-9]* | 0*) $build_only || { echo "usage: $0 [SECONDS | --build-only]" >&2; exit 2; } ;; esac

# A clear message when the runtime is missing, instead of a link error deep
# in the build.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
    cat "$probe/err" >&2
    echo "$0: clang cannot link libFuzzer programs: install clang and its runtime" \
         "(Debian: apt-get install clang libclang-rt-14-dev, or scripts/install-deps.sh)" >&2
    exit 1
fi

CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAW_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null
echo "built the fuzz targets in build-fuzz/fuzz/"
$build_only && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p build-fuzz/artifacts build-fuzz/logs
failed=()
for bin in build-fuzz/fuzz/fuzz_*; do
    name=${bin##*/fuzz_}
    work=build-fuzz/corpus/$name
    mkdir -p "$work"
    log=build-fuzz/logs/$name.log
    echo "==== fuzz_$name for ${seconds}s"
    # -timeout: one input taking over 10 s is a hang worth reporting;
    # -rss_limit_mb: a parser that balloons on small input is a bug too.
    if "$bin" "$work" "tests/fuzz/corpus/$name" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="build-fuzz/artifacts/$name-" >"$log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done ' "$log" | tr '\n' ' ' || true
        echo
    else
        tail -n 60 "$log" >&2
        echo "FAIL: fuzz_$name (log: $log, input: build-fuzz/artifacts/$name-*)" >&2
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED fuzz targets: ${failed[*]}"
    exit 1
fi
echo "all fuzz targets ran ${seconds}s without a failure"
