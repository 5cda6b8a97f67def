/* The due-time index of the "dynamodb" state backend (layout: ddb_request.h,
 * "The due index"; design and limits: docs/backends/dynamodb.md).
 *
 * DynamoDB has no ordered read across partition keys and no server clock,
 * and dynalite (the test server) has no transactions, so:
 *  - a pool (ns, kind) is DDB_DUE_BUCKETS partitions, an item's bucket
 *    chosen by a hash of its member (tenant and id): writes spread over
 *    the buckets instead of one hot partition key;
 *  - the sort key is the member, so put, done and release address the item
 *    directly (one conditional write each, no second item to keep in step);
 *  - due_take reads every bucket (one Query each, all in flight at once),
 *    the filter keeping the items due and not leased, sorts those by due
 *    time, then leases the oldest with one conditional UpdateItem each
 *    ("still due at the time read, no live lease"), all in flight at once.
 *    A candidate another replica leased first fails its condition and is
 *    skipped; when fewer than limit were won, the next candidates are
 *    tried, so one take returns what a pass over the pool can get.
 * Cost: a take reads the whole pool (the filter runs after the read), so it
 * suits pools of thousands of waiting items, not millions; a due-ordered
 * index (a GSI on a bucket + padded due time) would bound it, left for
 * later (see the doc page).
 *
 * Clock: leases are judged by the worker's wall clock, as every lease of
 * this backend (ddb_request.h); due times by the caller's now_ms.
 * A session belongs to one thread: its buffers and calls need no lock. */
#include <stdlib.h>
#include <string.h>

#include "backends/state/dynamodb/ddb_internal.h"
#include "common/aw_clock.h"
#include "common/aw_key.h"

#define DDB_DUE_BUCKETS 8
#define DDB_DUE_MAX_CANDIDATES 100000 /* bound on one take's read */
/* Bound on one due_stats' read: past it, pages are still read for the
 * buckets in flight, then it stops (partial). */
#define DDB_DUE_STATS_MAX_SCANNED 100000

/* A due item seen by a take's Query. */
typedef struct due_cand {
    char *member;
    size_t member_len;
    int64_t due_ms;
    int bucket;
} due_cand;

typedef struct due_cands {
    due_cand *v;
    size_t n, cap;
    int bucket; /* of the page being parsed */
    bool full;  /* DDB_DUE_MAX_CANDIDATES read: the rest waits for a later take */
    bool nomem;
} due_cands;

static void cands_free(due_cands *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].member);
    free(c->v);
}

/* FNV-1a of the member: its bucket, the same in every process. */
static int bucket_of(const char *m, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)m[i]) * 16777619u;
    return (int)(h % DDB_DUE_BUCKETS);
}

/* The pk of bucket b of pool (ns, kind) into buf. */
static int bucket_pk(const ddb_backend *b, aw_buf *buf, const char *ns, const char *kind,
                     int bucket)
{
    char digit = (char)('0' + bucket);
    aw_buf_reset(buf);
    return aw_buf_append(buf, b->prefix, b->prefix_len) || aw_buf_append(buf, "q", 1) ||
           aw_key_encode(buf, ns, "", kind, "") || aw_buf_append(buf, &digit, 1);
}

/* member = <decimal length of tenant> ':' tenant id, into buf. */
static int member_of(aw_buf *buf, const aw_state_key *k)
{
    const char *id = k->id ? k->id : "";
    aw_buf_reset(buf);
    return aw_buf_printf(buf, "%zu:", strlen(k->tenant)) != 0 || aw_buf_puts(buf, k->tenant) ||
           aw_buf_puts(buf, id);
}

/* The item key of k into s->pk / s->sk. */
static aw_status item_key(ddb_session *s, const aw_state_key *k, aw_ddb_key *out, aw_error *err)
{
    if (member_of(&s->sk, k) ||
        bucket_pk(s->b, &s->pk, k->ns, k->kind, bucket_of(s->sk.data, s->sk.len)))
        return aw_ddb_nomem(err);
    *out = (aw_ddb_key){s->pk.data, s->pk.len, s->sk.data, s->sk.len};
    return AW_OK;
}

