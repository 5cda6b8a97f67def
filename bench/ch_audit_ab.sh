#!/usr/bin/env bash
# Same-run A/B of the ClickHouse audit backend ceiling (docs/performance.md,
# "ClickHouse audit against the 50,000 records/s target"):
#
#   bench/ch_audit_ab.sh CLICKHOUSE_PID BENCH_A BENCH_B [N] [REPS] [COMBOS]
#
# BENCH_A, BENCH_B: two bench_backend binaries (e.g. a copy built from the
# old commit, and build/bench/bench_backend). CLICKHOUSE_PID: the server's
# pid (scripts/test-servers.sh start DIR writes DIR/clickhouse/clickhouse.pid),
# whose CPU is read from /proc. AW_TEST_CLICKHOUSE_URL must be set and the
# schema migrated (acteon-worker migrate). N defaults to 100000, REPS to 2,
# COMBOS (audit.batch_size:audit.writers) to "500:1 500:2 2000:1 2000:2
# 5000:1 5000:2". For every rep and combo, A then B run back to back (memory
# state, ClickHouse audit, workers.threads 4), so both see the same load.
# One line per run:
#   label batch writers records/s our_cpu_us/record server_cpu_us/record load
# our CPU = the bench process's user+system (its memory-state threads
# included); server CPU = clickhouse-server's over the run (merges running
# then included). Each run writes N new records to the database of the URL.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,20p "$0" >&2; exit 2; }
chpid=$1 A=$2 B=$3 n=${4:-100000} reps=${5:-2}
combos=${6:-"500:1 500:2 2000:1 2000:2 5000:1 5000:2"}
: "${AW_TEST_CLICKHOUSE_URL:?set AW_TEST_CLICKHOUSE_URL}"
[ -r "/proc/$chpid/stat" ] || { echo "no process $chpid" >&2; exit 2; }
tck=$(getconf CLK_TCK)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cpu_ms() { # pid: user+system CPU in ms (fields 14, 15 after the comm)
    awk -v t="$tck" '{ sub(/.*\) /, ""); print ($12 + $13) * 1000 / t }' "/proc/$1/stat"
}

run=0
for r in $(seq 1 "$reps"); do
    for c in $combos; do
        bs=${c%:*} w=${c#*:}
        for lab in A B; do
            bin=${!lab}
            run=$((run + 1))
            cat >"$dir/worker.conf" <<CONF
worker_id = "bench";
kafka = { brokers = "127.0.0.1:1"; group_id = "ab"; topics = [ "fill" ];
          reply_topic = "replies"; dlq_topic = "dlq"; };
state = { backend = "memory"; };
audit = { enabled = true; backend = "clickhouse"; url = "$AW_TEST_CLICKHOUSE_URL";
          batch_size = $bs; writers = $w; };
workers = { threads = 4; };
log = { level = "warn"; };
providers = ( { name = "noop"; type = "noop"; } );
CONF
            c0=$(cpu_ms "$chpid")
            out=$(/usr/bin/time -f "%U %S" -o "$dir/time" \
                "$bin" -c "$dir/worker.conf" -n "$n" --run-id "ab$$-$run")
            c1=$(cpu_ms "$chpid")
            rate=$(sed -n 's/.*audit_rate=\([0-9]*\).*/\1/p' <<<"$out")
            read -r u s <"$dir/time"
            awk -v l="$lab" -v b="$bs" -v w="$w" -v r="$rate" -v u="$u" -v s="$s" \
                -v c0="$c0" -v c1="$c1" -v n="$n" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
                'BEGIN { printf "%s %s %s %s %.1f %.1f %s\n", l, b, w, r,
                         (u + s) * 1e6 / n, (c1 - c0) * 1000 / n, load }'
        done
    done
done
