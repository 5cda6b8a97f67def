/* Audit conformance suite (see suite_audit.h). Every query result is checked
 * against a local oracle: the rows the test wrote, filtered and ordered the
 * way the contract says, so one helper (check_query) verifies filters, time
 * ranges, ordering and pagination together. */
#include "suite_audit.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/audit/audit.h"
#include "backends/audit/audit_record.h"
#include "common/aw_clock.h"

#define DAY_MS (24 * 3600 * 1000LL)

/* Shared by the tests of one run; only the main thread touches it, except
 * `audit` (thread-safe by contract) in the concurrency test. */
typedef struct suite_ctx {
    aw_audit *audit;
    aw_audit_session *s;
    char run_id[17];  /* 16 hex digits */
    int64_t base_ms;  /* a recent whole second: completed_at of test rows */
    int64_t now_ms;   /* wall clock at start: "now" for cleanup */
} suite_ctx;

/* Per-test names: a namespace and a topic (hence record ids) nobody else uses. */
typedef struct scope {
    char ns[96];
    char topic[96];
} scope;

static void scope_init(scope *sc, const suite_ctx *c, const char *tag)
{
    snprintf(sc->ns, sizeof(sc->ns), "awconf-%s-%s", c->run_id, tag);
    snprintf(sc->topic, sizeof(sc->topic), "awconf.%s.%s", c->run_id, tag);
}

#define CHECK_OK(expr, err)                                                                    \
    do {                                                                                       \
        aw_status rc_ = (expr);                                                                \
        if (rc_ != AW_OK)                                                                      \
            fail_msg("%s: %s (%s)", #expr, aw_status_name(rc_), (err)->msg);                   \
    } while (0)

/* ---- building records --------------------------------------------------- */

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = v ? strdup(v) : NULL;
    if (v)
        assert_non_null(*field);
}

