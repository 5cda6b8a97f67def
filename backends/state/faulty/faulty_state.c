/* "faulty": a fault-injecting wrapper around another state backend, for
 * testing what the worker does when its state backend misbehaves (the
 * pattern of SQLite's test_vfs.c). Not for production.
 *
 *   state = { backend = "faulty"; url = "memory?transient_every=7"; };
 *
 * The url names the inner backend, then options:
 *   transient_every=N   every Nth call fails with AW_TRANSIENT (before it
 *                       reaches the inner backend: nothing is applied)
 *   outage_after=N      after N successful calls, every call fails with
 *   outage_ms=D         AW_TRANSIENT for D milliseconds (a backend outage)
 *   inner_url=U         the inner backend's own url (default "")
 * Counters are shared by all sessions (one atomic counter). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/state.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

typedef struct faulty {
    aw_state *inner;
    long transient_every;
    long outage_after;
    int64_t outage_ms;
    atomic_long calls;          /* every call seen */
    atomic_llong outage_end;    /* monotonic ms; 0 = outage not started */
} faulty;

typedef struct faulty_session {
    faulty *f;
    aw_state_session *inner;
} faulty_session;

/* Decide whether this call fails. */
static bool inject(faulty *f, aw_error *err)
{
    long n = atomic_fetch_add(&f->calls, 1) + 1;
    if (f->outage_ms > 0 && n > f->outage_after) {
        long long zero = 0, end = aw_mono_now_ms() + f->outage_ms;
        if (atomic_compare_exchange_strong(&f->outage_end, &zero, end))
            AW_WARN("state.faulty", "injected outage starts: %lld ms", (long long)f->outage_ms);
        if (aw_mono_now_ms() < atomic_load(&f->outage_end)) {
            aw_error_set(err, AW_TRANSIENT, "injected fault: backend outage");
            return true;
        }
    }
    if (f->transient_every > 0 && n % f->transient_every == 0) {
        aw_error_set(err, AW_TRANSIENT, "injected fault: call %ld", n);
        return true;
    }
    return false;
}

static int parse_options(faulty *f, const char *q, char *inner_url, size_t inner_sz,
                         aw_error *err)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        char kv[512];
        if (len >= sizeof(kv))
            return aw_error_set(err, AW_CONFIG, "state.url: option too long"), -1;
        memcpy(kv, q, len);
        kv[len] = '\0';
        char *eq = strchr(kv, '=');
        if (!eq)
            return aw_error_set(err, AW_CONFIG, "state.url: expected key=value, got \"%s\"", kv), -1;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(kv, "transient_every") == 0)
            f->transient_every = strtol(v, NULL, 10);
        else if (strcmp(kv, "outage_after") == 0)
            f->outage_after = strtol(v, NULL, 10);
        else if (strcmp(kv, "outage_ms") == 0)
            f->outage_ms = strtoll(v, NULL, 10);
        else if (strcmp(kv, "inner_url") == 0)
            snprintf(inner_url, inner_sz, "%s", v);
        else
            return aw_error_set(err, AW_CONFIG, "state.url: unknown faulty option \"%s\"", kv), -1;
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

static aw_status f_create(const aw_state_options *opts, void **out, aw_error *err)
{
    faulty *f = calloc(1, sizeof(*f));
    if (!f)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    char name[64], inner_url[512] = "";
    const char *url = opts->url ? opts->url : "";
    const char *q = strchr(url, '?');
    size_t nl = q ? (size_t)(q - url) : strlen(url);
    if (nl == 0 || nl >= sizeof(name) || strncmp(url, "faulty", nl) == 0) {
        free(f);
        return aw_error_set(err, AW_CONFIG,
                            "state.url: the faulty backend needs an inner backend, "
                            "e.g. \"memory?transient_every=7\"");
    }
    memcpy(name, url, nl);
    name[nl] = '\0';
    if (parse_options(f, q ? q + 1 : NULL, inner_url, sizeof(inner_url), err)) {
        free(f);
        return AW_CONFIG;
    }
    aw_state_options io = *opts;
    io.url = inner_url;
    aw_status rc = aw_state_new(name, &io, &f->inner, err);
    if (rc != AW_OK) {
        free(f);
        return rc;
    }
    AW_WARN("state.faulty", "fault injection active over %s (transient_every=%ld "
            "outage_after=%ld outage_ms=%lld)", name, f->transient_every, f->outage_after,
            (long long)f->outage_ms);
    *out = f;
    return AW_OK;
}

static void f_destroy(void *b)
{
    faulty *f = b;
    if (!f)
        return;
    aw_state_destroy(f->inner);
    free(f);
}

