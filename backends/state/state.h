/* The state interface for callers (the worker, tests, tools).
 *
 * aw_state is the shared backend handle (thread-safe); aw_state_session is
 * one thread's connection. Ownership: aw_state_new() returns an object owned
 * by the caller, freed with aw_state_destroy() after every session of it was
 * closed. Sessions are owned by the thread that opened them. */
#ifndef AW_STATE_H
#define AW_STATE_H

#include "backends/state/state_backend.h"

typedef struct aw_state {
    const aw_state_driver *driver;
    void *backend;
} aw_state;

/* Scratch space of the claim rules (state_claims.c), per session. */
typedef struct aw_state_batch aw_state_batch;

typedef struct aw_state_session {
    const aw_state_driver *driver;
    void *session;
    aw_state_batch *batch; /* NULL until the first batch of two or more items */
} aw_state_session;

/* Look a driver up by name; NULL if unknown. */
const aw_state_driver *aw_state_driver_find(const char *name);
/* Comma-separated list of compiled-in driver names, for error messages. */
const char *aw_state_driver_names(void);

/* Create a backend by name. Unknown name -> AW_CONFIG naming the valid ones. */
aw_status aw_state_new(const char *name, const aw_state_options *opts, aw_state **out,
                       aw_error *err);
void aw_state_destroy(aw_state *st);

aw_status aw_state_session_open(aw_state *st, aw_state_session **out, aw_error *err);
void aw_state_session_close(aw_state_session *ss);

static inline bool aw_state_is_atomic(const aw_state *st)
{
    return (st->driver->caps & AW_STATE_CAP_ATOMIC) != 0;
}

/* The start-up rule for backends without AW_STATE_CAP_ATOMIC, in one place
 * for `run` and `config check`: AW_CONFIG naming
 * state.allow_eventual_consistency when the backend `name` is not atomic
 * and allow_eventual is false; AW_OK otherwise (unknown names included:
 * aw_state_new reports those). *best_effort (may be NULL) is set when the
 * backend is accepted only because of the flag: the caller warns. Pure. */
aw_status aw_state_check_consistency(const char *name, bool allow_eventual, bool *best_effort,
                                     aw_error *err);

/* Thin wrappers: see state_backend.h for the semantics of each. */
static inline aw_status aw_state_check_and_set(aw_state_session *s, const aw_state_key *k,
                                               const void *v, size_t len, int64_t ttl_ms,
                                               bool *written, aw_error *err)
{
    return s->driver->check_and_set(s->session, k, v, len, ttl_ms, written, err);
}
static inline aw_status aw_state_get(aw_state_session *s, const aw_state_key *k,
                                     aw_state_value *out, aw_error *err)
{
    return s->driver->get(s->session, k, out, err);
}
static inline aw_status aw_state_set(aw_state_session *s, const aw_state_key *k, const void *v,
                                     size_t len, int64_t ttl_ms, uint64_t *version,
                                     aw_error *err)
{
    return s->driver->set(s->session, k, v, len, ttl_ms, version, err);
}
static inline aw_status aw_state_delete(aw_state_session *s, const aw_state_key *k,
                                        bool *existed, aw_error *err)
{
    return s->driver->del(s->session, k, existed, err);
}
static inline aw_status aw_state_increment(aw_state_session *s, const aw_state_key *k,
                                           int64_t delta, int64_t ttl_ms, int64_t *value,
                                           aw_error *err)
{
    return s->driver->increment(s->session, k, delta, ttl_ms, value, err);
}
static inline aw_status aw_state_compare_and_swap(aw_state_session *s, const aw_state_key *k,
                                                  uint64_t expected, const void *v, size_t len,
                                                  int64_t ttl_ms, uint64_t *current,
                                                  aw_error *err)
{
    return s->driver->compare_and_swap(s->session, k, expected, v, len, ttl_ms, current, err);
}
static inline aw_status aw_state_scan(aw_state_session *s, const char *ns, const char *tenant,
                                      const char *kind, const char *prefix,
                                      aw_state_scan_fn fn, void *ud, aw_error *err)
{
    return s->driver->scan(s->session, ns, tenant, kind, prefix, fn, ud, err);
}
static inline aw_status aw_state_lock_acquire(aw_state_session *s, const aw_state_key *k,
                                              int64_t ttl_ms, uint64_t *token, aw_error *err)
{
    return s->driver->lock_acquire(s->session, k, ttl_ms, token, err);
}
static inline aw_status aw_state_lock_extend(aw_state_session *s, const aw_state_key *k,
                                             uint64_t token, int64_t ttl_ms, aw_error *err)
{
    return s->driver->lock_extend(s->session, k, token, ttl_ms, err);
}
static inline aw_status aw_state_lock_release(aw_state_session *s, const aw_state_key *k,
                                              uint64_t token, aw_error *err)
{
    return s->driver->lock_release(s->session, k, token, err);
}
/* The two-phase dedup calls enforce the claim rules for every backend
 * (state_claims.c): arguments validated first (lease_ms > 0, keys with a
 * namespace and tenant: AW_PERMANENT, nothing sent), outputs reset, repeats
 * of one identity within a batch folded so the driver sees each identity
 * once; on error every item is reset (claim done records freed). */