static void set_fmt(char **field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fmt(char **field, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    set_str(field, buf);
}

/* A complete, owned record at offset `off` of the scope's topic. Tests
 * override fields with set_str() afterwards. */
static void make_rec(aw_audit_record *r, const scope *sc, int64_t off, int64_t completed_ms)
{
    memset(r, 0, sizeof(*r));
    char id[160];
    aw_audit_record_id(id, sizeof(id), sc->topic, 0, off);
    set_str(&r->record_id, id);
    set_fmt(&r->action_id, "act-%" PRId64, off);
    set_str(&r->ns, sc->ns);
    set_str(&r->tenant, "acme");
    set_str(&r->provider, "log");
    set_str(&r->action_type, "notify");
    set_fmt(&r->dedup_identity, "%s:acme:act-%" PRId64, sc->ns, off);
    r->outcome = AW_OUTCOME_EXECUTED;
    set_fmt(&r->details, "{\"provider_status\":200,\"n\":%" PRId64 "}", off);
    set_fmt(&r->payload, "{\"offset\":%" PRId64 ",\"text\":\"caf\xc3\xa9\"}", off);
    set_str(&r->metadata, "{\"source\":\"conformance\"}");
    set_str(&r->source_topic, sc->topic);
    r->source_partition = 0;
    r->source_offset = off;
    set_str(&r->worker_id, "conformance-worker");
    r->fencing_token = (uint64_t)off + 1;
    r->attempts = 1;
    r->completed_at_ms = completed_ms;
    r->dispatched_at_ms = completed_ms - 5;
    r->duration_ms = 5;
    r->expires_at_ms = completed_ms + 365 * DAY_MS; /* far from any cleanup */
}

static aw_audit_record *recs_new(size_t n)
{
    aw_audit_record *r = calloc(n ? n : 1, sizeof(*r));
    assert_non_null(r);
    return r;
}

static void recs_free(aw_audit_record *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        aw_audit_record_clear(&r[i]);
    free(r);
}

static size_t append(suite_ctx *c, const aw_audit_record *recs, size_t n)
{
    size_t inserted = 99999;
    aw_error err = {0};
    CHECK_OK(aw_audit_append_batch(c->s, recs, n, &inserted, &err), &err);
    assert_true(inserted <= n);
    return inserted;
}

/* Append in batches of `batch`, every record new. */
static void append_all(suite_ctx *c, const aw_audit_record *recs, size_t n, size_t batch)
{
    for (size_t i = 0; i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        assert_int_equal(append(c, recs + i, k), k);
    }
}

/* ---- the oracle --------------------------------------------------------- */

/* Query order: completed_at desc, then record_id desc in byte order. */
static int order_cmp(const aw_audit_record *a, const aw_audit_record *b)
{
    if (a->completed_at_ms != b->completed_at_ms)
        return a->completed_at_ms > b->completed_at_ms ? -1 : 1;
    return -strcmp(a->record_id, b->record_id);
}

static int order_cmp_ptr(const void *a, const void *b)
{
    return order_cmp(*(const aw_audit_record *const *)a, *(const aw_audit_record *const *)b);
}

static bool str_eq(const char *want, const char *have)
{
    return !want || strcmp(want, have) == 0;
}

static bool oracle_match(const aw_audit_query *q, const aw_audit_record *r)
{
    return str_eq(q->ns, r->ns) && str_eq(q->tenant, r->tenant) &&
           str_eq(q->provider, r->provider) && str_eq(q->action_type, r->action_type) &&
           str_eq(q->action_id, r->action_id) &&
           /* a record without a rule matches no rule filter, "" included */
           (!q->rule || (r->rule && strcmp(q->rule, r->rule) == 0)) &&
           (!q->fingerprint || (r->fingerprint && strcmp(q->fingerprint, r->fingerprint) == 0)) &&
           (!q->group_id || (r->group_id && strcmp(q->group_id, r->group_id) == 0)) &&
           (!q->chain_id || (r->chain_id && strcmp(q->chain_id, r->chain_id) == 0)) &&
           (q->outcome < 0 || (int)r->outcome == q->outcome) &&
           (q->from_ms == 0 || r->completed_at_ms >= q->from_ms) &&
           (q->to_ms == 0 || r->completed_at_ms < q->to_ms);
}

/* Rows returned by paging through q with `limit` until next_cursor is NULL. */
typedef struct collected {
    aw_audit_record *recs;
    size_t n;
    size_t pages;
} collected;

static void collected_free(collected *col)
{
    recs_free(col->recs, col->n);
    memset(col, 0, sizeof(*col));
}

static void run_page(suite_ctx *c, const aw_audit_query *q, aw_audit_page *p)
{
    aw_error err = {0};
    CHECK_OK(aw_audit_query_run(c->s, q, p, &err), &err);
    size_t eff = aw_audit_clamp_limit(q->limit);
    assert_true(p->count <= eff);
    /* a page with more behind it is full: filters are applied before the
     * limit, not after */
    if (p->next_cursor)
        assert_int_equal(p->count, eff);
    assert_true(p->count == 0 || p->records != NULL);
}

static void collect_all(suite_ctx *c, aw_audit_query q, size_t limit, size_t max_rows,
                        collected *out)
{
    memset(out, 0, sizeof(*out));
    out->recs = recs_new(max_rows + 1);
    char *cursor = q.cursor ? strdup(q.cursor) : NULL; /* resume where q says */
    q.limit = limit;
    do {
        q.cursor = cursor;
        aw_audit_page p;
        run_page(c, &q, &p);
        out->pages++;
        assert_true(out->n + p.count <= max_rows); /* bounded even if pages repeat */
        for (size_t i = 0; i < p.count; i++) {
            out->recs[out->n++] = p.records[i]; /* take ownership */
            memset(&p.records[i], 0, sizeof(p.records[i]));
        }
        free(cursor);
        cursor = p.next_cursor;
        p.next_cursor = NULL;
        aw_audit_page_clear(&p);
    } while (cursor);
}

/* The core check: paging through q with `limit` yields exactly the oracle's
 * rows of `all`, in query order, each one equal to what was written. */
static void check_query(suite_ctx *c, const aw_audit_query *q, size_t limit,
                        const aw_audit_record *all, size_t n)
{
    const aw_audit_record **want = calloc(n ? n : 1, sizeof(*want));
    assert_non_null(want);
    size_t nwant = 0;
    for (size_t i = 0; i < n; i++)
        if (oracle_match(q, &all[i]))
            want[nwant++] = &all[i];
    qsort(want, nwant, sizeof(*want), order_cmp_ptr);

    collected got;
    collect_all(c, *q, limit, nwant, &got);
    for (size_t i = 0; i < got.n; i++) {
        if (i >= nwant || !aw_audit_record_equal(&got.recs[i], want[i]))
            fail_msg("row %zu: got %s, want %s (limit %zu, %zu rows wanted)", i,
                     got.recs[i].record_id, i < nwant ? want[i]->record_id : "<none>", limit,
                     nwant);
    }
    if (got.n != nwant)
        fail_msg("got %zu rows, want %zu (limit %zu)", got.n, nwant, limit);
    size_t eff = aw_audit_clamp_limit(limit);
    size_t pages = nwant == 0 ? 1 : (nwant + eff - 1) / eff;
    assert_int_equal(got.pages, pages); /* the last page carries no cursor */
    collected_free(&got);
    free(want);
}

static aw_audit_query query_ns(const scope *sc)
{
    return (aw_audit_query){.ns = sc->ns, .outcome = -1};
}

static size_t count_rows(suite_ctx *c, const aw_audit_query *q)
{
    collected got;
    collect_all(c, *q, AW_AUDIT_MAX_LIMIT, 100000, &got);
    size_t n = got.n;
    collected_free(&got);
    return n;
}

/* ---- tests: append ------------------------------------------------------ */

static void test_append_idempotent_in_batch(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "dup_in_batch");
    aw_audit_record *r = recs_new(5);
    make_rec(&r[0], &sc, 0, c->base_ms); /* A */
    make_rec(&r[1], &sc, 1, c->base_ms); /* B, same completed_at */
    make_rec(&r[2], &sc, 0, c->base_ms); /* A again (a redelivery) */
    make_rec(&r[3], &sc, 1, c->base_ms);
    make_rec(&r[4], &sc, 0, c->base_ms);
    assert_int_equal(append(c, r, 5), 2);
    assert_int_equal(append(c, r + 2, 3), 0);
    aw_audit_query q = query_ns(&sc);
    check_query(c, &q, 10, r, 2); /* exactly A and B */
    recs_free(r, 5);
}

