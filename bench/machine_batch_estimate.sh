#!/usr/bin/env bash
# What batching a micro-batch's event moves would gain (docs/performance.md,
# "Event state machines"): the servers' own tools time a move's two round
# trips (read, then compare-and-swap) made one action at a time, as
# aw_event_apply does today, against the same work for 64 distinct events
# in one round trip each (Redis: pipelined; PostgreSQL: one statement).
# An estimate of the server side only, not a driver: no such backend call
# exists.
#
#   bench/machine_batch_estimate.sh       (AW_TEST_REDIS_URL, AW_TEST_POSTGRES_URL)
#
# 4 connections (workers.threads), 10,000 event keys of 300 bytes, 64 per
# batch (workers.batch_size); each PostgreSQL client works on keys of its
# own (no lock waits), with the migration's aw_state_cas. Prints moves/s.
set -euo pipefail
cd "$(dirname "$0")/.."
C=${AW_BENCH_THREADS:-4}
T=${AW_BENCH_ESTIMATE_S:-10}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
val=$(printf 'x%.0s' {1..300})

if [ -n "${AW_TEST_REDIS_URL:-}" ]; then
    hp=${AW_TEST_REDIS_URL#redis://}; hp=${hp%%/*}
    rb() { # rb PIPELINE ARGS...: ops/s of redis-benchmark
        redis-benchmark -h "${hp%:*}" -p "${hp#*:}" -n 200000 -r 10000 -c "$C" -P "$1" --csv \
            "${@:2}" | awk -F'"' 'NR == 2 { printf "%.0f", $4 }'
    }
    redis-benchmark -h "${hp%:*}" -p "${hp#*:}" -n 10000 -r 10000 -c 1 -P 64 \
        SET "awbe:__rand_int__" "$val" >/dev/null
    # The compare-and-swap as a script: read the version, write value and version.
    # (one line: redis-benchmark's CSV repeats the command in its row)
    cas="local v = redis.call('hget', KEYS[1], 'v') or '0'; redis.call('hset', KEYS[1], 'v', tonumber(v) + 1, 'd', ARGV[1]); return 1"
    for p in 1 64; do
        get=$(rb "$p" GET "awbe:__rand_int__")
        sw=$(rb "$p" EVAL "$cas" 1 "awbh:__rand_int__" "$val")
        echo "redis pipeline=$p get_per_s=$get cas_per_s=$sw" \
            "moves_per_s=$(awk -v a="$get" -v b="$sw" 'BEGIN { printf "%.0f", 1 / (1 / a + 1 / b) }')"
    done
fi

if [ -n "${AW_TEST_POSTGRES_URL:-}" ]; then
    pg=$AW_TEST_POSTGRES_URL
    key="convert_to('awbe:' || g, 'UTF8')"
    live="(v.expires_at IS NULL OR v.expires_at > now())"
    psql -q "$pg" -v ON_ERROR_STOP=1 <<SQL >/dev/null
DELETE FROM aw_state_values WHERE key >= convert_to('awbe:', 'UTF8') AND key < convert_to('awbf', 'UTF8');
INSERT INTO aw_state_values (key, value, version, expires_at)
SELECT $key, convert_to('$val', 'UTF8'), 1, now() + interval '1 hour' FROM generate_series(0, 9999) g;
SQL
    # one (64 = 1) or 64 moves: a read statement, then a compare-and-swap
    # statement, of keys k .. k + m - 1 of this client's 2,500.
    for m in 1 64; do
        cat >"$w/m$m.sql" <<SQL
\set k :client_id * 2500 + random(0, 2500 - $m)
SELECT v.key, v.value, v.version FROM generate_series(:k, :k + $m - 1) g
  JOIN aw_state_values v ON v.key = $key WHERE $live;
SELECT c.o_ok FROM generate_series(:k, :k + $m - 1) g
  JOIN aw_state_values v ON v.key = $key,
  LATERAL aw_state_cas(v.key, v.version, convert_to('$val', 'UTF8'), 3600000) c;
SQL
        tps=$(pgbench -n -c "$C" -j 2 -T "$T" -f "$w/m$m.sql" "$pg" 2>"$w/pgbench.log" |
            sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        echo "postgres moves_per_statement=$m statements_per_s=$(awk -v t="${tps:-0}" 'BEGIN { printf "%.0f", t * 2 }')" \
            "moves_per_s=$(awk -v t="${tps:-0}" -v m=$m 'BEGIN { printf "%.0f", t * m }')"
    done
    psql -q "$pg" -c "DELETE FROM aw_state_values WHERE key >= convert_to('awbe:', 'UTF8') AND key < convert_to('awbf', 'UTF8')" >/dev/null
fi
