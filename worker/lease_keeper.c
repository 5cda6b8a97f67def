#include "worker/lease_keeper.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"

typedef struct lease {
    uint64_t handle;
    const char *ns, *tenant, *id; /* borrowed from the registering worker */
    uint64_t token;
    int64_t last_renew_mono;
    bool lost;
} lease;

struct aw_lease_keeper {
    aw_state *state;            /* borrowed; immutable */
    int64_t lease_ms;           /* immutable */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* wakes the thread on stop */
    /* guarded by lock: */
    lease *leases;
    size_t n, cap;
    uint64_t next_handle;
    uint64_t renewals;
    bool stop;
};

/* The renewal thread's own copy of a due lease. */
typedef struct due_lease {
    uint64_t handle;
    char *ns, *tenant, *id;
    uint64_t token;
} due_lease;

static void due_free(due_lease *d)
{
    free(d->ns);
    free(d->tenant);
    free(d->id);
}

/* Renew every lease due, without holding the lock during state I/O. */
static void renew_due(aw_lease_keeper *k, aw_state_session *ss)
{
    int64_t now = aw_mono_now_ms();
    int64_t due_age = k->lease_ms / 3;
    pthread_mutex_lock(&k->lock);
    size_t n_due = 0;
    due_lease *due = k->n ? calloc(k->n, sizeof(*due)) : NULL;
    for (size_t i = 0; due && i < k->n; i++) {
        lease *l = &k->leases[i];
        if (l->lost || now - l->last_renew_mono < due_age)
            continue;
        due_lease *d = &due[n_due];
        d->handle = l->handle;
        d->token = l->token;
        d->ns = strdup(l->ns);
        d->tenant = strdup(l->tenant);
        d->id = strdup(l->id);
        if (!d->ns || !d->tenant || !d->id) {
            due_free(d);
            continue;
        }
        n_due++;
    }
    pthread_mutex_unlock(&k->lock);

    for (size_t i = 0; i < n_due; i++) {
        due_lease *d = &due[i];
        aw_state_key key = {.ns = d->ns, .tenant = d->tenant, .kind = "dedup", .id = d->id};
        aw_error err;
        aw_status rc = aw_state_lease_renew(ss, &key, d->token, k->lease_ms, &err);
        pthread_mutex_lock(&k->lock);
        for (size_t j = 0; j < k->n; j++) {
            lease *l = &k->leases[j];
            if (l->handle != d->handle)
                continue;
            if (rc == AW_OK) {
                l->last_renew_mono = aw_mono_now_ms();
                k->renewals++;
            } else if (rc == AW_CONFLICT) {
                l->lost = true;
            }
            break;
        }
        pthread_mutex_unlock(&k->lock);
        if (rc == AW_CONFLICT)
            AW_WARN("lease", "lease of %s:%s:%s lost (token %llu)", d->ns, d->tenant, d->id,
                    (unsigned long long)d->token);
        else if (rc != AW_OK)
            AW_WARN("lease", "renew %s:%s:%s: %s (will retry)", d->ns, d->tenant, d->id,
                    err.msg);
        due_free(d);
    }
    free(due);
}

static void *keeper_thread(void *arg)
{
    aw_lease_keeper *k = arg;
    aw_state_session *ss = NULL;
    aw_error err;
    int64_t tick = k->lease_ms / 6 > 0 ? k->lease_ms / 6 : 1;
    for (;;) {
        pthread_mutex_lock(&k->lock);
        if (!k->stop) {
            struct timespec ts;
            aw_mono_deadline(&ts, tick);
            pthread_cond_timedwait(&k->cond, &k->lock, &ts);
        }
        bool stop = k->stop;
        bool any = k->n > 0;
        pthread_mutex_unlock(&k->lock);
        if (stop)
            break;
        if (!any)
            continue;
        if (!ss && aw_state_session_open(k->state, &ss, &err) != AW_OK) {
            AW_WARN("lease", "cannot open a state session: %s", err.msg);
            ss = NULL;
            continue;
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

uint64_t aw_lease_keeper_add_batch(aw_lease_keeper *k, const aw_state_key *keys,
                                   const uint64_t *tokens, size_t n)
{
    if (n == 0)
        return 0;
    int64_t now = aw_mono_now_ms();
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
                                    .token = tokens[i], .last_renew_mono = now};
    pthread_mutex_unlock(&k->lock);
    return first;
}

bool aw_lease_keeper_remove_batch(aw_lease_keeper *k, uint64_t first, size_t n)
{
    bool lost = false;
    if (first == 0 || n == 0)
        return false;
    pthread_mutex_lock(&k->lock);
    /* One pass, compacting in place (order does not matter). */
    size_t o = 0;
    for (size_t i = 0; i < k->n; i++) {
        lease *l = &k->leases[i];
        if (l->handle >= first && l->handle - first < n)
            lost |= l->lost;
        else
            k->leases[o++] = *l;
    }
    k->n = o;
    pthread_mutex_unlock(&k->lock);
    return lost;
}

uint64_t aw_lease_keeper_renewals(aw_lease_keeper *k)
{
    pthread_mutex_lock(&k->lock);
    uint64_t n = k->renewals;
    pthread_mutex_unlock(&k->lock);
    return n;
}
