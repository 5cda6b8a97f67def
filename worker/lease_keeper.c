#include "worker/lease_keeper.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/aw_clock.h"
#include "common/aw_fail_log.h"
#include "common/aw_log.h"

/* Leases named one by one when a renewal batch loses them (then a count). */
#define AW_LEASE_KEEPER_LOST_LINES 8

/* Failures every lease shares are logged once per transition, not once per
 * lease and attempt. */
static aw_fail_log open_log = AW_FAIL_LOG_INIT("lease", "lease keeper: state session",
                                               "retried every lease_ms/6",
                                               AW_FAIL_LOG_REMIND_MS);
static aw_fail_log renew_log = AW_FAIL_LOG_INIT("lease", "lease renewals",
                                                "retried every lease_ms/6; no call starts on a "
                                                "lease not known held",
                                                AW_FAIL_LOG_REMIND_MS);

/* What a registered lease is, hence how it is renewed. The order is the
 * order of a pass: dedup leases first (the most), then due leases, then
 * locks (one call each). */
typedef enum lease_type { LEASE_DEDUP, LEASE_DUE, LEASE_LOCK } lease_type;

typedef struct lease {
    uint64_t handle;
    const char *ns, *tenant, *id; /* borrowed from the registering worker */
    const char *kind;             /* key.kind of a lock or due item (borrowed); NULL: dedup */
    lease_type type;
    int64_t ttl_ms;               /* the lease's duration */
    uint64_t token;
    int64_t sent_mono;            /* the claim or last successful renewal was sent */
    bool lost;
} lease;

struct aw_lease_keeper {
    aw_state *state;            /* borrowed; immutable */
    int64_t lease_ms;           /* immutable: the dedup leases' duration */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* wakes the thread on stop and on a shorter tick */
    /* guarded by lock: */
    lease *leases;              /* ascending by handle (appended, compacted in order) */
    size_t n, cap;
    uint64_t next_handle;
    uint64_t renewals;
    int64_t tick_ms;            /* wake-up period: a sixth of the shortest
                                   duration registered so far */
    bool stop;
};

/* The renewal thread's own copy of a lease due for renewal. */
typedef struct due_lease {
    uint64_t handle;
    char *ns, *tenant, *id;
    char *kind;        /* NULL: a dedup lease */
    lease_type type;
    int64_t ttl_ms;
    uint64_t token;
    int64_t sent_mono; /* when its claim or last renewal was sent: the oldest go first */
} due_lease;

static void due_free(due_lease *d)
{
    free(d->ns);
    free(d->tenant);
    free(d->id);
    free(d->kind);
}

/* The first registered lease with a handle >= handle, or NULL. Binary
 * search: the array is ascending by handle. Caller holds k->lock. */
static lease *find_from(aw_lease_keeper *k, uint64_t handle)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->leases[mid].handle < handle)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k->n ? &k->leases[lo] : NULL;
}

/* The registered lease with this handle, or NULL. Caller holds k->lock. */
static lease *find(aw_lease_keeper *k, uint64_t handle)
{
    lease *l = find_from(k, handle);
    return l && l->handle == handle ? l : NULL;
}

/* A pass's order: by type (one state call per batch of one type), then
 * oldest renewal first. */
static int by_type_then_sent(const void *a, const void *b)
{
    const due_lease *x = a, *y = b;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return (x->sent_mono > y->sent_mono) - (x->sent_mono < y->sent_mono);
}

/* Until when a lease is known held (see the header). */
static int64_t held_until(const lease *l)
{
    return l->lost ? 0 : l->sent_mono + l->ttl_ms - l->ttl_ms / 10;
}

/* Copy the leases due for renewal (held for a third of their duration or more,
 * not lost), by type, oldest renewal first within a type: when a pass takes
 * long, the leases closest to their end are renewed first. Returns the copies (NULL when
 * none or out of memory; a lease that cannot be copied waits for the next
 * pass). */
static due_lease *collect_due(aw_lease_keeper *k, size_t *n_due)
{
    int64_t now = aw_mono_now_ms();
    *n_due = 0;
    pthread_mutex_lock(&k->lock);
    due_lease *due = k->n ? calloc(k->n, sizeof(*due)) : NULL;
    for (size_t i = 0; due && i < k->n; i++) {
        lease *l = &k->leases[i];
        if (l->lost || now - l->sent_mono < l->ttl_ms / 3)
            continue;
        due_lease *d = &due[*n_due];
        *d = (due_lease){.handle = l->handle, .token = l->token, .sent_mono = l->sent_mono,
                         .ttl_ms = l->ttl_ms, .ns = strdup(l->ns), .tenant = strdup(l->tenant),
                         .id = strdup(l->id), .type = l->type,
                         .kind = l->kind ? strdup(l->kind) : NULL};
        if (!d->ns || !d->tenant || !d->id || (l->kind && !d->kind)) {
            due_free(d);
            continue;
        }
        (*n_due)++;
    }
    pthread_mutex_unlock(&k->lock);
    if (*n_due > 1)
        qsort(due, *n_due, sizeof(*due), by_type_then_sent);
    return due;
}

