/* The state backend interface, for implementers (callers use state.h).
 *
 * One `static const aw_state_driver` per backend, registered by name in
 * backends/state/state.c. A backend object (`void *backend`) is created once
 * and shared by all threads: create/destroy and session_open must be
 * thread-safe. A session (`void *session`) belongs to one thread at a time (it
 * wraps a redisContext, PGconn, CURL*...): operations on one session are never
 * called concurrently.
 *
 * Required slots: every one except `migrate` and the due_* family (see
 * there). A backend without atomic
 * compare-and-set still fills every slot (best effort) and leaves
 * AW_STATE_CAP_ATOMIC out of caps; the worker then refuses it for dedup and
 * locks unless the operator opts in.
 *
 * Every operation returns AW_OK or an error code and fills err. Semantics are
 * those of docs/design.md section 3, checked for every
 * backend by tests/conformance:
 *  - ttl_ms <= 0 means "no expiry", and `set` without TTL clears an old expiry;
 *  - expired keys behave exactly as absent keys;
 *  - versions are 1 on insert and +1 on every write of the key;
 *  - tokens (locks and claims) strictly increase per name/identity;
 *  - a counter is a value like any other: increment bumps the version, get
 *    returns its decimal text, incrementing a non-number is AW_PERMANENT;
 *  - dedup records (claim/complete/lease_*) live apart from plain values and
 *    locks; their key.kind is ignored;
 *  - lease_ms <= 0 is refused (AW_PERMANENT, by the front in
 *    state_claims.c): a lease must expire, or a crashed holder would block
 *    its identity forever;
 *  - complete and renew after the lease expired report `stale` even if
 *    nobody took over: holding the lease means holding it now (the worker
 *    renews it). */
#ifndef AW_STATE_BACKEND_H
#define AW_STATE_BACKEND_H

#include "backends/state/state_types.h"

/* The largest `limit` of one due_take (one round trip's worth). */
#define AW_DUE_TAKE_MAX 1000

