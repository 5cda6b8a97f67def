/* The "clickhouse" state backend: state in a ClickHouse table over HTTP
 * (libcurl), for ClickHouse 18.16 (Debian 12) and later. EVENTUALLY
 * CONSISTENT: it declares no AW_STATE_CAP_ATOMIC, so the worker refuses it
 * for dedup and locks unless state.allow_eventual_consistency = true, and
 * then warns at start.
 *
 * URL (state.url): the same forms as the clickhouse audit backend
 * (clickhouse[s]://[user[:password]@]host[:port][/database] or
 * http[s]://host:port/?database=NAME); backends/clickhouse/ch_http.h.
 * Schema: migrations/clickhouse/0002_state.sql (table aw_state), applied by
 * `acteon-worker migrate -c FILE` (the same embedded sequence as the audit
 * backend; create() only checks it).
 *
 * Table and versions (see 0002_state.sql): one row per write, never an
 * update; ReplacingMergeTree(ver) ORDER BY (space, key), key = key_prefix +
 * aw_key_encode(ns, tenant, kind, id). A delete writes a tombstone row.
 * ver = (max(previous seq + 1, writer's clock ms) << 16) | 16 random bits.
 * Spaces (column space): 'v' values, 'l' locks, 'd' dedup leases and done
 * records, and 'D' (not in 0002_state.sql's comment, which is applied and
 * never edited) a second copy of each done record, written by complete in
 * the same INSERT and by nothing else: a lease row written by a renewal
 * that read the lease before the done record landed is newer in 'd', never
 * in 'D' (chs_leases.c). Claims and completes read 'd' and 'D' in one
 * SELECT; a live done record in either wins.
 *
 * Reads see the latest version without waiting for merges:
 *   ... WHERE space IN (S...) AND key IN (...) ORDER BY space, key,
 *   ver DESC LIMIT 1 BY space, key
 * rather than FINAL: on 18.16 FINAL merges every part of the range at read
 * time on one thread and is documented as slow, while the LIMIT 1 BY form
 * reads the few rows of the key through the primary index. Because vers
 * are distinct (random low bits), the row a reader picks is the row the
 * next merge keeps: a merge never changes what a reader sees.
 *
 * Expiry is enforced on read (expires_at_ms, 0 = never), judged by the
 * WRITER'S AND READER'S clocks (18.16 has no millisecond server clock):
 * hosts must be NTP-synchronised; a skew of d ms lengthens or shortens
 * TTLs by d. 18.16 has no TTL either: a reaper, run by whichever session
 * first finds it due (aw_state_options.reaper_interval_ms, 10 min when 0),
 * merges the table (OPTIMIZE TABLE aw_state FINAL, so no older row of a key
 * outlives its newest one) and then deletes (ALTER TABLE ... DELETE)
 * tombstones and expired rows written more than 60 s before it started.
 * Lock and lease tokens stay increasing after their rows were reaped
 * because ver's seq is at least the writer's clock in ms.
 *
 * WHAT IS NOT ATOMIC, and what can go wrong (the honest part):
 * check_and_set, set's next version, increment, compare_and_swap, locks,
 * claims, completes and lease renewals are all "read the newest row, decide,
 * INSERT a new row". Two callers that read before either wrote both
 * succeed: both check_and_sets report written, both CASes succeed, two
 * increments lose one delta, two set()s both report version n+1, two
 * lock_acquires both get the lock (with different tokens), and two claims
 * of one identity both get ACQUIRED and both execute. Batches (claim,
 * complete, lease renewal) read every record of the batch in one SELECT
 * and write in one INSERT. The later reader
 * sees the winner (largest ver) only afterwards: the loser's complete
 * then reports stale, its extend/release AW_CONFLICT (how many duplicates
 * execute under contention: docs/backends/clickhouse-state.md, from
 * test_duplicates_20_threads). Without contention
 * (sequential duplicates, as in one worker process, which keeps per-key
 * order) dedup is exact: a done record, once written, answers
 * every later claim within its window whatever lease renewals of the
 * lease keeper land after it, and survives merges and the reaper
 * (test_renewal_after_done, test_renewals_racing_completes; before space
 * 'D', 25 of 40 done records were lost to such renewals in that test).
 * Remaining soft spots without contention: a late renewal's lease row can
 * make a claim answer BUSY for up to one lease after a done window shorter
 * than the lease; a lease that expires before its renewal (dedup.lease_ms
 * too short for the keeper's round trips) makes complete stale, so no done
 * record is written; an extend racing a release of the same lock holder
 * can bring the lock back until its TTL (the worker uses no locks); and
 * workers of a version before space 'D' read only 'd'. Use it where a
 * duplicate now and then is acceptable (analytics-side counters,
 * best-effort dedup), never for money or exactly-once side effects.
 *
 * Threads: the backend object (parsed URL, key prefix, the reaper's next
 * due time, atomic) is shared; a session (one CURL handle and buffers)
 * belongs to one thread. */
#ifndef AW_CLICKHOUSE_STATE_H
#define AW_CLICKHOUSE_STATE_H

#include <stdint.h>

#include "backends/state/state_backend.h"

/* Test hook: run the reaper now on a session (the opaque pointer of an
 * aw_state_session of this driver), as if it started at now_ms. */
aw_status aw_state_clickhouse_reap(void *session, int64_t now_ms, aw_error *err);

#endif