static void test_append_idempotent_across_batches(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "dup_across");
    aw_audit_record *r = recs_new(4);
    for (int i = 0; i < 3; i++)
        make_rec(&r[i], &sc, i, c->base_ms + i);
    assert_int_equal(append(c, r, 2), 2);     /* A B */
    assert_int_equal(append(c, r + 1, 2), 1); /* B C */
    assert_int_equal(append(c, r, 1), 0);     /* A */
    assert_int_equal(append(c, r, 3), 0);     /* A B C */
    /* a redelivery carrying different content does not overwrite: the
     * first write of a record id wins */
    make_rec(&r[3], &sc, 0, c->base_ms + 100);
    set_str(&r[3].tenant, "other");
    assert_int_equal(append(c, &r[3], 1), 0);
    aw_audit_query q = query_ns(&sc);
    check_query(c, &q, 10, r, 3);
    assert_int_equal(append(c, NULL, 0), 0); /* an empty batch is fine */
    recs_free(r, 4);
}

static void test_append_roundtrip_fields(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "roundtrip");
    enum { N = 6 };
    aw_audit_record *r = recs_new(N);
    for (int i = 0; i < N; i++)
        make_rec(&r[i], &sc, i, c->base_ms - i * 1000);
    set_str(&r[0].payload, NULL);
    set_str(&r[0].metadata, NULL);
    set_str(&r[1].payload, "null");
    set_str(&r[2].payload, "[1,\"two\",{\"three\":3.5},true]");
    set_str(&r[2].tenant, "t\xc3\xa9nant \xe2\x9c\x93"); /* non-ASCII */
    set_str(&r[3].action_id, "");                        /* rejected: nothing readable */
    set_str(&r[3].tenant, "");
    set_str(&r[3].provider, "");
    set_str(&r[3].action_type, "");
    set_str(&r[3].dedup_identity, "");
    r[3].outcome = AW_OUTCOME_REJECTED;
    r[3].fencing_token = 0;
    r[3].attempts = 0;
    set_str(&r[3].details, "{\"reason\":\"invalid_json\",\"error\":\"quote ' and \\\" and \\\\\"}");
    r[4].outcome = AW_OUTCOME_DEDUPLICATED;
    set_str(&r[4].details, "{\"original_outcome\":\"executed\",\"nested\":{\"a\":[]}}");
    r[5].outcome = AW_OUTCOME_FAILED;
    set_str(&r[5].rule, "one-at-a-time"); /* a lock rule's lock_timeout */
    r[1].outcome = AW_OUTCOME_SUPPRESSED;
    set_str(&r[1].rule, "quiet-hours");
    r[2].outcome = AW_OUTCOME_THROTTLED;
    set_str(&r[2].rule, "r\xc3\xa8gle 'x' \\ \"q\"\ttab"); /* non-ASCII, quotes, escapes */
    r[0].outcome = AW_OUTCOME_SCHEDULED;
    r[4].rule = NULL; /* deduplicated: no rule applied */
    /* the state ids, each on a different record, one with every byte kind */
    set_str(&r[5].fingerprint, "host-1/disk \xc3\xa9 'q' \"x\"");
    set_str(&r[1].group_id, "alerts:eu-west:3");
    set_str(&r[2].chain_id, "orders:o-17");
    set_str(&r[0].group_id, "g");
    set_str(&r[0].chain_id, "c");
    r[5].source_partition = 2147483647;
    r[5].source_offset = INT64_MAX;
    r[5].fencing_token = (uint64_t)INT64_MAX;
    r[5].attempts = 12;
    r[5].duration_ms = 123456789;
    set_fmt(&r[5].record_id, "%s:2147483647:9223372036854775807", sc.topic);
    append_all(c, r, N, N);
    aw_audit_query q = query_ns(&sc);
    check_query(c, &q, 100, r, N); /* compares every field */
    recs_free(r, N);
}

/* ---- tests: query ------------------------------------------------------- */

static const char *const tenants[] = {"acme", "globex"};
static const char *const providers[] = {"log", "webhook", "email"};
static const char *const types[] = {"notify", "charge"};
/* NULL: no rule applied to the record */
static const char *const rules[] = {NULL, "quiet-hours", "per-tenant", NULL, "one-at-a-time"};
#define N_RULES (sizeof(rules) / sizeof(rules[0]))
/* NULL: the record belongs to no event / group / chain */
static const char *const fps[] = {NULL, "db-1", NULL, "db-2"};
static const char *const groups[] = {"g-1", NULL, NULL};
static const char *const chains[] = {NULL, NULL, "c-1", "c-2", NULL, NULL, NULL};
#define N_OF(a) (sizeof(a) / sizeof(a[0]))

