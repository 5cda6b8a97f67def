/* The due-time index of the "memory" state backend.
 *
 * Layout: one array of items (in no particular order) under one mutex, mu.
 * put, done and release find an item by a linear search; take scans every
 * item, picks the eligible ones and sorts those by due time. O(n) per
 * operation: right for the memory backend's use (one process, tests, a
 * few thousand timers), not for millions of items (see docs/backends/
 * memory.md).
 *
 * Clocks: due_ms is the caller's wall clock and is only compared with the
 * caller's now_ms; a lease ends at a CLOCK_MONOTONIC deadline, as every
 * other TTL of this backend (memory_state.c says why).
 *
 * Tokens come from one counter of the index, guarded by mu: they increase
 * for every item, across done and a later put of the same key. */
#include "backends/state/memory/memory_due.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"

typedef struct mem_due_item {
    char *ns, *tenant, *kind, *id; /* the key, owned */
    char *value;                   /* owned, NUL-terminated */
    size_t len;
    int64_t due_ms;                /* caller's wall clock */
    uint64_t token;                /* of the last lease; 0 = never leased */
    int64_t lease_until;           /* monotonic deadline; 0 = not leased */
} mem_due_item;

struct aw_mem_due {
    pthread_mutex_t mu;
    /* guarded by mu: */
    mem_due_item *items;
    size_t n, cap;
    uint64_t last_token;
};

static aw_status nomem(aw_error *err) { return aw_error_set(err, AW_NOMEM, "out of memory"); }