static aw_status conditional(ddb_session *s, const char *op, char *body, const char *refused,
                             aw_error *err)
{
    aw_status rc = aw_ddb_do(&s->conn, &s->call, op, body, err);
    if (rc == AW_CONFLICT) /* ConditionalCheckFailed: the condition said no */
        return aw_error_set(err, AW_CONFLICT, "%s", refused);
    return rc;
}

aw_status aw_ddb_due_put(void *ss, const aw_state_key *k, int64_t due_ms, const void *val,
                         size_t len, aw_error *err)
{
    ddb_session *s = ss;
    aw_ddb_key key;
    aw_status rc = item_key(s, k, &key, err);
    if (rc != AW_OK)
        return rc;
    return conditional(s, "UpdateItem",
                       aw_ddb_build_due_put(s->b->url.table, &key, due_ms, val, len,
                                            aw_time_now_ms()),
                       "due item is leased: put refused", err);
}

aw_status aw_ddb_due_done(void *ss, const aw_state_key *k, uint64_t token, aw_error *err)
{
    ddb_session *s = ss;
    aw_ddb_key key;
    aw_status rc = item_key(s, k, &key, err);
    if (rc != AW_OK)
        return rc;
    return conditional(s, "DeleteItem",
                       aw_ddb_build_due_done(s->b->url.table, &key, token, aw_time_now_ms()),
                       "due item lease not held with this token", err);
}

aw_status aw_ddb_due_release(void *ss, const aw_state_key *k, uint64_t token, int64_t retry_at_ms,
                             aw_error *err)
{
    ddb_session *s = ss;
    aw_ddb_key key;
    aw_status rc = item_key(s, k, &key, err);
    if (rc != AW_OK)
        return rc;
    return conditional(s, "UpdateItem",
                       aw_ddb_build_due_release(s->b->url.table, &key, token, retry_at_ms,
                                                aw_time_now_ms()),
                       "due item lease not held with this token", err);
}

static void extension_held(void *items, size_t i)
{
    ((aw_due_extension *)items)[i].stale = false;
}

static aw_status extend_body(ddb_session *s, const void *items, size_t i, int64_t lease_ms,
                             int64_t now, char **req, aw_error *err)
{
    aw_ddb_key key;
    const aw_due_extension *x = &((const aw_due_extension *)items)[i];
    aw_status rc = item_key(s, &x->key, &key, err);
    if (rc == AW_OK)
        *req = aw_ddb_build_due_extend(s->b->url.table, &key, x->token, lease_ms, now);
    return rc;
}

/* One conditional UpdateItem per item, all in flight together (as
 * lease_renew_batch, for the same reasons: no batch of conditional writes,
 * no transactions on dynalite). Each request is built at once, so s->pk /
 * s->sk are reused item after item. */
aw_status aw_ddb_due_extend(void *ss, aw_due_extension *items, size_t n, int64_t lease_ms,
                            aw_error *err)
{
    return aw_ddb_conditional_batch(ss, items, n, lease_ms, extend_body, extension_held, err);
}

/* ---- take --------------------------------------------------------------------- */

static int collect(void *ud, const aw_ddb_record *r)
{
    due_cands *c = ud;
    if (!r->has_due || !r->sk)
        return 0; /* not a due item: nothing else lives under these keys */
    if (c->n == DDB_DUE_MAX_CANDIDATES) {
        c->full = true;
        return 1;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        due_cand *v = realloc(c->v, cap * sizeof(*v));
        if (!v) {
            c->nomem = true;
            return 1;
        }
        c->v = v;
        c->cap = cap;
    }
    char *m = malloc(r->sk_len + 1);
    if (!m) {
        c->nomem = true;
        return 1;
    }
    memcpy(m, r->sk, r->sk_len + 1);
    c->v[c->n++] = (due_cand){m, r->sk_len, r->due_ms, c->bucket};
    return 0;
}

/* What a pass over the buckets is for: a take's candidates (cands), or
 * due_stats' counts (stats, reading at most DDB_DUE_STATS_MAX_SCANNED
 * items in all). */
typedef struct bucket_pass {
    due_cands *cands;
    aw_due_stats *stats;
} bucket_pass;

/* due_stats: every item read back is a waiting one (the filter's). */
static int count_waiting(void *ud, const aw_ddb_record *r)
{
    aw_due_stats *st = ud;
    if (!r->has_due)
        return 0;
    if (!st->waiting++ || r->due_ms < st->oldest_due_ms)
        st->oldest_due_ms = r->due_ms;
    return 0;
}