static void test_query_each_filter(void **state)
{
    suite_ctx *c = *state;
    scope sc, other;
    scope_init(&sc, c, "filters");
    scope_init(&other, c, "filters_other");
    /* enough records for every outcome ((i / 3) % AW_OUTCOME_COUNT), with
     * room for outcomes still to come */
    enum { N = 48 };
    aw_audit_record *r = recs_new(N + 1);
    for (int i = 0; i < N; i++) {
        make_rec(&r[i], &sc, i, c->base_ms - (i % 5) * 1000);
        set_str(&r[i].tenant, tenants[i % 2]);
        set_str(&r[i].provider, providers[i % 3]);
        set_str(&r[i].action_type, types[(i / 2) % 2]);
        r[i].outcome = (aw_outcome)((i / 3) % AW_OUTCOME_COUNT);
        set_str(&r[i].rule, rules[i % N_RULES]);
        set_str(&r[i].fingerprint, fps[i % N_OF(fps)]);
        set_str(&r[i].group_id, groups[i % N_OF(groups)]);
        set_str(&r[i].chain_id, chains[i % N_OF(chains)]);
    }
    make_rec(&r[N], &other, 0, c->base_ms); /* same tenant, other namespace */
    set_str(&r[N].group_id, "g-1");          /* ... and the same group id */
    append_all(c, r, N + 1, 10);

    aw_audit_query q = query_ns(&sc);
    check_query(c, &q, 7, r, N + 1);
    for (size_t i = 0; i < 2; i++) {
        q = query_ns(&sc);
        q.tenant = tenants[i];
        check_query(c, &q, 5, r, N + 1);
    }
    for (size_t i = 0; i < 3; i++) {
        q = query_ns(&sc);
        q.provider = providers[i];
        check_query(c, &q, 5, r, N + 1);
    }
    for (size_t i = 0; i < 2; i++) {
        q = query_ns(&sc);
        q.action_type = types[i];
        check_query(c, &q, 5, r, N + 1);
    }
    /* every outcome, the rules' (suppressed, throttled) and scheduled ones
     * included, is stored and found */
    for (int o = 0; o < AW_OUTCOME_COUNT; o++) {
        q = query_ns(&sc);
        q.outcome = o;
        check_query(c, &q, 4, r, N + 1);
        if (count_rows(c, &q) == 0)
            fail_msg("no record found with outcome %s", aw_outcome_name((aw_outcome)o));
    }
    for (size_t i = 0; i < N_RULES; i++) {
        if (!rules[i])
            continue;
        q = query_ns(&sc);
        q.rule = rules[i];
        check_query(c, &q, 2, r, N + 1);
        assert_true(count_rows(c, &q) > 0);
    }
    /* each state id alone, and with another filter; one nobody has */
    for (int k = 0; k < 3; k++) {
        const char *const *vals = k == 0 ? fps : k == 1 ? groups : chains;
        size_t nv = k == 0 ? N_OF(fps) : k == 1 ? N_OF(groups) : N_OF(chains);
        for (size_t i = 0; i <= nv; i++) {
            const char *v = i < nv ? vals[i] : "no-such-id";
            if (!v)
                continue;
            q = query_ns(&sc);
            *(k == 0 ? &q.fingerprint : k == 1 ? &q.group_id : &q.chain_id) = v;
            check_query(c, &q, 2, r, N + 1);
            assert_true((count_rows(c, &q) > 0) == (i < nv));
            q.tenant = "acme";
            check_query(c, &q, 3, r, N + 1);
        }
    }
    /* the same group id in another namespace: only that namespace's row */
    q = query_ns(&other);
    q.group_id = "g-1";
    check_query(c, &q, 2, r, N + 1);
    assert_int_equal(count_rows(c, &q), 1);
    q = query_ns(&sc);
    q.rule = "quiet-hours";
    q.outcome = AW_OUTCOME_SUPPRESSED;
    check_query(c, &q, 3, r, N + 1);
    q.tenant = "globex";
    check_query(c, &q, 3, r, N + 1);
    q = query_ns(&sc);
    q.rule = "no-such-rule";
    check_query(c, &q, 5, r, N + 1);
    q = query_ns(&sc);
    q.action_id = "act-7";
    check_query(c, &q, 5, r, N + 1);
    assert_int_equal(count_rows(c, &q), 1);
    q = query_ns(&sc);
    q.tenant = "acme";
    q.provider = "webhook";
    q.action_type = "charge";
    q.outcome = AW_OUTCOME_FAILED;
    check_query(c, &q, 1, r, N + 1);
    q = query_ns(&sc);
    q.provider = "nobody";
    check_query(c, &q, 5, r, N + 1);
    /* the namespace alone separates the other scope */
    q = query_ns(&other);
    check_query(c, &q, 5, r, N + 1);
    assert_int_equal(count_rows(c, &q), 1);
    recs_free(r, N + 1);
}