/* Log the leases one batch lost: each of the first few by name, then how
 * many more (a backend that was away for a whole lease makes hundreds
 * stale at once). */
static void log_lost(const due_lease *d, const bool *stale, const bool *registered, size_t m)
{
    size_t lost = 0;
    for (size_t i = 0; i < m; i++) {
        if (!registered[i] || !stale[i])
            continue;
        if (++lost <= AW_LEASE_KEEPER_LOST_LINES)
            AW_WARN("lease", "%s of %s:%s:%s lost (token %llu)",
                    d[i].type == LEASE_DUE ? "due lease" : "lease", d[i].ns, d[i].tenant,
                    d[i].id, (unsigned long long)d[i].token);
    }
    if (lost > AW_LEASE_KEEPER_LOST_LINES)
        AW_WARN("lease", "%zu more lease(s) lost in the same renewal batch",
                lost - AW_LEASE_KEEPER_LOST_LINES);
}

/* Renew d[0..m) (m <= AW_LEASE_KEEPER_BATCH, all dedup leases, or all due
 * leases of one duration) in one state call: lease_renew_batch or
 * due_extend. Answers in stale[]; false when the call failed. */
static bool renew_call(aw_lease_keeper *k, aw_state_session *ss, const due_lease *d, size_t m,
                       bool *stale, aw_error *err)
{
    aw_status rc;
    if (d[0].type == LEASE_DUE) {
        aw_due_extension items[AW_LEASE_KEEPER_BATCH];
        for (size_t i = 0; i < m; i++)
            items[i] = (aw_due_extension){
                .key = {.ns = d[i].ns, .tenant = d[i].tenant, .kind = d[i].kind, .id = d[i].id},
                .token = d[i].token};
        rc = aw_state_due_extend(ss, items, m, d[0].ttl_ms, err);
        for (size_t i = 0; i < m; i++)
            stale[i] = items[i].stale;
    } else {
        aw_lease_renewal items[AW_LEASE_KEEPER_BATCH];
        for (size_t i = 0; i < m; i++)
            items[i] = (aw_lease_renewal){
                .key = {.ns = d[i].ns, .tenant = d[i].tenant, .kind = "dedup", .id = d[i].id},
                .token = d[i].token};
        rc = aw_state_lease_renew_batch(ss, items, m, k->lease_ms, err);
        for (size_t i = 0; i < m; i++)
            stale[i] = items[i].stale;
    }
    return rc == AW_OK;
}

/* Renew d[0..m) in one state call (renew_call), then book the answers
 * under the lock: a renewed lease is known held from the time the request
 * was sent, a stale one is lost at once; a failed call changes nothing. A
 * lease removed meanwhile was completed: its renewal racing the complete
 * is refused, and that is no loss. */
static void renew_batch(aw_lease_keeper *k, aw_state_session *ss, const due_lease *d, size_t m)
{
    bool stale[AW_LEASE_KEEPER_BATCH];
    bool registered[AW_LEASE_KEEPER_BATCH];
    aw_error err;
    aw_error_clear(&err);
    int64_t sent = aw_mono_now_ms();
    bool ok = renew_call(k, ss, d, m, stale, &err);
    pthread_mutex_lock(&k->lock);
    for (size_t i = 0; i < m; i++) {
        lease *l = find(k, d[i].handle);
        registered[i] = l != NULL;
        if (!l || !ok)
            continue;
        if (stale[i]) {
            l->lost = true;
        } else {
            l->sent_mono = sent;
            k->renewals++;
        }
    }
    pthread_mutex_unlock(&k->lock);
    if (!ok) {
        aw_fail_log_failed(&renew_log, err.msg);
        return;
    }
    aw_fail_log_ok(&renew_log);
    log_lost(d, stale, registered, m);
}

/* Extend one lock (the state interface has no batch of lock extensions;
 * locks are few: one per lock key being executed). Booked like a renewal:
 * AW_CONFLICT (another holder, or expired) loses it, another failure
 * changes nothing. */
