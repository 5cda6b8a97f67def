#!/usr/bin/env bash
# Instructions per action: the memory/memory drain of bench/run.sh with the
# worker under valgrind's callgrind, which counts the instructions every
# thread of the worker executes. Unlike times, the count does not depend on
# what else runs on the machine, so two worker binaries compare to within a
# percent on a shared 2-core box where their wall-clock rates vary by 20%.
# The count includes start-up, the group join and shutdown (a few percent
# at N = 20,000), and callgrind runs the worker ~50x slower, so the paced
# phase is 1 s and the drain rates it prints mean nothing.
#
#   bench/instructions.sh [-n N] [WORKER_BINARY ...]   (default: build/acteon-worker)
#
# With two or more binaries it prints each one's count and its ratio to the
# first. Each count is also split by whose code caused it
# (bench/lib/callgrind_owners.py: the C library's malloc, memcpy and locks
# go to whoever called them): the worker's own code, librdkafka (the Kafka
# client's consumer, producer and their threads) and the rest (jansson for
# librdkafka's statistics, zlib's CRC for the reply partitioner, start-up).
# AW_BENCH_KEEP=1 keeps the callgrind outputs (cg.I*, for
# callgrind_annotate) and logs, and says where. Needs valgrind (callgrind_control stops the worker's counting
# before bench/run.sh stops it) and the normal build (bench/run.sh's tools).
set -euo pipefail
cd "$(dirname "$0")/.."
N=20000
if [ "${1:-}" = "-n" ]; then
    N=$2
    shift 2
fi
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("${AW_BUILD_DIR:-build}/acteon-worker")
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null &&
    command -v python3 >/dev/null ||
    { echo "instructions: needs valgrind (callgrind) and python3" >&2; exit 1; }

work=$(mktemp -d /tmp/aw-instr.XXXXXX)
trap '[ -n "${AW_BENCH_KEEP:-}" ] && echo "files kept in $work" >&2 || rm -rf "$work"' EXIT
# The wrapper bench/run.sh starts as the worker: callgrind around the binary;
# on SIGTERM it dumps the counts first (a worker under callgrind shuts down
# too slowly for bench/run.sh's stop) and then passes the signal on.
cat >"$work/wrapper.sh" <<'EOF'
#!/usr/bin/env bash
valgrind --tool=callgrind --callgrind-out-file="$AW_INSTR_OUT" "$AW_INSTR_BIN" "$@" \
    2>"$AW_INSTR_OUT.log" &
pid=$!
trap 'callgrind_control -d "$pid" >/dev/null 2>&1; sleep 2; kill -TERM "$pid" 2>/dev/null' TERM INT
wait "$pid" || true
wait "$pid" 2>/dev/null || true
EOF
chmod +x "$work/wrapper.sh"

first=""
printf '| worker | actions | instructions | per action | x first | worker code | librdkafka | rest |\n|---|---|---|---|---|---|---|---|\n'
for i in "${!bins[@]}"; do
    bin=$(readlink -f "${bins[$i]}")
    out="$work/cg.$i"
    AW_INSTR_BIN="$bin" AW_INSTR_OUT="$out" AW_BENCH_PACED_S=1 AW_BENCH_PACED_WARM_S=0 \
        AW_BENCH_WORKER="$work/wrapper.sh" \
        bench/run.sh -n "$N" memory/memory >"$work/run.$i.log" 2>&1 ||
        { echo "instructions: bench/run.sh failed for $bin (log: $work/run.$i.log)" >&2;
          cat "$work/run.$i.log" >&2; exit 1; }
    # Actions: the drain's N plus the paced phase's replies (its row's
    # "at /s" over 1 s).
    paced=$(awk -F'|' '/^\| memory\/memory/ {gsub(/ /, "", $7); print $7}' "$work/run.$i.log")
    actions=$((N + ${paced:-0}))
    total=$(cat "$out"* 2>/dev/null | awk '/^totals:/ {s += $2} END {printf "%.0f", s}')
    [ "$total" -gt 0 ] || { echo "instructions: no callgrind counts for $bin" >&2; exit 1; }
    per=$((total / actions))
    [ -n "$first" ] || first=$per
    ratio=$(awk -v a="$per" -v b="$first" 'BEGIN {printf "%.3f", a / b}')
    parts=("$out")
    for f in "$out".[0-9]*; do [ ! -e "$f" ] || parts+=("$f"); done
    read -r own kafka rest < <(python3 bench/lib/callgrind_owners.py --summary "$actions" "${parts[@]}")
    printf '| %s | %d | %d | %d | %s | %s | %s | %s |\n' "$bin" "$actions" "$total" "$per" "$ratio" \
        "$own" "$kafka" "$rest"
done