static void test_query_time_range(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "time_range");
    enum { N = 10 };
    aw_audit_record *r = recs_new(N);
    for (int i = 0; i < N; i++)
        make_rec(&r[i], &sc, i, c->base_ms + i * 1000);
    append_all(c, r, N, N);
    const int64_t b = c->base_ms;
    static const struct {
        int64_t from, to; /* offsets in seconds from base, -1 = unbounded */
        size_t want;
    } ranges[] = {
        {3, 7, 4},  /* [3, 7): from inclusive, to exclusive */
        {3, -1, 7}, {-1, 7, 7}, {-1, -1, 10}, {0, 10, 10}, {5, 5, 0}, {7, 3, 0},
        {9, 10, 1}, {10, 20, 0}, {-1, 0, 0},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        aw_audit_query q = query_ns(&sc);
        q.from_ms = ranges[i].from < 0 ? 0 : b + ranges[i].from * 1000;
        q.to_ms = ranges[i].to < 0 ? 0 : b + ranges[i].to * 1000;
        check_query(c, &q, 3, r, N);
        assert_int_equal(count_rows(c, &q), ranges[i].want);
    }
    /* millisecond edges */
    aw_audit_query q = query_ns(&sc);
    q.from_ms = b + 3000 + 1;
    q.to_ms = b + 7000 + 1;
    check_query(c, &q, 2, r, N);
    assert_int_equal(count_rows(c, &q), 4); /* 4..7 */
    recs_free(r, N);
}

static void test_query_newest_first(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "newest_first");
    enum { N = 12 };
    aw_audit_record *r = recs_new(N);
    /* written out of order, at scattered times */
    static const int secs[N] = {5, 1, 9, 3, 11, 0, 7, 2, 10, 4, 8, 6};
    for (int i = 0; i < N; i++)
        make_rec(&r[i], &sc, i, c->base_ms + secs[i] * 1000 + i);
    for (int i = 0; i < N; i++)
        append(c, &r[i], 1);
    aw_audit_query q = query_ns(&sc);
    q.limit = 100;
    aw_audit_page p;
    run_page(c, &q, &p);
    assert_int_equal(p.count, N);
    assert_null(p.next_cursor);
    for (size_t i = 1; i < p.count; i++)
        assert_true(p.records[i - 1].completed_at_ms > p.records[i].completed_at_ms);
    aw_audit_page_clear(&p);
    check_query(c, &q, 5, r, N);
    recs_free(r, N);
}

/* 25 rows, 10 of them sharing one completed_at: paging with a small limit
 * must neither skip nor repeat a row, whatever the page boundaries. */
static void test_keyset_ties(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "ties");
    enum { N = 25 };
    aw_audit_record *r = recs_new(N + 1);
    const int64_t tie = c->base_ms + 100 * 1000;
    for (int i = 0; i < N; i++) {
        int64_t t = (i >= 8 && i < 18) ? tie : c->base_ms + i * 1000;
        make_rec(&r[i], &sc, i, t); /* ids :8 .. :17 sort as "17" < "8" bytewise */
        set_str(&r[i].tenant, tenants[i % 2]);
    }
    append_all(c, r, N, 4);
    for (size_t limit = 1; limit <= 11; limit++) {
        aw_audit_query q = query_ns(&sc);
        check_query(c, &q, limit, r, N);
    }
    aw_audit_query q = query_ns(&sc); /* ties + filter */
    q.tenant = "globex";
    check_query(c, &q, 3, r, N);
    q = query_ns(&sc); /* ties + time range ending inside the tie */
    q.from_ms = tie;
    q.to_ms = tie + 1;
    check_query(c, &q, 3, r, N);
    assert_int_equal(count_rows(c, &q), 10);

    /* a row written between pages, newer than the cursor, does not show up
     * in later pages and shifts nothing */
    q = query_ns(&sc);
    q.limit = 3;
    aw_audit_page p1, p2;
    run_page(c, &q, &p1);
    assert_non_null(p1.next_cursor);
    make_rec(&r[N], &sc, N, tie + 50);
    append_all(c, &r[N], 1, 1);
    q.cursor = p1.next_cursor;
    run_page(c, &q, &p2);
    assert_int_equal(p2.count, 3);
    for (size_t i = 0; i < p2.count; i++) {
        assert_true(order_cmp(&p1.records[p1.count - 1], &p2.records[i]) < 0);
        assert_string_not_equal(p2.records[i].record_id, r[N].record_id);
    }
    aw_audit_page_clear(&p2);
    aw_audit_page_clear(&p1);
    recs_free(r, N + 1);
}

