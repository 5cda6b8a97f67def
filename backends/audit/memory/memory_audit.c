/* In-process audit backend: the reference implementation of the audit
 * contract (audit_backend.h), used by tests and single-process deployments.
 * Nothing survives the process.
 *
 * Layout: every record lives in one heap entry, reachable two ways:
 *  - `sorted`, an array kept in REVERSE query order (oldest first) by binary
 *    insertion, so a query binary-searches its start (the time bound or the
 *    cursor) and scans only the rows it returns or skips by filter: no sort
 *    per call. Reverse, because records arrive roughly in completion order:
 *    the newest goes at the end, and an append moves nothing (in query
 *    order every append would shift the whole array). row() maps a query
 *    position to the array;
 *  - `buckets`, a chained hash set on record_id, for idempotent appends.
 *
 * Threads: the backend is shared. One rwlock guards `sorted`, `count`, `cap`,
 * `buckets` and `nbuckets`, and the entries they point to: query takes it for
 * reading, append and cleanup for writing. Records are deep-copied outside
 * the lock on append and inside the (read) lock on query, so no caller ever
 * holds a pointer into the store. Sessions carry no state of their own. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/audit_backend.h"

typedef struct mem_entry {
    aw_audit_record rec;     /* its strings follow the entry, same allocation */
    uint64_t hash;           /* of rec.record_id */
    struct mem_entry *hnext; /* bucket chain */
} mem_entry;

typedef struct mem_audit {
    pthread_rwlock_t lock;
    mem_entry **sorted; /* reverse query order (oldest first), count used of cap */
    size_t count;
    size_t cap;
    mem_entry **buckets; /* nbuckets is a power of two */
    size_t nbuckets;
} mem_audit;

typedef struct mem_session {
    mem_audit *a;
} mem_session;

#define MEM_MIN_BUCKETS 64
/* Longest record id a cursor may carry: topic (<= 249) + two integers. */
#define MEM_CURSOR_ID_MAX 512

/* ---- ordering ----------------------------------------------------------- */

/* < 0 when (ms_a, id_a) comes before (ms_b, id_b) in query order. record_id
 * ties are broken by byte order (strcmp), which every backend must match
 * (PostgreSQL: COLLATE "C"). */
static int key_cmp(int64_t ms_a, const char *id_a, int64_t ms_b, const char *id_b)
{
    if (ms_a != ms_b)
        return ms_a > ms_b ? -1 : 1;
    return -strcmp(id_a, id_b);
}

/* The record at query position i (0 = newest). */
static const aw_audit_record *row(const mem_audit *a, size_t i)
{
    return &a->sorted[a->count - 1 - i]->rec;
}