static void extend_lock(aw_lease_keeper *k, aw_state_session *ss, const due_lease *d)
{
    aw_state_key key = {.ns = d->ns, .tenant = d->tenant, .kind = d->kind, .id = d->id};
    aw_error err;
    int64_t sent = aw_mono_now_ms();
    aw_status rc = aw_state_lock_extend(ss, &key, d->token, d->ttl_ms, &err);
    pthread_mutex_lock(&k->lock);
    lease *l = find(k, d->handle);
    bool registered = l != NULL;
    if (l && rc == AW_OK) {
        l->sent_mono = sent;
        k->renewals++;
    } else if (l && rc == AW_CONFLICT) {
        l->lost = true;
    }
    pthread_mutex_unlock(&k->lock);
    if (rc == AW_CONFLICT && registered)
        AW_WARN("lease", "lock %s:%s lost (token %llu)", d->tenant, d->id,
                (unsigned long long)d->token);
    else if (rc != AW_OK && rc != AW_CONFLICT)
        aw_fail_log_failed(&renew_log, err.msg);
}

/* Renew every lease due without holding the lock during state I/O:
 * AW_LEASE_KEEPER_BATCH dedup leases per state call, then the due leases
 * the same way (a batch never mixing durations), then the locks one by
 * one. collect_due sorted them so (by type, oldest first within each). */
static void renew_due(aw_lease_keeper *k, aw_state_session *ss)
{
    size_t n_due;
    due_lease *due = collect_due(k, &n_due);
    size_t i = 0;
    while (i < n_due && due[i].type != LEASE_LOCK) {
        size_t m = 1;
        while (i + m < n_due && m < AW_LEASE_KEEPER_BATCH && due[i + m].type == due[i].type &&
               due[i + m].ttl_ms == due[i].ttl_ms)
            m++;
        renew_batch(k, ss, due + i, m);
        i += m;
    }
    for (; i < n_due; i++)
        extend_lock(k, ss, &due[i]);
    for (i = 0; i < n_due; i++)
        due_free(&due[i]);
    free(due);
}

static void *keeper_thread(void *arg)
{
    aw_lease_keeper *k = arg;
    aw_state_session *ss = NULL;
    aw_error err;
    for (;;) {
        pthread_mutex_lock(&k->lock);
        if (!k->stop) {
            struct timespec ts;
            aw_mono_deadline(&ts, k->tick_ms);
            pthread_cond_timedwait(&k->cond, &k->lock, &ts);
        }
        bool stop = k->stop;
        bool any = k->n > 0;
        pthread_mutex_unlock(&k->lock);
        if (stop)
            break;
        if (!any)
            continue;
        if (!ss) {
            if (aw_state_session_open(k->state, &ss, &err) != AW_OK) {
                aw_fail_log_failed(&open_log, err.msg);
                ss = NULL;
                continue;
            }
            aw_fail_log_ok(&open_log);
        }
        renew_due(k, ss);
    }
    aw_state_session_close(ss);
    return NULL;
}

aw_status aw_lease_keeper_new(aw_state *st, int64_t lease_ms, aw_lease_keeper **out,
                              aw_error *err)
{
    *out = NULL;
    aw_lease_keeper *k = calloc(1, sizeof(*k));
    if (!k)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    k->state = st;
    k->lease_ms = lease_ms;
    k->tick_ms = lease_ms / 6 > 0 ? lease_ms / 6 : 1;
    k->next_handle = 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&k->thread, NULL, keeper_thread, k)) {
        pthread_cond_destroy(&k->cond);
        pthread_mutex_destroy(&k->lock);
        free(k);
        return aw_error_set(err, AW_INTERNAL, "cannot start the lease keeper thread");
    }
    *out = k;
    return AW_OK;
}