static void test_limit_clamp(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "limits");
    enum { N = AW_AUDIT_MAX_LIMIT + 1 };
    aw_audit_record *r = recs_new(N);
    for (int i = 0; i < N; i++)
        make_rec(&r[i], &sc, i, c->base_ms - (i / 7) * 1000);
    append_all(c, r, N, 250);
    static const struct {
        size_t limit, want;
    } cases[] = {
        {0, AW_AUDIT_DEFAULT_LIMIT}, {1, 1}, {AW_AUDIT_MAX_LIMIT, AW_AUDIT_MAX_LIMIT},
        {5000, AW_AUDIT_MAX_LIMIT}, {SIZE_MAX, AW_AUDIT_MAX_LIMIT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_audit_query q = query_ns(&sc);
        q.limit = cases[i].limit;
        aw_audit_page p;
        run_page(c, &q, &p);
        assert_int_equal(p.count, cases[i].want);
        assert_non_null(p.next_cursor);
        if (cases[i].want == AW_AUDIT_MAX_LIMIT) { /* one row left after it */
            q.cursor = p.next_cursor;
            aw_audit_page rest;
            run_page(c, &q, &rest);
            assert_int_equal(rest.count, 1);
            assert_null(rest.next_cursor);
            aw_audit_page_clear(&rest);
        }
        aw_audit_page_clear(&p);
    }
    aw_audit_query q = query_ns(&sc);
    check_query(c, &q, 5000, r, N);
    recs_free(r, N);
}

/* Filters are values, never patterns or query text: nothing a caller puts in
 * one can widen the match beyond rows holding exactly that string. */
static void test_filters_not_widened(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "injection");
    static const char *const stored[] = {"acme", "globex", "%", "acme's", "ACME", "a_me"};
    enum { N = sizeof(stored) / sizeof(stored[0]) };
    aw_audit_record *r = recs_new(N + 1);
    for (size_t i = 0; i < N; i++) {
        make_rec(&r[i], &sc, (int64_t)i, c->base_ms + (int64_t)i);
        set_str(&r[i].tenant, stored[i]);
        set_str(&r[i].rule, stored[i]);
    }
    /* and one without a rule, which no rule filter may reach */
    make_rec(&r[N], &sc, N, c->base_ms + N);
    set_str(&r[N].tenant, "no rule here");
    append_all(c, r, N + 1, N + 1);
    static const struct {
        const char *tenant;
        size_t want;
    } cases[] = {
        {"x' OR '1'='1", 0}, {"' OR ''='", 0}, {"acme' --", 0}, {"%", 1}, {"*", 0},
        {"acme%", 0}, {"a%", 0}, {"ac_e", 0}, {"a_me", 1}, {".*", 0}, {"acme's", 1},
        {"acme", 1}, {"", 0}, {"acme\\", 0}, {"{\"$ne\":null}", 0}, {"acme OR globex", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_audit_query q = query_ns(&sc);
        q.tenant = cases[i].tenant;
        if (count_rows(c, &q) != cases[i].want)
            fail_msg("tenant \"%s\" matched %zu rows, want %zu", cases[i].tenant,
                     count_rows(c, &q), cases[i].want);
        check_query(c, &q, 2, r, N + 1);
        q = query_ns(&sc);
        q.rule = cases[i].tenant;
        if (count_rows(c, &q) != cases[i].want)
            fail_msg("rule \"%s\" matched %zu rows, want %zu", cases[i].tenant,
                     count_rows(c, &q), cases[i].want);
        check_query(c, &q, 2, r, N + 1);
    }
    /* the same through the other filters; the namespace cannot be widened */
    static const char *const hostile[] = {"x' OR '1'='1", "%", "*", ".*", ""};
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        aw_audit_query q = query_ns(&sc);
        q.provider = hostile[i];
        assert_int_equal(count_rows(c, &q), 0);
        q = query_ns(&sc);
        q.action_type = hostile[i];
        assert_int_equal(count_rows(c, &q), 0);
        q = query_ns(&sc);
        q.action_id = hostile[i];
        assert_int_equal(count_rows(c, &q), 0);
        char ns[160];
        snprintf(ns, sizeof(ns), "%s%s", sc.ns, hostile[i][0] ? hostile[i] : "' --");
        q = (aw_audit_query){.ns = ns, .outcome = -1};
        assert_int_equal(count_rows(c, &q), 0);
    }
    recs_free(r, N + 1);
}