static aw_status f_session_open(void *b, void **out, aw_error *err)
{
    faulty_session *s = calloc(1, sizeof(*s));
    if (!s)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    s->f = b;
    aw_status rc = aw_state_session_open(s->f->inner, &s->inner, err);
    if (rc != AW_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return AW_OK;
}

static void f_session_close(void *p)
{
    faulty_session *s = p;
    if (!s)
        return;
    aw_state_session_close(s->inner);
    free(s);
}

/* Every operation: maybe fail, else delegate. */
#define S ((faulty_session *)s)
#define GUARD()                          \
    do {                                 \
        if (inject(S->f, err))           \
            return AW_TRANSIENT;         \
    } while (0)

static aw_status f_check_and_set(void *s, const aw_state_key *k, const void *v, size_t len,
                                 int64_t ttl, bool *written, aw_error *err)
{
    GUARD();
    return aw_state_check_and_set(S->inner, k, v, len, ttl, written, err);
}
static aw_status f_get(void *s, const aw_state_key *k, aw_state_value *out, aw_error *err)
{
    GUARD();
    return aw_state_get(S->inner, k, out, err);
}
static aw_status f_set(void *s, const aw_state_key *k, const void *v, size_t len, int64_t ttl,
                       uint64_t *version, aw_error *err)
{
    GUARD();
    return aw_state_set(S->inner, k, v, len, ttl, version, err);
}
static aw_status f_del(void *s, const aw_state_key *k, bool *existed, aw_error *err)
{
    GUARD();
    return aw_state_delete(S->inner, k, existed, err);
}
static aw_status f_increment(void *s, const aw_state_key *k, int64_t delta, int64_t ttl,
                             int64_t *value, aw_error *err)
{
    GUARD();
    return aw_state_increment(S->inner, k, delta, ttl, value, err);
}
static aw_status f_cas(void *s, const aw_state_key *k, uint64_t expected, const void *v,
                       size_t len, int64_t ttl, uint64_t *current, aw_error *err)
{
    GUARD();
    return aw_state_compare_and_swap(S->inner, k, expected, v, len, ttl, current, err);
}
static aw_status f_scan(void *s, const char *ns, const char *tenant, const char *kind,
                        const char *prefix, aw_state_scan_fn fn, void *ud, aw_error *err)
{
    GUARD();
    return aw_state_scan(S->inner, ns, tenant, kind, prefix, fn, ud, err);
}
static aw_status f_lock_acquire(void *s, const aw_state_key *k, int64_t ttl, uint64_t *token,
                                aw_error *err)
{
    GUARD();
    return aw_state_lock_acquire(S->inner, k, ttl, token, err);
}
static aw_status f_lock_extend(void *s, const aw_state_key *k, uint64_t token, int64_t ttl,
                               aw_error *err)
{
    GUARD();
    return aw_state_lock_extend(S->inner, k, token, ttl, err);
}
static aw_status f_lock_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err)
{
    GUARD();
    return aw_state_lock_release(S->inner, k, token, err);
}
static aw_status f_claim_batch(void *s, aw_claim *items, size_t n, aw_error *err)
{
    GUARD();
    return aw_state_claim_batch(S->inner, items, n, err);
}
static aw_status f_complete_batch(void *s, aw_complete *items, size_t n, aw_error *err)
{
    GUARD();
    return aw_state_complete_batch(S->inner, items, n, err);
}
/* A batch is one call: an injected fault fails all of it, as a lost round
 * trip would. */
static aw_status f_lease_renew_batch(void *s, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                                     aw_error *err)
{
    GUARD();
    return aw_state_lease_renew_batch(S->inner, items, n, lease_ms, err);
}
static aw_status f_lease_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err)
{
    GUARD();
    return aw_state_lease_release(S->inner, k, token, err);
}

/* The due index passes through like every call, a fault failing the whole
 * call before the inner backend sees it. A backend without a due index
 * answers AW_UNSUPPORTED through the inner front. */
static aw_status f_due_put(void *s, const aw_state_key *k, int64_t due_ms, const void *v,
                           size_t len, aw_error *err)
{
    GUARD();
    return aw_state_due_put(S->inner, k, due_ms, v, len, err);
}
static aw_status f_due_take(void *s, const char *ns, const char *kind, int64_t now_ms,
                            size_t limit, int64_t lease_ms, aw_due_item *out, size_t *n,
                            aw_error *err)
{
    GUARD();
    return aw_state_due_take(S->inner, ns, kind, now_ms, limit, lease_ms, out, n, err);
}
static aw_status f_due_done(void *s, const aw_state_key *k, uint64_t token, aw_error *err)
{
    GUARD();
    return aw_state_due_done(S->inner, k, token, err);
}
static aw_status f_due_release(void *s, const aw_state_key *k, uint64_t token,
                               int64_t retry_at_ms, aw_error *err)
{
    GUARD();
    return aw_state_due_release(S->inner, k, token, retry_at_ms, err);
}
static aw_status f_due_extend(void *s, aw_due_extension *items, size_t n, int64_t lease_ms,
                              aw_error *err)
{
    GUARD();
    return aw_state_due_extend(S->inner, items, n, lease_ms, err);
}
static aw_status f_due_stats(void *s, const char *ns, const char *kind, int64_t now_ms,
                             aw_due_stats *out, aw_error *err)
{
    GUARD();
    return aw_state_due_stats(S->inner, ns, kind, now_ms, out, err);
}

const aw_state_driver aw_state_faulty_driver = {
    .name = "faulty",
    .caps = AW_STATE_CAP_ATOMIC, /* as the inner backend; only atomic ones are wrapped in tests */
    .create = f_create,
    .destroy = f_destroy,
    .session_open = f_session_open,
    .session_close = f_session_close,
    .check_and_set = f_check_and_set,
    .get = f_get,
    .set = f_set,
    .del = f_del,
    .increment = f_increment,
    .compare_and_swap = f_cas,
    .scan = f_scan,
    .lock_acquire = f_lock_acquire,
    .lock_extend = f_lock_extend,
    .lock_release = f_lock_release,
    .claim_batch = f_claim_batch,
    .complete_batch = f_complete_batch,
    .lease_renew_batch = f_lease_renew_batch,
    .lease_release = f_lease_release,
    .due_put = f_due_put,
    .due_take = f_due_take,
    .due_done = f_due_done,
    .due_release = f_due_release,
    .due_extend = f_due_extend,
    .due_stats = f_due_stats,
};
