/* Renews the leases of executions in progress, so a provider call slower
 * than the lease does not let another replica take over (contracts section
 * 1: "renewing the lease while a slow call runs").
 *
 * Worker threads register a lease before calling the provider and remove it
 * after; one keeper thread, with its own state session, renews every lease
 * held longer than a third of its duration. All fields of the keeper are
 * guarded by its mutex; state I/O happens outside it. */
#ifndef AW_LEASE_KEEPER_H
#define AW_LEASE_KEEPER_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/state/state.h"

typedef struct aw_lease_keeper aw_lease_keeper;

/* st is borrowed and must outlive the keeper. */
aw_status aw_lease_keeper_new(aw_state *st, int64_t lease_ms, aw_lease_keeper **out,
                              aw_error *err);
void aw_lease_keeper_destroy(aw_lease_keeper *k);

/* Register a held lease (key strings are copied). Returns a handle > 0, or 0
 * when out of memory (the lease is then simply not renewed). */
uint64_t aw_lease_keeper_add(aw_lease_keeper *k, const aw_state_key *key, uint64_t token);

/* Unregister. Returns true if a renewal was refused meanwhile (the lease was
 * lost: another holder may have taken over). */
bool aw_lease_keeper_remove(aw_lease_keeper *k, uint64_t handle);

/* Renewals done so far (for tests and metrics). */
uint64_t aw_lease_keeper_renewals(aw_lease_keeper *k);

#endif