static void test_malformed_cursor(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "bad_cursor");
    aw_audit_record *r = recs_new(3);
    for (int i = 0; i < 3; i++)
        make_rec(&r[i], &sc, i, c->base_ms + i);
    append_all(c, r, 3, 3);
    char huge[4096];
    memset(huge, 'Q', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    const char *bad[] = {
        "", "not a cursor", "%%%", "MXw1fHg=", "x' OR '1'='1", "\xff\xfe", "AAAA", huge,
        "MnwxfHg", /* well-formed base64url, unknown layout */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aw_audit_query q = query_ns(&sc);
        q.cursor = bad[i];
        aw_audit_page p;
        memset(&p, 0x5A, sizeof(p)); /* must be reset even on failure */
        aw_error err = {0};
        aw_status rc = aw_audit_query_run(c->s, &q, &p, &err);
        if (rc != AW_PERMANENT)
            fail_msg("cursor %zu: %s (%s), want permanent", i, aw_status_name(rc), err.msg);
        assert_false(err.retriable);
        assert_int_equal(p.count, 0);
        assert_null(p.records);
        assert_null(p.next_cursor);
        aw_audit_page_clear(&p);
    }
    /* a well-formed cursor is just a position, even one no page produced */
    char *before_all = aw_audit_cursor_encode(INT64_MAX, "~");
    char *after_all = aw_audit_cursor_encode(0, "!");
    aw_audit_query q = query_ns(&sc);
    q.cursor = before_all;
    assert_int_equal(count_rows(c, &q), 3);
    q.cursor = after_all;
    assert_int_equal(count_rows(c, &q), 0);
    free(after_all);
    free(before_all);
    /* an unknown outcome is a caller bug, not "any" */
    q = query_ns(&sc);
    q.outcome = AW_OUTCOME_COUNT;
    aw_audit_page p;
    aw_error err = {0};
    assert_int_equal(aw_audit_query_run(c->s, &q, &p, &err), AW_PERMANENT);
    assert_int_equal(p.count, 0);
    recs_free(r, 3);
}

static void test_empty_result(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "empty");
    aw_audit_query q = query_ns(&sc);
    aw_audit_page p;
    run_page(c, &q, &p);
    assert_int_equal(p.count, 0);
    assert_null(p.next_cursor);
    aw_audit_page_clear(&p);
}

/* ---- tests: retention --------------------------------------------------- */

static void test_cleanup_bounded(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "cleanup");
    const int64_t now = c->now_ms;
    enum { EXPIRED = 7, LIVE = 3, N = EXPIRED + LIVE };
    aw_audit_record *r = recs_new(N);
    for (int i = 0; i < N; i++)
        make_rec(&r[i], &sc, i, now - 40 * DAY_MS + i);
    for (int i = 0; i < EXPIRED - 1; i++)
        r[i].expires_at_ms = now - DAY_MS - i;
    r[EXPIRED - 1].expires_at_ms = now;     /* expires_at <= now: deleted */
    r[EXPIRED].expires_at_ms = now + 1;     /* one ms short: kept */
    r[EXPIRED + 1].expires_at_ms = now + DAY_MS;
    r[EXPIRED + 2].expires_at_ms = now + 365 * DAY_MS;
    append_all(c, r, N, N);

    aw_error err = {0};
    size_t deleted = 99;
    CHECK_OK(aw_audit_cleanup(c->s, now, 0, &deleted, &err), &err);
    assert_int_equal(deleted, 0); /* max_rows 0: no work at all */
    CHECK_OK(aw_audit_cleanup(c->s, now, 2, &deleted, &err), &err);
    assert_true(deleted >= 1 && deleted <= 2); /* progress, within the bound */
    /* drain in bounded steps (a shared server may hold other expired rows) */
    size_t steps = 0;
    do {
        CHECK_OK(aw_audit_cleanup(c->s, now, 3, &deleted, &err), &err);
        assert_true(deleted <= 3);
        assert_true(++steps < 1000000);
    } while (deleted > 0);
    aw_audit_query q = query_ns(&sc);
    check_query(c, &q, 10, r + EXPIRED, LIVE);
    /* replaying the deleted records is allowed to store them again */
    recs_free(r, N);
}

/* ---- tests: concurrency ------------------------------------------------- */

enum { CONC_THREADS = 4, CONC_ROWS = 240, CONC_BATCH = 7 };

typedef struct conc_arg {
    suite_ctx *c;
    const aw_audit_record *recs;
    const char *ns;
    int seed;
    size_t inserted;   /* out */
    aw_status failed;  /* out: first error, AW_OK when none */
    char msg[256];
    bool reader;
} conc_arg;

/* Appends every record (in its own batch order) or, for the reader, keeps
 * querying; asserts are made by the main thread, since cmocka's are not
 * thread-safe. */