void aw_lease_keeper_destroy(aw_lease_keeper *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    k->stop = true;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    free(k->leases); /* the key strings are the workers' */
    pthread_cond_destroy(&k->cond);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* Register keys[0..n) as leases of type t and duration ttl_ms, under one
 * lock (the renewal thread sees them whole). A duration shorter than any
 * so far wakes the thread more often: enough to renew it at a third of
 * its life. */
static uint64_t add(aw_lease_keeper *k, const aw_state_key *keys, const uint64_t *tokens,
                    size_t n, lease_type t, int64_t ttl_ms, int64_t sent_mono)
{
    if (n == 0)
        return 0;
    pthread_mutex_lock(&k->lock);
    if (k->n + n > k->cap) {
        size_t ncap = k->cap ? k->cap : 16;
        while (ncap < k->n + n)
            ncap *= 2;
        lease *nl = realloc(k->leases, ncap * sizeof(lease));
        if (!nl) {
            pthread_mutex_unlock(&k->lock);
            return 0;
        }
        k->leases = nl;
        k->cap = ncap;
    }
    uint64_t first = k->next_handle;
    k->next_handle += n;
    for (size_t i = 0; i < n; i++)
        k->leases[k->n++] = (lease){.handle = first + i, .ns = keys[i].ns,
                                    .tenant = keys[i].tenant, .id = keys[i].id,
                                    .kind = t == LEASE_DEDUP ? NULL : keys[i].kind, .type = t,
                                    .ttl_ms = ttl_ms, .token = tokens[i],
                                    .sent_mono = sent_mono};
    if (ttl_ms / 6 < k->tick_ms) {
        k->tick_ms = ttl_ms / 6 > 0 ? ttl_ms / 6 : 1;
        /* The wait in progress may be far longer (dedup.lease_ms / 6 against
         * a 1 s schedule.lease_ms): cut it short, the new tick applies at
         * once. An early pass renews only what is due. */
        pthread_cond_signal(&k->cond);
    }
    pthread_mutex_unlock(&k->lock);
    return first;
}

uint64_t aw_lease_keeper_add_batch(aw_lease_keeper *k, const aw_state_key *keys,
                                   const uint64_t *tokens, size_t n, int64_t sent_mono)
{
    return add(k, keys, tokens, n, LEASE_DEDUP, k->lease_ms, sent_mono);
}

uint64_t aw_lease_keeper_add_lock(aw_lease_keeper *k, const aw_state_key *key, uint64_t token,
                                  int64_t ttl_ms, int64_t sent_mono)
{
    return add(k, key, &token, 1, LEASE_LOCK, ttl_ms, sent_mono);
}

uint64_t aw_lease_keeper_add_due(aw_lease_keeper *k, const aw_state_key *keys,
                                 const uint64_t *tokens, size_t n, int64_t lease_ms,
                                 int64_t sent_mono)
{
    return add(k, keys, tokens, n, LEASE_DUE, lease_ms, sent_mono);
}

int64_t aw_lease_keeper_held_until(aw_lease_keeper *k, uint64_t handle)
{
    int64_t until = 0;
    pthread_mutex_lock(&k->lock);
    const lease *l = handle ? find(k, handle) : NULL;
    if (l)
        until = held_until(l);
    pthread_mutex_unlock(&k->lock);
    return until;
}

int64_t aw_lease_keeper_held_until_batch(aw_lease_keeper *k, uint64_t first, size_t n)
{
    int64_t until = INT64_MAX;
    pthread_mutex_lock(&k->lock);
    const lease *l = first && n ? find_from(k, first) : NULL;
    for (; l && l < k->leases + k->n && l->handle - first < n; l++) {
        int64_t u = held_until(l);
        if (u < until)
            until = u;
    }
    pthread_mutex_unlock(&k->lock);
    return until;
}

/* Drop the leases for which gone(handle) is true, in one pass that keeps the
 * order. Caller holds k->lock. */
static void compact(aw_lease_keeper *k, bool (*gone)(const void *ud, uint64_t h),
                    const void *ud)
{
    size_t o = 0;
    for (size_t i = 0; i < k->n; i++)
        if (!gone(ud, k->leases[i].handle))
            k->leases[o++] = k->leases[i];
    k->n = o;
}

typedef struct handle_list {
    const uint64_t *h;
    size_t n, next; /* next: the first not yet passed (both ascend) */
} handle_list;

static bool in_list(const void *ud, uint64_t h)
{
    handle_list *l = (handle_list *)ud;
    while (l->next < l->n && l->h[l->next] < h)
        l->next++;
    return l->next < l->n && l->h[l->next] == h;
}

void aw_lease_keeper_remove(aw_lease_keeper *k, const uint64_t *handles, size_t n)
{
    if (n == 0)
        return;
    handle_list l = {.h = handles, .n = n};
    pthread_mutex_lock(&k->lock);
    compact(k, in_list, &l);
    pthread_mutex_unlock(&k->lock);
}

typedef struct handle_range {
    uint64_t first;
    size_t n;
} handle_range;

static bool in_range(const void *ud, uint64_t h)
{
    const handle_range *r = ud;
    return h >= r->first && h - r->first < r->n;
}

void aw_lease_keeper_remove_batch(aw_lease_keeper *k, uint64_t first, size_t n)
{
    if (first == 0 || n == 0)
        return;
    handle_range r = {first, n};
    pthread_mutex_lock(&k->lock);
    compact(k, in_range, &r);
    pthread_mutex_unlock(&k->lock);
}

uint64_t aw_lease_keeper_renewals(aw_lease_keeper *k)
{
    pthread_mutex_lock(&k->lock);
    uint64_t n = k->renewals;
    pthread_mutex_unlock(&k->lock);
    return n;
}