aw_mem_due *aw_mem_due_new(void)
{
    aw_mem_due *d = calloc(1, sizeof(*d));
    if (d && pthread_mutex_init(&d->mu, NULL) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

static void item_free(mem_due_item *it)
{
    free(it->ns);
    free(it->tenant);
    free(it->kind);
    free(it->id);
    free(it->value);
}

void aw_mem_due_free(aw_mem_due *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        item_free(&d->items[i]);
    free(d->items);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static char *dup_bytes(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        if (len)
            memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

static char *dup_str(const char *s) { return dup_bytes(s ? s : "", s ? strlen(s) : 0); }

static bool lease_live(const mem_due_item *it, int64_t mono_now)
{
    return it->lease_until != 0 && it->lease_until > mono_now;
}

/* Index of the item with key k, or SIZE_MAX. Caller holds mu. */
static size_t find(const aw_mem_due *d, const aw_state_key *k)
{
    const char *id = k->id ? k->id : "";
    for (size_t i = 0; i < d->n; i++) {
        const mem_due_item *it = &d->items[i];
        if (strcmp(it->id, id) == 0 && strcmp(it->kind, k->kind) == 0 &&
            strcmp(it->tenant, k->tenant) == 0 && strcmp(it->ns, k->ns) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* Append a new item for k (value not set). Caller holds mu. */
static mem_due_item *append(aw_mem_due *d, const aw_state_key *k)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        mem_due_item *p = realloc(d->items, cap * sizeof(*p));
        if (!p)
            return NULL;
        d->items = p;
        d->cap = cap;
    }
    mem_due_item it = {.ns = dup_str(k->ns), .tenant = dup_str(k->tenant),
                       .kind = dup_str(k->kind), .id = dup_str(k->id)};
    if (!it.ns || !it.tenant || !it.kind || !it.id) {
        item_free(&it);
        return NULL;
    }
    d->items[d->n] = it;
    return &d->items[d->n++];
}

aw_status aw_mem_due_put(aw_mem_due *d, const aw_state_key *k, int64_t due_ms, const void *val,
                         size_t len, aw_error *err)
{
    /* The copy is made before locking: the mutex is held for the swap only. */
    char *copy = dup_bytes(val, len);
    if (!copy)
        return nomem(err);
    aw_status rc = AW_OK;
    pthread_mutex_lock(&d->mu);
    size_t i = find(d, k);
    mem_due_item *it = i == SIZE_MAX ? append(d, k) : &d->items[i];
    if (!it) {
        rc = AW_NOMEM;
    } else if (lease_live(it, aw_mono_now_ms())) {
        rc = AW_CONFLICT;
    } else {
        free(it->value);
        it->value = copy;
        copy = NULL;
        it->len = len;
        it->due_ms = due_ms;
        it->lease_until = 0;
    }
    pthread_mutex_unlock(&d->mu);
    free(copy);
    if (rc == AW_NOMEM)
        return nomem(err);
    if (rc == AW_CONFLICT)
        return aw_error_set(err, AW_CONFLICT, "due item is leased: put refused");
    return AW_OK;
}

/* Candidate of a take: an item index and its due time, sorted together. */
typedef struct due_pick {
    int64_t due_ms;
    size_t index;
} due_pick;

static int pick_cmp(const void *a, const void *b)
{
    const due_pick *x = a, *y = b;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Copy item it into out (owned strings). Return false when out of memory. */
static bool copy_out(const mem_due_item *it, aw_due_item *out)
{
    out->ns = dup_str(it->ns);
    out->tenant = dup_str(it->tenant);
    out->kind = dup_str(it->kind);
    out->id = dup_str(it->id);
    out->value = dup_bytes(it->value, it->len);
    out->len = it->len;
    out->due_ms = it->due_ms;
    out->token = it->token;
    return out->ns && out->tenant && out->kind && out->id && out->value;
}

aw_status aw_mem_due_take(aw_mem_due *d, const char *ns, const char *kind, int64_t now_ms,
                          size_t limit, int64_t lease_ms, aw_due_item *out, size_t *n,
                          aw_error *err)
{
    aw_status rc = AW_OK;
    pthread_mutex_lock(&d->mu);
    int64_t mono = aw_mono_now_ms();
    due_pick *picks = d->n ? malloc(d->n * sizeof(*picks)) : NULL;
    size_t np = 0;
    if (d->n && !picks)
        rc = AW_NOMEM;
    for (size_t i = 0; rc == AW_OK && i < d->n; i++) {
        const mem_due_item *it = &d->items[i];
        if (it->due_ms <= now_ms && !lease_live(it, mono) && strcmp(it->kind, kind) == 0 &&
            strcmp(it->ns, ns) == 0)
            picks[np++] = (due_pick){it->due_ms, i};
    }
    if (np > 1)
        qsort(picks, np, sizeof(*picks), pick_cmp);
    /* Copy first, lease after: an allocation failure then leaves every item
     * as it was (the front frees the partial copies). */
    size_t m = np < limit ? np : limit;
    for (size_t j = 0; rc == AW_OK && j < m; j++)
        if (!copy_out(&d->items[picks[j].index], &out[j]))
            rc = AW_NOMEM;
    for (size_t j = 0; rc == AW_OK && j < m; j++) {
        mem_due_item *it = &d->items[picks[j].index];
        it->token = out[j].token = ++d->last_token;
        it->lease_until = lease_ms > INT64_MAX - mono ? INT64_MAX : mono + lease_ms;
    }
    pthread_mutex_unlock(&d->mu);
    free(picks);
    if (rc != AW_OK)
        return nomem(err);
    *n = m;
    return AW_OK;
}

/* The index of k's item iff token holds its live lease, else SIZE_MAX.
 * Caller holds mu. */
static size_t held(const aw_mem_due *d, const aw_state_key *k, uint64_t token)
{
    size_t i = find(d, k);
    if (i == SIZE_MAX || d->items[i].token != token || !lease_live(&d->items[i], aw_mono_now_ms()))
        return SIZE_MAX;
    return i;
}

aw_status aw_mem_due_done(aw_mem_due *d, const aw_state_key *k, uint64_t token, aw_error *err)
{
    pthread_mutex_lock(&d->mu);
    size_t i = held(d, k, token);
    if (i != SIZE_MAX) {
        /* Order does not matter: move the last item into the hole. */
        item_free(&d->items[i]);
        d->items[i] = d->items[--d->n];
    }
    pthread_mutex_unlock(&d->mu);
    if (i == SIZE_MAX)
        return aw_error_set(err, AW_CONFLICT, "due item lease not held with this token");
    return AW_OK;
}

aw_status aw_mem_due_release(aw_mem_due *d, const aw_state_key *k, uint64_t token,
                             int64_t retry_at_ms, aw_error *err)
{
    pthread_mutex_lock(&d->mu);
    size_t i = held(d, k, token);
    if (i != SIZE_MAX) {
        d->items[i].lease_until = 0;
        if (retry_at_ms > 0)
            d->items[i].due_ms = retry_at_ms;
    }
    pthread_mutex_unlock(&d->mu);
    if (i == SIZE_MAX)
        return aw_error_set(err, AW_CONFLICT, "due item lease not held with this token");
    return AW_OK;
}

/* Cannot fail: no allocation. O(n x items), as every lookup here. */
void aw_mem_due_extend(aw_mem_due *d, aw_due_extension *items, size_t n, int64_t lease_ms)
{
    pthread_mutex_lock(&d->mu);
    int64_t mono = aw_mono_now_ms();
    for (size_t j = 0; j < n; j++) {
        size_t i = held(d, &items[j].key, items[j].token);
        if (i == SIZE_MAX)
            continue;
        d->items[i].lease_until = lease_ms > INT64_MAX - mono ? INT64_MAX : mono + lease_ms;
        items[j].stale = false;
    }
    pthread_mutex_unlock(&d->mu);
}

void aw_mem_due_stats(aw_mem_due *d, const char *ns, const char *kind, int64_t now_ms,
                      aw_due_stats *out)
{
    pthread_mutex_lock(&d->mu);
    int64_t mono = aw_mono_now_ms();
    for (size_t i = 0; i < d->n; i++) {
        const mem_due_item *it = &d->items[i];
        if (strcmp(it->kind, kind) != 0 || strcmp(it->ns, ns) != 0)
            continue;
        out->items++;
        if (it->due_ms > now_ms || lease_live(it, mono))
            continue;
        if (!out->waiting++ || it->due_ms < out->oldest_due_ms)
            out->oldest_due_ms = it->due_ms;
    }
    pthread_mutex_unlock(&d->mu);
    out->has_oldest = out->waiting > 0;
}