static void *conc_main(void *p)
{
    conc_arg *a = p;
    aw_audit_session *s = NULL;
    aw_error err = {0};
    if ((a->failed = aw_audit_session_open(a->c->audit, &s, &err)) != AW_OK)
        goto out;
    for (size_t k = 0; k < CONC_ROWS && a->failed == AW_OK; k += CONC_BATCH) {
        if (a->reader) {
            aw_audit_query q = {.ns = a->ns, .outcome = -1, .limit = 50};
            aw_audit_page pg;
            if ((a->failed = aw_audit_query_run(s, &q, &pg, &err)) != AW_OK)
                break;
            for (size_t i = 1; i < pg.count; i++)
                if (order_cmp(&pg.records[i - 1], &pg.records[i]) >= 0)
                    a->failed = aw_error_set(&err, AW_INTERNAL, "reader saw rows out of order");
            aw_audit_page_clear(&pg);
            continue;
        }
        /* the batches walk the rows from a thread-specific start */
        size_t start = ((size_t)a->seed * 61 + k) % CONC_ROWS;
        aw_audit_record batch[CONC_BATCH];
        size_t n = 0;
        for (; n < CONC_BATCH && k + n < CONC_ROWS; n++)
            batch[n] = a->recs[(start + n) % CONC_ROWS]; /* shallow: read-only views */
        size_t ins = 0;
        a->failed = aw_audit_append_batch(s, batch, n, &ins, &err);
        a->inserted += ins;
    }
    /* every thread finally appends everything once more: all duplicates */
    if (!a->reader && a->failed == AW_OK) {
        size_t ins = 0;
        a->failed = aw_audit_append_batch(s, a->recs, CONC_ROWS, &ins, &err);
        a->inserted += ins;
    }
out:
    if (a->failed != AW_OK)
        snprintf(a->msg, sizeof(a->msg), "%s", err.msg);
    aw_audit_session_close(s);
    return NULL;
}

static void test_concurrent_appends(void **state)
{
    suite_ctx *c = *state;
    scope sc;
    scope_init(&sc, c, "concurrent");
    aw_audit_record *r = recs_new(CONC_ROWS);
    for (int i = 0; i < CONC_ROWS; i++)
        make_rec(&r[i], &sc, i, c->base_ms + (i % 13) * 1000);
    conc_arg args[CONC_THREADS + 1];
    pthread_t th[CONC_THREADS + 1];
    for (int i = 0; i <= CONC_THREADS; i++) {
        args[i] = (conc_arg){.c = c, .recs = r, .ns = sc.ns, .seed = i,
                             .reader = (i == CONC_THREADS)};
        assert_int_equal(pthread_create(&th[i], NULL, conc_main, &args[i]), 0);
    }
    size_t total = 0;
    for (int i = 0; i <= CONC_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (args[i].failed != AW_OK)
            fail_msg("thread %d: %s (%s)", i, aw_status_name(args[i].failed), args[i].msg);
        total += args[i].inserted;
    }
    assert_int_equal(total, CONC_ROWS); /* each record stored exactly once */
    aw_audit_query q = query_ns(&sc);
    check_query(c, &q, 64, r, CONC_ROWS);
    recs_free(r, CONC_ROWS);
}

/* ---- runner ------------------------------------------------------------- */

/* 16 random hex digits: /dev/urandom, else time and pid (still distinct per
 * run on one machine). */
static void random_run_id(char out[17])
{
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        v = (uint64_t)aw_time_now_ms() * 1000003u ^ (uint64_t)getpid() ^ (uint64_t)aw_mono_now_ms();
    if (fd >= 0)
        close(fd);
    snprintf(out, 17, "%016" PRIx64, v);
}

int aw_audit_conformance_run(const char *backend_name, const aw_audit_options *opts)
{
    suite_ctx c = {0};
    aw_error err = {0};
    random_run_id(c.run_id);
    c.now_ms = aw_time_now_ms();
    c.base_ms = c.now_ms / 1000 * 1000 - 3600 * 1000; /* an hour ago, whole second */
    if (aw_audit_new(backend_name, opts, &c.audit, &err) != AW_OK ||
        aw_audit_session_open(c.audit, &c.s, &err) != AW_OK) {
        fprintf(stderr, "audit conformance: cannot open backend \"%s\": %s\n", backend_name,
                err.msg);
        aw_audit_destroy(c.audit);
        return 1;
    }
    fprintf(stderr, "audit conformance: backend %s, run id %s\n", backend_name, c.run_id);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_append_idempotent_in_batch, &c),
        cmocka_unit_test_prestate(test_append_idempotent_across_batches, &c),
        cmocka_unit_test_prestate(test_append_roundtrip_fields, &c),
        cmocka_unit_test_prestate(test_query_each_filter, &c),
        cmocka_unit_test_prestate(test_query_time_range, &c),
        cmocka_unit_test_prestate(test_query_newest_first, &c),
        cmocka_unit_test_prestate(test_keyset_ties, &c),
        cmocka_unit_test_prestate(test_limit_clamp, &c),
        cmocka_unit_test_prestate(test_filters_not_widened, &c),
        cmocka_unit_test_prestate(test_malformed_cursor, &c),
        cmocka_unit_test_prestate(test_empty_result, &c),
        cmocka_unit_test_prestate(test_cleanup_bounded, &c),
        cmocka_unit_test_prestate(test_concurrent_appends, &c),
    };
    char group[128];
    snprintf(group, sizeof(group), "audit_conformance/%s", backend_name);
    int failed = cmocka_run_group_tests_name(group, tests, NULL, NULL);
    aw_audit_session_close(c.s);
    aw_audit_destroy(c.audit);
    return failed;
}
