/* Renews the leases of executions in progress, so a provider call slower
 * than the lease does not let another replica take over (docs/design.md section
 * 2: "renewing the lease while a slow call runs").
 *
 * Worker threads register a lease before calling the provider and remove it
 * after; one keeper thread, with its own state session, renews every lease
 * held longer than a third of its duration. All fields of the keeper are
 * guarded by its mutex; state I/O happens outside it. */
#ifndef AW_LEASE_KEEPER_H
#define AW_LEASE_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/state/state.h"

typedef struct aw_lease_keeper aw_lease_keeper;

/* st is borrowed and must outlive the keeper. */
aw_status aw_lease_keeper_new(aw_state *st, int64_t lease_ms, aw_lease_keeper **out,
                              aw_error *err);
void aw_lease_keeper_destroy(aw_lease_keeper *k);

/* Register n held leases at once (one lock). The key strings are borrowed:
 * they must stay valid until the leases are removed (the renewal thread
 * copies what it needs under the lock). The leases get the handles
 * first..first+n-1; returns first (> 0), or 0 when out of memory (the
 * leases are then simply not renewed). */
uint64_t aw_lease_keeper_add_batch(aw_lease_keeper *k, const aw_state_key *keys,
                                   const uint64_t *tokens, size_t n);

/* Unregister the n leases of one aw_lease_keeper_add_batch(). Returns true
 * if a renewal of one of them was refused meanwhile (the lease was lost:
 * another holder may have taken over). */
bool aw_lease_keeper_remove_batch(aw_lease_keeper *k, uint64_t first, size_t n);

/* Renewals done so far (for tests and metrics). */
uint64_t aw_lease_keeper_renewals(aw_lease_keeper *k);

#endif