/* Read every bucket's due, unleased items: the buckets' Queries in flight
 * at once, then each bucket's further pages. */
static aw_status read_buckets(ddb_session *s, const char *ns, const char *kind, int64_t due_now,
                              int64_t now, bucket_pass *pass, aw_error *err)
{
    char *next[DDB_DUE_BUCKETS] = {0};
    bool pending[DDB_DUE_BUCKETS];
    due_cands *c = pass->cands;
    aw_due_stats *st = pass->stats;
    aw_status rc = aw_ddb_batch_reserve(s, DDB_DUE_BUCKETS, err);
    for (int b = 0; b < DDB_DUE_BUCKETS; b++) {
        pending[b] = true;
        if (rc == AW_OK && bucket_pk(s->b, &s->keys[b], ns, kind, b))
            rc = aw_ddb_nomem(err);
    }
    while (rc == AW_OK) {
        size_t n = 0;
        int which[DDB_DUE_BUCKETS];
        for (int b = 0; b < DDB_DUE_BUCKETS && rc == AW_OK; b++) {
            if (!pending[b])
                continue;
            aw_ddb_call_clear(&s->calls[n]);
            s->calls[n].op = "Query";
            s->calls[n].body =
                (st ? aw_ddb_build_due_stats_query : aw_ddb_build_due_query)(
                    s->b->url.table, s->keys[b].data, s->keys[b].len, due_now, now, next[b]);
            if (!s->calls[n].body)
                rc = aw_ddb_nomem(err);
            which[n++] = b;
        }
        if (rc != AW_OK || n == 0)
            break;
        rc = aw_ddb_run(&s->conn, s->calls, n, err);
        for (size_t j = 0; rc == AW_OK && j < n; j++) {
            int b = which[j];
            bool stopped = false;
            uint64_t scanned = 0;
            free(next[b]);
            next[b] = NULL;
            rc = aw_ddb_call_status(&s->calls[j], err);
            if (c)
                c->bucket = b;
            if (rc == AW_OK)
                rc = aw_ddb_parse_query_scanned(s->calls[j].resp.data, s->calls[j].resp.len,
                                                c ? collect : count_waiting,
                                                c ? (void *)c : (void *)st, &stopped, &next[b],
                                                &scanned, err);
            if (rc == AW_OK && c && c->nomem)
                rc = aw_ddb_nomem(err);
            if (st)
                st->items += scanned;
            pending[b] = next[b] != NULL && !(c && c->full);
        }
        if (st && st->items >= DDB_DUE_STATS_MAX_SCANNED) {
            for (int b = 0; b < DDB_DUE_BUCKETS; b++)
                st->partial = st->partial || pending[b];
            break;
        }
    }
    for (int b = 0; b < DDB_DUE_BUCKETS; b++)
        free(next[b]);
    return rc;
}

static int cand_cmp(const void *a, const void *b)
{
    const due_cand *x = a, *y = b;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    size_t n = x->member_len < y->member_len ? x->member_len : y->member_len;
    int c = memcmp(x->member, y->member, n);
    return c ? c : (x->member_len > y->member_len) - (x->member_len < y->member_len);
}

/* The taken item from a lease's ALL_NEW answer. */
static aw_status taken(const due_cand *c, const aw_ddb_record *r, const char *ns,
                       const char *kind, aw_due_item *it, aw_error *err)
{
    const char *colon = memchr(c->member, ':', c->member_len);
    size_t tlen = colon ? strtoul(c->member, NULL, 10) : 0;
    if (!colon || tlen > c->member_len - (size_t)(colon + 1 - c->member))
        return aw_error_set(err, AW_INTERNAL, "dynamodb due_take: malformed member");
    const char *tenant = colon + 1;
    it->ns = strdup(ns);
    it->kind = strdup(kind);
    it->tenant = malloc(tlen + 1);
    it->id = strdup(tenant + tlen);
    it->value = malloc(r->val_len + 1);
    if (!it->ns || !it->kind || !it->tenant || !it->id || !it->value)
        return aw_ddb_nomem(err);
    memcpy(it->tenant, tenant, tlen);
    it->tenant[tlen] = '\0';
    if (r->val_len)
        memcpy(it->value, r->val, r->val_len);
    it->value[r->val_len] = '\0';
    it->len = r->val_len;
    it->due_ms = r->due_ms;
    it->token = r->tok;
    return AW_OK;
}