aw_status aw_state_claim_batch(aw_state_session *s, aw_claim *items, size_t n, aw_error *err);
aw_status aw_state_complete_batch(aw_state_session *s, aw_complete *items, size_t n,
                                  aw_error *err);
/* Renew many leases in one driver call (the same validation; repeats of an
 * identity get what renewing item by item gives them: every item with the
 * holder's token is renewed, every other one is stale). On error every item
 * is stale and no result is meaningful: the caller extends nothing. */
aw_status aw_state_lease_renew_batch(aw_state_session *s, aw_lease_renewal *items, size_t n,
                                     int64_t lease_ms, aw_error *err);
/* One lease: the batch of one; AW_CONFLICT when it is stale. */
aw_status aw_state_lease_renew(aw_state_session *s, const aw_state_key *k, uint64_t token,
                               int64_t lease_ms, aw_error *err);
/* For aw_state_session_close. */
void aw_state_batch_free(aw_state_batch *b);
static inline aw_status aw_state_lease_release(aw_state_session *s, const aw_state_key *k,
                                               uint64_t token, aw_error *err)
{
    return s->driver->lease_release(s->session, k, token, err);
}

/* The due-time index (state_backend.h, "Due-time index"), through the front
 * in state_due.c: arguments validated first (AW_PERMANENT, nothing sent:
 * keys need ns, tenant and kind; due_ms >= 0; 0 < limit <= AW_DUE_TAKE_MAX;
 * lease_ms > 0), AW_UNSUPPORTED when the backend has no due index.
 * due_take zeroes out[0..limit) first and, on error, frees it and sets
 * *n = 0; on success the caller owns out[0..*n) (aw_due_item_clear each). */
aw_status aw_state_due_put(aw_state_session *s, const aw_state_key *k, int64_t due_ms,
                           const void *val, size_t len, aw_error *err);
aw_status aw_state_due_take(aw_state_session *s, const char *ns, const char *kind,
                            int64_t now_ms, size_t limit, int64_t lease_ms, aw_due_item *out,
                            size_t *n, aw_error *err);
aw_status aw_state_due_done(aw_state_session *s, const aw_state_key *k, uint64_t token,
                            aw_error *err);
aw_status aw_state_due_release(aw_state_session *s, const aw_state_key *k, uint64_t token,
                               int64_t retry_at_ms, aw_error *err);
/* Extend the held leases items[0..n) (state_backend.h, due_extend): each
 * item's stale is reset first; AW_PERMANENT, nothing sent, when n is 0 or
 * above AW_DUE_TAKE_MAX, lease_ms <= 0, a key lacks ns/tenant/kind or a key
 * appears twice. On error every item is stale (none counts as extended). */
aw_status aw_state_due_extend(aw_state_session *s, aw_due_extension *items, size_t n,
                              int64_t lease_ms, aw_error *err);
/* Pool (ns, kind)'s counts at now_ms (aw_due_stats): *out zeroed first and
 * left zeroed on error; AW_PERMANENT without ns or kind or with now_ms < 0,
 * AW_UNSUPPORTED when the backend has no due_stats (ClickHouse, and any
 * without a due index). For metrics: a snapshot, see the driver slot. */
aw_status aw_state_due_stats(aw_state_session *s, const char *ns, const char *kind,
                             int64_t now_ms, aw_due_stats *out, aw_error *err);

#endif
