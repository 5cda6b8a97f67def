/* Renews the leases of executions in progress, so a provider call slower
 * than the lease does not let another replica take over (docs/design.md section
 * 2: "renewing the lease while a slow call runs"), and says until when each
 * lease is known to be held, so that no call starts on a lease that may have
 * expired (docs/operations.md, "Partitions").
 *
 * A lease is known held until: the time its claim or last successful renewal
 * was *sent* (the server's expiry runs from a later instant) plus lease_ms,
 * minus a tenth of lease_ms for clock rate and skew (DynamoDB judges expiry
 * by the workers' clocks). A renewal refused as stale (another holder, or
 * expired even if nobody took over) ends it at once; a renewal call that
 * fails (backend unreachable) extends none of the leases it carried.
 *
 * Worker threads register the leases of a batch after the claim and remove
 * each one once its done record is written (or the item is given up); one
 * keeper thread, with its own state session, wakes every lease_ms / 6 and
 * renews every lease held longer than a third of its duration, oldest
 * renewal first, AW_LEASE_KEEPER_BATCH leases per state call
 * (aw_state_lease_renew_batch: one round trip on Redis and PostgreSQL), so
 * a pass over 512 leases is two round trips, not 512. Locks of lock rules
 * are kept the same way (aw_lease_keeper_add_lock), one extension each, with
 * their own durations, and so are the due-index leases of the scheduler's
 * running jobs (aw_lease_keeper_add_due: aw_state_due_extend, batched like
 * the dedup leases, with schedule.lease_ms). All fields of the
 * keeper are guarded by its mutex; state I/O happens outside it. Every
 * function is thread-safe. */
#ifndef AW_LEASE_KEEPER_H
#define AW_LEASE_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/state/state.h"

typedef struct aw_lease_keeper aw_lease_keeper;

/* Leases renewed per state call at most. */
#define AW_LEASE_KEEPER_BATCH 256

/* st is borrowed and must outlive the keeper. */
aw_status aw_lease_keeper_new(aw_state *st, int64_t lease_ms, aw_lease_keeper **out,
                              aw_error *err);
void aw_lease_keeper_destroy(aw_lease_keeper *k);

/* Register n leases at once (one lock), claimed by a request sent at
 * sent_mono (aw_mono_now_ms()). The key strings are borrowed: they must stay
 * valid until the leases are removed (the renewal thread copies what it
 * needs under the lock). The leases get the handles first..first+n-1;
 * returns first (> 0), or 0 when out of memory (the leases are then neither
 * renewed nor known held: their calls do not start). */
uint64_t aw_lease_keeper_add_batch(aw_lease_keeper *k, const aw_state_key *keys,
                                   const uint64_t *tokens, size_t n, int64_t sent_mono);

/* Register a lock (state lock_acquire, docs/rules.md "lock") taken by a
 * request sent at sent_mono, to be extended (aw_state_lock_extend, one call
 * per lock) while it is registered and said held like a lease: until its
 * request or last extension was sent plus ttl_ms minus a tenth. The key's
 * strings (kind included) are borrowed as for add_batch. Returns its
 * handle, or 0 when out of memory (then it is not known held). */
uint64_t aw_lease_keeper_add_lock(aw_lease_keeper *k, const aw_state_key *key, uint64_t token,
                                  int64_t ttl_ms, int64_t sent_mono);

/* Register n due-index leases (aw_state_due_take, taken by a request sent
 * at sent_mono) of duration lease_ms, to be extended (aw_state_due_extend,
 * batched) while registered and said held like a lease. The keys' strings
 * (kind included: it names the pool) are borrowed as for add_batch.
 * Handles first..first+n-1; returns first, or 0 when out of memory (then
 * they are neither extended nor known held). */
uint64_t aw_lease_keeper_add_due(aw_lease_keeper *k, const aw_state_key *keys,
                                 const uint64_t *tokens, size_t n, int64_t lease_ms,
                                 int64_t sent_mono);

/* Until when (aw_mono_now_ms() scale) the lease `handle` is known held; 0 when
 * it was lost, never registered or already removed. */
int64_t aw_lease_keeper_held_until(aw_lease_keeper *k, uint64_t handle);

/* The earliest held_until of the leases of one aw_lease_keeper_add_batch()
 * still registered (INT64_MAX when none is; 0 when one was lost): one lock
 * for a whole round's check. */
int64_t aw_lease_keeper_held_until_batch(aw_lease_keeper *k, uint64_t first, size_t n);

/* Unregister the leases handles[0..n) (ascending, as a batch hands them
 * out; 0 entries are skipped): their done records are written or their
 * items given up, so the keeper must not renew them any more. */
void aw_lease_keeper_remove(aw_lease_keeper *k, const uint64_t *handles, size_t n);

/* Unregister what is left of the n leases of one aw_lease_keeper_add_batch(). */
void aw_lease_keeper_remove_batch(aw_lease_keeper *k, uint64_t first, size_t n);

/* Renewals done so far (for tests and metrics). */
uint64_t aw_lease_keeper_renewals(aw_lease_keeper *k);

#endif