/* First query position whose row comes strictly after (ms, id). */
static size_t first_after(const mem_audit *a, int64_t ms, const char *id)
{
    size_t lo = 0, hi = a->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const aw_audit_record *r = row(a, mid);
        if (key_cmp(r->completed_at_ms, r->record_id, ms, id) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- hash set ----------------------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static mem_entry *hash_find(const mem_audit *a, uint64_t h, const char *id)
{
    for (mem_entry *e = a->buckets[h & (a->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->rec.record_id, id) == 0)
            return e;
    return NULL;
}

static void hash_link(mem_audit *a, mem_entry *e)
{
    mem_entry **b = &a->buckets[e->hash & (a->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
}

static void hash_unlink(mem_audit *a, mem_entry *e)
{
    mem_entry **p = &a->buckets[e->hash & (a->nbuckets - 1)];
    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
}

/* Keep the load factor <= 1. Failure is harmless (chains just get longer),
 * so appends never fail because of it. */
static void hash_grow(mem_audit *a, size_t want)
{
    size_t n = a->nbuckets;
    while (n < want)
        n *= 2;
    if (n == a->nbuckets)
        return;
    mem_entry **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    mem_entry **old = a->buckets;
    size_t oldn = a->nbuckets;
    a->buckets = nb;
    a->nbuckets = n;
    for (size_t i = 0; i < oldn; i++) {
        for (mem_entry *e = old[i], *next; e; e = next) {
            next = e->hnext;
            hash_link(a, e);
        }
    }
    free(old);
}

/* ---- lifecycle ---------------------------------------------------------- */

/* An entry and its record's strings are one allocation (entry_new). */
static void entry_free(mem_entry *e)
{
    free(e);
}

static void mem_destroy(void *backend)
{
    mem_audit *a = backend;
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++)
        entry_free(a->sorted[i]);
    free(a->sorted);
    free(a->buckets);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

static aw_status mem_create(const aw_audit_options *opts, void **backend, aw_error *err)
{
    (void)opts; /* records carry their own expires_at; nothing to configure */
    *backend = NULL;
    aw_status rc;
    mem_audit *a = calloc(1, sizeof(*a));
    if (!a)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    a->nbuckets = MEM_MIN_BUCKETS;
    if (!(a->buckets = calloc(a->nbuckets, sizeof(*a->buckets)))) {
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
        goto fail;
    }
    if (pthread_rwlock_init(&a->lock, NULL) != 0) {
        rc = aw_error_set(err, AW_INTERNAL, "audit memory: cannot create lock");
        goto fail;
    }
    *backend = a;
    return AW_OK;
fail:
    free(a->buckets);
    free(a);
    return rc;
}

static aw_status mem_session_open(void *backend, void **session, aw_error *err)
{
    mem_session *s = calloc(1, sizeof(*s));
    if (!s) {
        *session = NULL;
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    s->a = backend;
    *session = s;
    return AW_OK;
}

static void mem_session_close(void *session)
{
    free(session);
}

/* ---- append ------------------------------------------------------------- */

/* A stored copy of r: the entry with the record's strings packed after it. */
static mem_entry *entry_new(const aw_audit_record *r)
{
    size_t strings = aw_audit_record_strings_size(r);
    mem_entry *e = malloc(sizeof(*e) + strings);
    if (!e)
        return NULL;
    aw_audit_record_copy_packed(&e->rec, r, (char *)(e + 1));
    e->hash = fnv1a(e->rec.record_id);
    e->hnext = NULL;
    return e;
}

/* Deep copies of the batch, made before taking the lock. */
static aw_status copy_batch(const aw_audit_record *recs, size_t n, mem_entry **out,
                            aw_error *err)
{
    aw_status rc = AW_OK;
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        if (!recs[i].record_id || !recs[i].record_id[0])
            rc = aw_error_set(err, AW_PERMANENT, "audit memory: record %zu has no record_id", i);
        else if (!(out[i] = entry_new(&recs[i])))
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
    }
    if (rc != AW_OK) {
        for (size_t i = 0; i < n; i++) {
            entry_free(out[i]);
            out[i] = NULL;
        }
    }
    return rc;
}

static int reserve_sorted(mem_audit *a, size_t extra)
{
    if (a->count + extra <= a->cap)
        return 0;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->count + extra)
        cap *= 2;
    mem_entry **p = realloc(a->sorted, cap * sizeof(*p));
    if (!p)
        return -1;
    a->sorted = p;
    a->cap = cap;
    return 0;
}

/* Store e unless its record_id is already stored; caller holds the write
 * lock and reserved room. Return true when stored (ownership moves). */
static bool insert_locked(mem_audit *a, mem_entry *e)
{
    if (hash_find(a, e->hash, e->rec.record_id))
        return false;
    /* Query position `at` is array index count - at: the newest record goes
     * last and moves nothing. */
    size_t at = a->count - first_after(a, e->rec.completed_at_ms, e->rec.record_id);
    memmove(&a->sorted[at + 1], &a->sorted[at], (a->count - at) * sizeof(a->sorted[0]));
    a->sorted[at] = e;
    a->count++;
    hash_link(a, e);
    return true;
}

/* All or nothing: everything that can fail (copies, room in the array)
 * happens before the first record is stored. */
static aw_status mem_append_batch(void *session, const aw_audit_record *recs, size_t n,
                                  size_t *inserted, aw_error *err)
{
    mem_audit *a = ((mem_session *)session)->a;
    *inserted = 0;
    if (n == 0)
        return AW_OK;
    mem_entry **entries = calloc(n, sizeof(*entries));
    if (!entries)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = copy_batch(recs, n, entries, err);
    if (rc != AW_OK) {
        free(entries);
        return rc;
    }
    pthread_rwlock_wrlock(&a->lock);
    if (reserve_sorted(a, n) != 0) {
        pthread_rwlock_unlock(&a->lock);
        for (size_t i = 0; i < n; i++)
            entry_free(entries[i]);
        free(entries);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    hash_grow(a, a->count + n);
    for (size_t i = 0; i < n; i++) {
        if (insert_locked(a, entries[i])) {
            (*inserted)++;
            entries[i] = NULL;
        }
    }
    pthread_rwlock_unlock(&a->lock);
    for (size_t i = 0; i < n; i++)
        entry_free(entries[i]); /* the duplicates */
    free(entries);
    return AW_OK;
}

/* ---- query -------------------------------------------------------------- */

static bool str_match(const char *want, const char *have)
{
    return !want || (have && strcmp(want, have) == 0);
}

/* Equality filters only: literal byte comparison, so "%", "*" or a quote
 * in a filter match exactly those characters and nothing wider. */
static bool row_matches(const aw_audit_query *q, const aw_audit_record *r)
{
    return str_match(q->ns, r->ns) && str_match(q->tenant, r->tenant) &&
           str_match(q->provider, r->provider) && str_match(q->action_type, r->action_type) &&
           str_match(q->action_id, r->action_id) && str_match(q->rule, r->rule) &&
           str_match(q->fingerprint, r->fingerprint) && str_match(q->group_id, r->group_id) &&
           str_match(q->chain_id, r->chain_id) &&
           (q->outcome < 0 || (int)r->outcome == q->outcome);
}

/* Where the page starts: after the cursor row and below to_ms (exclusive). */
static aw_status query_start(const mem_audit *a, const aw_audit_query *q, size_t *start,
                             aw_error *err)
{
    size_t at = 0;
    if (q->to_ms != 0)
        at = first_after(a, q->to_ms, ""); /* record ids are non-empty */
    if (q->cursor) {
        int64_t ms;
        char id[MEM_CURSOR_ID_MAX];
        if (aw_audit_cursor_decode(q->cursor, &ms, id, sizeof(id)) != 0)
            return aw_error_set(err, AW_PERMANENT, "audit query: malformed cursor");
        size_t c = first_after(a, ms, id);
        if (c > at)
            at = c;
    }
    *start = at;
    return AW_OK;
}

static aw_status page_push(aw_audit_page *p, size_t *cap, const aw_audit_record *r,
                           aw_error *err)
{
    if (p->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        aw_audit_record *nr = realloc(p->records, ncap * sizeof(*nr));
        if (!nr)
            return aw_error_set(err, AW_NOMEM, "out of memory");
        p->records = nr;
        *cap = ncap;
    }
    aw_status rc = aw_audit_record_copy(&p->records[p->count], r, err);
    if (rc == AW_OK)
        p->count++;
    return rc;
}

/* Collect up to limit matching rows from start, and look one match further
 * to know whether a next page exists (next_cursor is NULL on the last page). */
static aw_status collect_locked(const mem_audit *a, const aw_audit_query *q, size_t start,
                                size_t limit, aw_audit_page *out, aw_error *err)
{
    size_t cap = 0;
    bool more = false;
    for (size_t i = start; i < a->count; i++) {
        const aw_audit_record *r = row(a, i);
        if (q->from_ms != 0 && r->completed_at_ms < q->from_ms)
            break; /* everything further is older still */
        if (!row_matches(q, r))
            continue;
        if (out->count == limit) {
            more = true;
            break;
        }
        aw_status rc = page_push(out, &cap, r, err);
        if (rc != AW_OK)
            return rc;
    }
    if (more) {
        const aw_audit_record *last = &out->records[out->count - 1];
        if (!(out->next_cursor = aw_audit_cursor_encode(last->completed_at_ms, last->record_id)))
            return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    return AW_OK;
}

static aw_status mem_query(void *session, const aw_audit_query *q, aw_audit_page *out,
                           aw_error *err)
{
    mem_audit *a = ((mem_session *)session)->a;
    memset(out, 0, sizeof(*out));
    if (q->outcome < -1 || q->outcome >= AW_OUTCOME_COUNT)
        return aw_error_set(err, AW_PERMANENT, "audit query: unknown outcome %d", q->outcome);
    size_t limit = aw_audit_clamp_limit(q->limit);
    size_t start;
    pthread_rwlock_rdlock(&a->lock);
    aw_status rc = query_start(a, q, &start, err);
    if (rc == AW_OK)
        rc = collect_locked(a, q, start, limit, out, err);
    pthread_rwlock_unlock(&a->lock);
    if (rc != AW_OK)
        aw_audit_page_clear(out);
    return rc;
}

/* ---- cleanup ------------------------------------------------------------ */

/* Oldest rows first (from the start of the array): with expires_at =
 * completed_at + retention they are the ones most likely expired. Bounded
 * deletes; the scan itself is O(n) with one compaction pass. */
static aw_status mem_cleanup(void *session, int64_t now_ms, size_t max_rows, size_t *deleted,
                             aw_error *err)
{
    (void)err;
    mem_audit *a = ((mem_session *)session)->a;
    *deleted = 0;
    pthread_rwlock_wrlock(&a->lock);
    for (size_t i = 0; i < a->count && *deleted < max_rows; i++) {
        mem_entry *e = a->sorted[i];
        if (e->rec.expires_at_ms > now_ms)
            continue;
        hash_unlink(a, e);
        entry_free(e);
        a->sorted[i] = NULL;
        (*deleted)++;
    }
    size_t w = 0;
    for (size_t i = 0; *deleted && i < a->count; i++)
        if (a->sorted[i])
            a->sorted[w++] = a->sorted[i];
    if (*deleted)
        a->count = w;
    pthread_rwlock_unlock(&a->lock);
    return AW_OK;
}

const aw_audit_driver aw_audit_memory_driver = {
    .name = "memory",
    .create = mem_create,
    .destroy = mem_destroy,
    .session_open = mem_session_open,
    .session_close = mem_session_close,
    .append_batch = mem_append_batch,
    .query = mem_query,
    .cleanup = mem_cleanup,
};