/* Lease candidates c[from..) in order, a window of calls at a time, until
 * limit items are taken in all (*n) or the candidates run out. */
static aw_status lease_candidates(ddb_session *s, const char *ns, const char *kind,
                                  due_cands *c, size_t limit, int64_t lease_ms, int64_t now,
                                  aw_due_item *out, size_t *n, aw_error *err)
{
    size_t next = 0;
    aw_status rc = aw_ddb_batch_reserve(s, limit, err);
    while (rc == AW_OK && *n < limit && next < c->n) {
        size_t m = limit - *n;
        if (m > c->n - next)
            m = c->n - next;
        for (size_t j = 0; j < m && rc == AW_OK; j++) {
            const due_cand *d = &c->v[next + j];
            if (bucket_pk(s->b, &s->keys[j], ns, kind, d->bucket))
                rc = aw_ddb_nomem(err);
            aw_ddb_key key = {s->keys[j].data, s->keys[j].len, d->member, d->member_len};
            aw_ddb_call_clear(&s->calls[j]);
            s->calls[j].op = "UpdateItem";
            s->calls[j].body =
                aw_ddb_build_due_lease(s->b->url.table, &key, d->due_ms, lease_ms, now);
            if (rc == AW_OK && !s->calls[j].body)
                rc = aw_ddb_nomem(err);
        }
        if (rc == AW_OK)
            rc = aw_ddb_run(&s->conn, s->calls, m, err);
        for (size_t j = 0; j < m && rc == AW_OK; j++) {
            aw_status st = aw_ddb_call_status(&s->calls[j], err);
            if (st == AW_CONFLICT) { /* another take won it, or it changed */
                aw_error_clear(err);
                continue;
            }
            if (st != AW_OK)
                return st; /* leases won so far expire on their own */
            aw_ddb_record r;
            rc = aw_ddb_parse_record(s->calls[j].resp.data, s->calls[j].resp.len, "Attributes",
                                     &r, err);
            if (rc == AW_OK)
                rc = taken(&c->v[next + j], &r, ns, kind, &out[(*n)++], err);
            aw_ddb_record_clear(&r);
        }
        next += m;
    }
    return rc;
}

static int item_cmp(const void *a, const void *b)
{
    const aw_due_item *x = a, *y = b;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    int c = strcmp(x->tenant, y->tenant);
    return c ? c : strcmp(x->id, y->id);
}

aw_status aw_ddb_due_take(void *ss, const char *ns, const char *kind, int64_t now_ms,
                          size_t limit, int64_t lease_ms, aw_due_item *out, size_t *n,
                          aw_error *err)
{
    ddb_session *s = ss;
    due_cands c = {0};
    int64_t now = aw_time_now_ms();
    aw_status rc = read_buckets(s, ns, kind, now_ms, now, &(bucket_pass){.cands = &c}, err);
    if (rc == AW_OK) {
        if (c.n > 1) /* c.v is NULL when nothing is due */
            qsort(c.v, c.n, sizeof(*c.v), cand_cmp);
        rc = lease_candidates(s, ns, kind, &c, limit, lease_ms, now, out, n, err);
    }
    cands_free(&c);
    if (rc == AW_OK && *n > 1)
        qsort(out, *n, sizeof(*out), item_cmp); /* a later window may win older items */
    return rc;
}

/* The buckets' Queries as a take's, with only aw_due projected: ScannedCount
 * sums to the pool's items, the Items returned are the waiting ones. Cost:
 * the pool is read (a take reads it too, every schedule.poll_ms), at most
 * DDB_DUE_STATS_MAX_SCANNED items plus one page per bucket: about 1 read
 * unit per 4 KB of items (consistent reads), one round trip per 1 MB page
 * and bucket, the 8 buckets in flight at once. */
aw_status aw_ddb_due_stats(void *ss, const char *ns, const char *kind, int64_t now_ms,
                           aw_due_stats *out, aw_error *err)
{
    aw_status rc = read_buckets(ss, ns, kind, now_ms, aw_time_now_ms(),
                                &(bucket_pass){.stats = out}, err);
    out->has_oldest = rc == AW_OK && out->waiting > 0;
    return rc;
}