typedef struct aw_state_driver {
    const char *name;
    unsigned caps;

    aw_status (*create)(const aw_state_options *opts, void **backend, aw_error *err);
    void (*destroy)(void *backend);
    aw_status (*session_open)(void *backend, void **session, aw_error *err);
    void (*session_close)(void *session);

    /* *written = true iff the key was absent or expired and is now set. */
    aw_status (*check_and_set)(void *s, const aw_state_key *k, const void *val, size_t len,
                               int64_t ttl_ms, bool *written, aw_error *err);
    /* AW_NOT_FOUND when absent. out->version is filled too. */
    aw_status (*get)(void *s, const aw_state_key *k, aw_state_value *out, aw_error *err);
    /* Upsert; *version (may be NULL) receives the new version. */
    aw_status (*set)(void *s, const aw_state_key *k, const void *val, size_t len,
                     int64_t ttl_ms, uint64_t *version, aw_error *err);
    /* *existed = true iff a live key was deleted. */
    aw_status (*del)(void *s, const aw_state_key *k, bool *existed, aw_error *err);
    /* Atomic add; an absent/expired key counts as 0. ttl_ms applies when the
     * counter is created (an existing counter keeps its expiry). */
    aw_status (*increment)(void *s, const aw_state_key *k, int64_t delta, int64_t ttl_ms,
                           int64_t *value, aw_error *err);
    /* Write iff the current version equals expected (0 = "key must be
     * absent"). On mismatch return AW_CONFLICT with *current set (0 if absent). */
    aw_status (*compare_and_swap)(void *s, const aw_state_key *k, uint64_t expected,
                                  const void *val, size_t len, int64_t ttl_ms,
                                  uint64_t *current, aw_error *err);
    /* Live keys of (ns, tenant, kind) whose id starts with prefix, literally. */
    aw_status (*scan)(void *s, const char *ns, const char *tenant, const char *kind,
                      const char *prefix, aw_state_scan_fn fn, void *ud, aw_error *err);

    /* Locks: k names the lock. acquire returns AW_CONFLICT while another
     * holder's lease lives. extend/release by a non-holder (or after expiry)
     * change nothing and return AW_CONFLICT. */
    aw_status (*lock_acquire)(void *s, const aw_state_key *k, int64_t ttl_ms,
                              uint64_t *token, aw_error *err);
    aw_status (*lock_extend)(void *s, const aw_state_key *k, uint64_t token, int64_t ttl_ms,
                             aw_error *err);
    aw_status (*lock_release)(void *s, const aw_state_key *k, uint64_t token, aw_error *err);

    /* Two-phase dedup, a whole micro-batch per call (one round trip for
     * remote backends). Per-item results go into the items; the return code
     * covers the call (on error no item result is meaningful).
     *
     * Precondition (the front, state_claims.c, establishes it, so drivers
     * do not check it again): every identity (ns, tenant, id) appears once
     * per call, and n >= 1; lease_ms > 0 and key.ns / key.tenant are set
     * on every item;
     * outputs are already reset (claims BUSY with zero token, no done
     * record; completes stale), so a driver writes only what it learns.
     * The front also frees and resets every item when the driver fails.
     * claim_batch outputs are overwritten without being freed: call
     * aw_claim_clear() before reusing an item. */
    aw_status (*claim_batch)(void *s, aw_claim *items, size_t n, aw_error *err);
    aw_status (*complete_batch)(void *s, aw_complete *items, size_t n, aw_error *err);
    /* Renew held leases, a batch per call under the same precondition
     * (identities unique, n >= 1, lease_ms > 0, keys with ns and tenant,
     * every item reset to stale): item i is renewed, its lease now ending
     * lease_ms after the backend's now, iff items[i].token holds the live
     * lease of its identity; otherwise the driver leaves it stale and
     * writes nothing of it. One round trip for remote backends where the
     * backend allows it (each driver's header says how). The single
     * renewal, aw_state_lease_renew, is this call with n = 1. */
    aw_status (*lease_renew_batch)(void *s, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                                   aw_error *err);
    /* Drop a held lease without a done record (execution abandoned, e.g. on
     * shutdown before the provider ran). AW_CONFLICT if not held. */
    aw_status (*lease_release)(void *s, const aw_state_key *k, uint64_t token, aw_error *err);

    /* Due-time index (docs/design.md section 3, "due index"): timers that
     * exactly one replica takes at a time. Optional as a family: a backend
     * leaves all five slots (put, take, done, release, extend) NULL when it
     * does not offer it (the front, state_due.c, then answers
     * AW_UNSUPPORTED) or fills all five.
     *
     * Items are keyed by (ns, tenant, kind, id) and taken per pool
     * (ns, kind), across tenants. due_ms is a wall-clock time in ms chosen
     * by the caller and compared with the caller's now_ms only; a lease is
     * judged by the backend's own clock (as dedup leases are), so replicas
     * with skewed clocks cannot cut each other's leases short.
     *
     * Precondition (the front establishes it): keys and pools with ns,
     * tenant (keys) and kind set; due_ms >= 0; 0 < limit <=
     * AW_DUE_TAKE_MAX; lease_ms > 0; out[0..limit) zeroed and *n == 0.
     * On a driver error the front frees whatever the driver left in out. */
    /* Upsert: value and due time replaced, lease state kept "not leased".
     * AW_CONFLICT, nothing written, while the item's lease is live (its
     * holder is working on the old value). */
    aw_status (*due_put)(void *s, const aw_state_key *k, int64_t due_ms, const void *val,
                         size_t len, aw_error *err);
    /* Lease up to limit items of pool (ns, kind) with due_ms <= now_ms and
     * no live lease, oldest due first, each for lease_ms with a new token
     * (strictly greater than every earlier token of that item, across
     * done/put too). out[0..*n) sorted by due_ms ascending. Atomic per
     * item: two concurrent takes never both get an item's live lease. */
    aw_status (*due_take)(void *s, const char *ns, const char *kind, int64_t now_ms, size_t limit,
                          int64_t lease_ms, aw_due_item *out, size_t *n, aw_error *err);
    /* Delete the item iff token holds its live lease; else AW_CONFLICT and
     * nothing written (a stale holder: expired, re-taken, or gone). */
    aw_status (*due_done)(void *s, const aw_state_key *k, uint64_t token, aw_error *err);
    /* End the lease iff token holds it (else AW_CONFLICT), keeping the item:
     * it is offered again from retry_at_ms when > 0 (its due_ms becomes
     * retry_at_ms), else from its current due_ms. */
    aw_status (*due_release)(void *s, const aw_state_key *k, uint64_t token, int64_t retry_at_ms,
                             aw_error *err);
    /* Extend held leases, a batch per call (the front establishes: 0 < n
     * <= AW_DUE_TAKE_MAX, keys distinct within the batch, lease_ms > 0,
     * every item reset to stale): item i's lease is extended to end
     * lease_ms after the backend's now iff items[i].token holds the live
     * lease of its item; otherwise the driver leaves it stale and writes
     * nothing of it (an expired lease is not revived, even if nobody took
     * the item: as for dedup leases). The item's due time, value and token
     * are kept. One round trip for remote backends (each driver says how);
     * per item atomic, not across the batch. The scheduler's lease keeper
     * calls it while the items' jobs run (docs/scheduling.md). */
    aw_status (*due_extend)(void *s, aw_due_extension *items, size_t n, int64_t lease_ms,
                            aw_error *err);
    /* Optional, even with the four above (NULL: the front answers
     * AW_UNSUPPORTED). Fill out (zeroed by the front) with pool (ns,
     * kind)'s counts at now_ms: items = every item, waiting = due_ms <=
     * now_ms and no live lease (an expired lease counts as not leased, as
     * for take), oldest_due_ms = the smallest due_ms of those. Reads only;
     * no lock on the pool: concurrent takes may move items between the
     * counts. Called every few seconds per replica on pools of up to
     * millions of items: each driver bounds its cost (and says what it is
     * in its comment); where it stops at a bound it sets out->partial. */
    aw_status (*due_stats)(void *s, const char *ns, const char *kind, int64_t now_ms,
                           aw_due_stats *out, aw_error *err);

    /* Optional (NULL = the backend has no schema to manage). Bring the
     * backend's schema up to date: forward-only, idempotent (a second run
     * applies nothing), safe to run concurrently from several processes.
     * Called by `acteon-worker migrate -c FILE` only; create() never
     * migrates, it fails when the schema is missing or older than the
     * build needs, saying to run that command. *applied (may be NULL)
     * receives the number of migrations this call applied. */
    aw_status (*migrate)(const aw_state_options *opts, int *applied, aw_error *err);
} aw_state_driver;

/* Drivers compiled in. NULL-terminated, for the registry. */
extern const aw_state_driver aw_state_memory_driver;
extern const aw_state_driver aw_state_faulty_driver;   /* fault injection (tests) */
extern const aw_state_driver aw_state_redis_driver;    /* AW_WITH_STATE_REDIS */
extern const aw_state_driver aw_state_postgres_driver; /* AW_WITH_STATE_POSTGRES */
extern const aw_state_driver aw_state_dynamodb_driver; /* AW_WITH_STATE_DYNAMODB */
extern const aw_state_driver aw_state_clickhouse_driver; /* AW_WITH_CLICKHOUSE; not atomic */

#endif
