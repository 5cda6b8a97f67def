/* The due-time index front, once for every backend: arguments validated
 * before anything is sent (so a bad call takes no lease and writes
 * nothing), the backend's support checked, due_take's outputs zeroed before
 * the driver runs and freed when it fails. state_backend.h states what the
 * drivers may then assume. Stateless: no lock, any thread with its own
 * session. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/state.h"

void aw_due_item_clear(aw_due_item *it)
{
    if (!it)
        return;
    free(it->ns);
    free(it->tenant);
    free(it->kind);
    free(it->id);
    free(it->value);
    memset(it, 0, sizeof(*it));
}

static aw_status unsupported(const aw_state_session *s, aw_error *err)
{
    return aw_error_set(err, AW_UNSUPPORTED, "state backend \"%s\" has no due-time index",
                        s->driver->name);
}

/* A key names one item: its namespace, tenant and kind are required (the id
 * may be NULL, stored as "", like every other key). */
static aw_status check_key(const aw_state_key *k, aw_error *err)
{
    if (!k || !k->ns || !k->tenant || !k->kind)
        return aw_error_set(err, AW_PERMANENT,
                            "due item key: namespace, tenant and kind are required");
    return AW_OK;
}

aw_status aw_state_due_put(aw_state_session *s, const aw_state_key *k, int64_t due_ms,
                           const void *val, size_t len, aw_error *err)
{
    if (!s->driver->due_put)
        return unsupported(s, err);
    aw_status rc = check_key(k, err);
    if (rc != AW_OK)
        return rc;
    if (due_ms < 0)
        return aw_error_set(err, AW_PERMANENT, "due_ms must be >= 0 (got %" PRId64 ")", due_ms);
    if (len > 0 && !val)
        return aw_error_set(err, AW_PERMANENT, "due item value: NULL with length %zu", len);
    return s->driver->due_put(s->session, k, due_ms, val ? val : "", len, err);
}

aw_status aw_state_due_take(aw_state_session *s, const char *ns, const char *kind,
                            int64_t now_ms, size_t limit, int64_t lease_ms, aw_due_item *out,
                            size_t *n, aw_error *err)
{
    *n = 0;
    if (!s->driver->due_take)
        return unsupported(s, err);
    if (!ns || !kind)
        return aw_error_set(err, AW_PERMANENT, "due_take: namespace and kind are required");
    if (limit == 0 || limit > AW_DUE_TAKE_MAX)
        return aw_error_set(err, AW_PERMANENT, "due_take: limit must be 1..%d (got %zu)",
                            AW_DUE_TAKE_MAX, limit);
    if (lease_ms <= 0)
        return aw_error_set(err, AW_PERMANENT, "lease_ms must be > 0 (got %" PRId64 ")",
                            lease_ms);
    memset(out, 0, limit * sizeof(*out));
    aw_status rc = s->driver->due_take(s->session, ns, kind, now_ms, limit, lease_ms, out, n, err);
    if (rc != AW_OK) {
        /* No item result is meaningful on error; the driver may have
         * filled some before it failed. */
        for (size_t i = 0; i < limit; i++)
            aw_due_item_clear(&out[i]);
        *n = 0;
    }
    return rc;
}

aw_status aw_state_due_done(aw_state_session *s, const aw_state_key *k, uint64_t token,
                            aw_error *err)
{
    if (!s->driver->due_done)
        return unsupported(s, err);
    aw_status rc = check_key(k, err);
    return rc != AW_OK ? rc : s->driver->due_done(s->session, k, token, err);
}

aw_status aw_state_due_release(aw_state_session *s, const aw_state_key *k, uint64_t token,
                               int64_t retry_at_ms, aw_error *err)
{
    if (!s->driver->due_release)
        return unsupported(s, err);
    aw_status rc = check_key(k, err);
    return rc != AW_OK ? rc : s->driver->due_release(s->session, k, token, retry_at_ms, err);
}

/* Order of keys (ns, tenant, kind, id) for the distinctness check. */
static int key_cmp(const void *a, const void *b)
{
    const aw_state_key *x = *(const aw_state_key *const *)a, *y = *(const aw_state_key *const *)b;
    int c = strcmp(x->ns, y->ns);
    if (!c)
        c = strcmp(x->tenant, y->tenant);
    if (!c)
        c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

/* Every key complete and none twice: a batch statement cannot touch a row
 * twice (PostgreSQL would answer one of the two), so the drivers are
 * spared repeats. Sorted pointers on the stack: n <= AW_DUE_TAKE_MAX. */
static aw_status check_extensions(const aw_due_extension *items, size_t n, aw_error *err)
{
    const aw_state_key *sorted[AW_DUE_TAKE_MAX];
    for (size_t i = 0; i < n; i++) {
        aw_status rc = check_key(&items[i].key, err);
        if (rc != AW_OK)
            return rc;
        sorted[i] = &items[i].key;
    }
    qsort(sorted, n, sizeof(*sorted), key_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&sorted[i - 1], &sorted[i]) == 0)
            return aw_error_set(err, AW_PERMANENT, "due_extend: item %s/%s appears twice",
                                sorted[i]->tenant, sorted[i]->id ? sorted[i]->id : "");
    return AW_OK;
}

aw_status aw_state_due_extend(aw_state_session *s, aw_due_extension *items, size_t n,
                              int64_t lease_ms, aw_error *err)
{
    for (size_t i = 0; i < n; i++)
        items[i].stale = true;
    if (!s->driver->due_extend)
        return unsupported(s, err);
    if (n == 0 || n > AW_DUE_TAKE_MAX)
        return aw_error_set(err, AW_PERMANENT, "due_extend: 1..%d items per call (got %zu)",
                            AW_DUE_TAKE_MAX, n);
    if (lease_ms <= 0)
        return aw_error_set(err, AW_PERMANENT, "lease_ms must be > 0 (got %" PRId64 ")",
                            lease_ms);
    aw_status rc = check_extensions(items, n, err);
    if (rc == AW_OK)
        rc = s->driver->due_extend(s->session, items, n, lease_ms, err);
    if (rc != AW_OK) /* a driver may have booked some before it failed */
        for (size_t i = 0; i < n; i++)
            items[i].stale = true;
    return rc;
}

aw_status aw_state_due_stats(aw_state_session *s, const char *ns, const char *kind,
                             int64_t now_ms, aw_due_stats *out, aw_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!s->driver->due_stats)
        return aw_error_set(err, AW_UNSUPPORTED, "state backend \"%s\" has no due-index statistics",
                            s->driver->name);
    if (!ns || !kind)
        return aw_error_set(err, AW_PERMANENT, "due_stats: namespace and kind are required");
    if (now_ms < 0)
        return aw_error_set(err, AW_PERMANENT, "now_ms must be >= 0 (got %" PRId64 ")", now_ms);
    aw_status rc = s->driver->due_stats(s->session, ns, kind, now_ms, out, err);
    if (rc != AW_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}
