/* The "clickhouse" audit driver: see clickhouse_audit.h for the URL, the
 * dedup strategy and retention; the statements are built in ch_sql.c, rows
 * converted in ch_rows.c, requests made in ch_http.c. */
#include "backends/audit/clickhouse/clickhouse_audit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/audit/clickhouse/ch_rows.h"
#include "backends/audit/clickhouse/ch_sql.h"
#include "backends/clickhouse/ch_http.h"
#include "backends/clickhouse/ch_migrate.h"
#include "backends/http/http.h"
#include "common/aw_clock.h"
#include "common/aw_session.h"

/* Ids per delete mutation: keeps the statement well under max_query_size
 * (256 KiB by default; a record id is <= ~280 bytes). The existence check
 * sends its ids as an external table instead: no such bound. */
#define CH_IDS_PER_STATEMENT 500
/* Longest record id a cursor may carry: topic (<= 249) + two integers. */
#define CH_CURSOR_ID_MAX 512
#define CH_MUTATION_POLL_MS 10

/* Shared by every session. cfg is immutable after create. append_lock
 * serialises the existence check and the insert of append_batch, so that
 * two sessions of this process never both insert one record_id; rows are
 * encoded before it is taken, so writers overlap in that work. */
typedef struct ch_audit {
    aw_ch_config cfg;
    pthread_mutex_t append_lock;
} ch_audit;

typedef struct ch_session {
    ch_audit *a;
    aw_ch_conn conn;
    aw_buf sql;  /* reused statement buffer */
    aw_buf rows; /* reused: the INSERT of append_batch, head then rows */
    aw_buf ids;  /* reused: the batch's ids, rows of the external table */
} ch_session;

/* ---- lifecycle ------------------------------------------------------------ */

static void ch_destroy(void *backend)
{
    ch_audit *a = backend;
    if (!a)
        return;
    pthread_mutex_destroy(&a->append_lock);
    free(a);
}

static aw_status ch_create(const aw_audit_options *opts, void **backend, aw_error *err)
{
    *backend = NULL;
    aw_http_global_init();
    ch_audit *a = calloc(1, sizeof(*a));
    if (!a)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = aw_ch_config_parse("audit.url", opts->url, opts->connect_timeout_ms,
                                      opts->request_timeout_ms, &a->cfg, err);
    if (rc != AW_OK) {
        free(a);
        return rc;
    }
    if (pthread_mutex_init(&a->append_lock, NULL) != 0) {
        free(a);
        return aw_error_set(err, AW_INTERNAL, "clickhouse: cannot create a mutex");
    }
    /* The worker never migrates: refuse to start on a missing schema. */
    rc = aw_ch_schema_check_cfg(&a->cfg, err);
    if (rc != AW_OK) {
        ch_destroy(a);
        return rc;
    }
    *backend = a;
    return AW_OK;
}

static void ch_session_close(void *session)
{
    ch_session *s = session;
    if (!s)
        return;
    aw_ch_conn_close(&s->conn);
    aw_buf_free(&s->sql);
    aw_buf_free(&s->rows);
    aw_buf_free(&s->ids);
    free(s);
}

static aw_status ch_session_connect(void *session, aw_error *err)
{
    ch_session *s = session;
    return aw_ch_conn_open(&s->conn, &s->a->cfg, err);
}

static aw_status ch_session_open(void *backend, void **session, aw_error *err)
{
    return aw_session_open(backend, sizeof(ch_session), ch_session_connect,
                           ch_session_close, session, err);
}


static aw_status ch_migrate_slot(const aw_audit_options *opts, int *applied, aw_error *err)
{
    aw_http_global_init();
    return aw_ch_migrate_url("audit.url", opts->url, opts->connect_timeout_ms,
                             opts->request_timeout_ms, applied, err);
}

/* ---- answers --------------------------------------------------------------- */

typedef aw_status (*line_fn)(void *ctx, const char *line, size_t len, aw_error *err);

/* Call fn for every JSONEachRow line of the last answer, when rc is AW_OK
 * (the request's status); returns the first failure. */
static aw_status each_line(ch_session *s, aw_status rc, line_fn fn, void *ctx, aw_error *err)
{
    const char *p = s->conn.resp.data ? s->conn.resp.data : "";
    while (rc == AW_OK && *p) {
        size_t n = strcspn(p, "\n");
        if (n && fn)
            rc = fn(ctx, p, n, err);
        p += n + (p[n] == '\n');
    }
    return rc;
}

/* Run s->sql; call fn for every line of the answer. */
static aw_status run_rows(ch_session *s, const char *what, line_fn fn, void *ctx, aw_error *err)
{
    aw_status rc = aw_ch_request(&s->conn, s->sql.data, s->sql.len, what, err);
    return each_line(s, rc, fn, ctx, err);
}

/* A list of record_ids read from an answer ({"record_id": ...} lines). */
typedef struct id_list {
    char **ids;
    size_t n, cap;
} id_list;

static void id_list_free(id_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->ids[i]);
    free(l->ids);
    memset(l, 0, sizeof(*l));
}

static aw_status on_id(void *ctx, const char *line, size_t len, aw_error *err)
{
    id_list *l = ctx;
    json_t *o = json_loadb(line, len, 0, NULL);
    const char *id = json_string_value(json_object_get(o, "record_id"));
    aw_status rc = AW_OK;
    if (!id) {
        rc = aw_error_set(err, AW_PERMANENT, "clickhouse: answer without record_id");
    } else if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->ids, cap * sizeof(*p));
        if (!p)
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
        else {
            l->ids = p;
            l->cap = cap;
        }
    }
    if (rc == AW_OK && !(l->ids[l->n] = strdup(id)))
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
    if (rc == AW_OK)
        l->n++;
    json_decref(o);
    return rc;
}

/* ---- append ---------------------------------------------------------------- */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Index order by (record_id, position): the first of equal ids is the
 * first occurrence in the batch. */
typedef struct idx_ent {
    const char *id;
    size_t pos;
} idx_ent;

static int cmp_idx(const void *a, const void *b)
{
    const idx_ent *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* keep[i] = true for the first occurrence of each record_id; the distinct
 * ids (sorted) go to uniq, *nuniq of them. */
static aw_status dedup_batch(const aw_audit_record *recs, size_t n, bool *keep,
                             const char **uniq, size_t *nuniq, aw_error *err)
{
    idx_ent *ix = malloc(n * sizeof(*ix));
    if (!ix)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ix[i] = (idx_ent){recs[i].record_id, i};
    qsort(ix, n, sizeof(*ix), cmp_idx);
    *nuniq = 0;
    for (size_t i = 0; i < n; i++) {
        bool first = i == 0 || strcmp(ix[i].id, ix[i - 1].id) != 0;
        keep[ix[i].pos] = first;
        if (first)
            uniq[(*nuniq)++] = ix[i].id;
    }
    free(ix);
    return AW_OK;
}

/* Which of the (sorted) ids are stored already: into *existing (sorted).
 * One request, the ids as an external table (ch_sql.h). */
static aw_status find_existing(ch_session *s, const char **ids, size_t n, id_list *existing,
                               aw_error *err)
{
    aw_buf_reset(&s->ids);
    if (aw_ch_ids_tsv(&s->ids, ids, n) != 0)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = aw_ch_request_ext(&s->conn, AW_CH_SQL_EXISTING, AW_CH_IDS_TABLE,
                                     AW_CH_IDS_STRUCTURE, s->ids.data, s->ids.len,
                                     "check existing records", err);
    rc = each_line(s, rc, on_id, existing, err);
    if (rc == AW_OK && existing->n > 1)
        qsort(existing->ids, existing->n, sizeof(char *), cmp_str_ptr);
    return rc;
}

static bool in_sorted(const id_list *l, const char *id)
{
    return l->n && bsearch(&id, l->ids, l->n, sizeof(char *), cmp_str_ptr) != NULL;
}

/* s->rows = the INSERT of every kept record; row i (kept) starts at
 * off[i], off[n] is the end. Done outside the lock. */
static aw_status encode_rows(ch_session *s, const aw_audit_record *recs, size_t n,
                             const bool *keep, size_t *off, aw_error *err)
{
    aw_buf_reset(&s->rows);
    if (aw_buf_puts(&s->rows, AW_CH_INSERT_HEAD) != 0)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        off[i] = s->rows.len;
        if (keep[i]) {
            aw_status rc = aw_ch_row_append(&s->rows, &recs[i], err);
            if (rc != AW_OK)
                return rc;
        }
    }
    off[n] = s->rows.len;
    return AW_OK;
}

/* Drop the rows of records already stored from s->rows (rare: replays);
 * the number of rows left goes to *count. */
static void drop_existing(ch_session *s, const aw_audit_record *recs, size_t n,
                          const bool *keep, const size_t *off, const id_list *existing,
                          size_t *count)
{
    size_t w = off[0];
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i] || in_sorted(existing, recs[i].record_id))
            continue;
        size_t len = off[i + 1] - off[i];
        memmove(s->rows.data + w, s->rows.data + off[i], len);
        w += len;
        (*count)++;
    }
    s->rows.len = w;
    s->rows.data[w] = '\0';
}

static aw_status append_locked(ch_session *s, const aw_audit_record *recs, size_t n,
                               const bool *keep, const size_t *off, const char **uniq,
                               size_t nuniq, size_t *inserted, aw_error *err)
{
    id_list existing = {0};
    aw_status rc = find_existing(s, uniq, nuniq, &existing, err);
    size_t count = nuniq;
    if (rc == AW_OK && existing.n > 0)
        drop_existing(s, recs, n, keep, off, &existing, &count);
    if (rc == AW_OK && count > 0)
        rc = aw_ch_request(&s->conn, s->rows.data, s->rows.len, "insert audit records", err);
    if (rc == AW_OK)
        *inserted = count;
    id_list_free(&existing);
    return rc;
}

static aw_status ch_append_batch(void *session, const aw_audit_record *recs, size_t n,
                                 size_t *inserted, aw_error *err)
{
    ch_session *s = session;
    *inserted = 0;
    if (n == 0)
        return AW_OK;
    for (size_t i = 0; i < n; i++)
        if (!recs[i].record_id || !recs[i].record_id[0])
            return aw_error_set(err, AW_PERMANENT, "clickhouse: record %zu has no record_id",
                                i);
    bool *keep = calloc(n, sizeof(*keep));
    const char **uniq = calloc(n, sizeof(*uniq));
    size_t *off = calloc(n + 1, sizeof(*off));
    aw_status rc = keep && uniq && off ? AW_OK : aw_error_set(err, AW_NOMEM, "out of memory");
    size_t nuniq = 0;
    if (rc == AW_OK)
        rc = dedup_batch(recs, n, keep, uniq, &nuniq, err);
    if (rc == AW_OK)
        rc = encode_rows(s, recs, n, keep, off, err);
    if (rc == AW_OK) {
        pthread_mutex_lock(&s->a->append_lock);
        rc = append_locked(s, recs, n, keep, off, uniq, nuniq, inserted, err);
        pthread_mutex_unlock(&s->a->append_lock);
    }
    free(off);
    free(uniq);
    free(keep);
    return rc;
}

/* ---- query ------------------------------------------------------------------ */

typedef struct page_ctx {
    aw_audit_page *out;
    size_t cap;
} page_ctx;

static aw_status on_row(void *ctx, const char *line, size_t len, aw_error *err)
{
    page_ctx *pc = ctx;
    aw_audit_page *p = pc->out;
    if (p->count == pc->cap) {
        size_t cap = pc->cap ? pc->cap * 2 : 16;
        aw_audit_record *r = realloc(p->records, cap * sizeof(*r));
        if (!r)
            return aw_error_set(err, AW_NOMEM, "out of memory");
        p->records = r;
        pc->cap = cap;
    }
    aw_status rc = aw_ch_row_parse(line, len, &p->records[p->count], err);
    if (rc == AW_OK)
        p->count++;
    return rc;
}

static aw_status ch_query(void *session, const aw_audit_query *q, aw_audit_page *out,
                          aw_error *err)
{
    ch_session *s = session;
    memset(out, 0, sizeof(*out));
    if (q->outcome < -1 || q->outcome >= AW_OUTCOME_COUNT)
        return aw_error_set(err, AW_PERMANENT, "audit query: unknown outcome %d", q->outcome);
    int64_t cursor_ms = 0;
    char cursor_id[CH_CURSOR_ID_MAX];
    if (q->cursor &&
        aw_audit_cursor_decode(q->cursor, &cursor_ms, cursor_id, sizeof(cursor_id)) != 0)
        return aw_error_set(err, AW_PERMANENT, "audit query: malformed cursor");
    size_t limit = aw_audit_clamp_limit(q->limit);
    aw_buf_reset(&s->sql);
    if (aw_ch_sql_query(&s->sql, q, limit + 1, q->cursor != NULL, cursor_ms, cursor_id))
        return aw_error_set(err, AW_NOMEM, "out of memory");
    page_ctx pc = {out, 0};
    aw_status rc = run_rows(s, "query audit records", on_row, &pc, err);
    if (rc == AW_OK && out->count > limit) {
        aw_audit_record_clear(&out->records[limit]);
        out->count = limit;
        const aw_audit_record *last = &out->records[limit - 1];
        if (!(out->next_cursor = aw_audit_cursor_encode(last->completed_at_ms, last->record_id)))
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
    }
    if (rc != AW_OK)
        aw_audit_page_clear(out);
    return rc;
}

/* ---- cleanup ------------------------------------------------------------------ */

typedef struct part {
    uint32_t p;
    uint64_t rows;
} part;

typedef struct part_list {
    part v[100];
    size_t n;
} part_list;

static aw_status on_part(void *ctx, const char *line, size_t len, aw_error *err)
{
    part_list *l = ctx;
    json_t *o = json_loadb(line, len, 0, NULL);
    json_t *p = json_object_get(o, "p"), *c = json_object_get(o, "c");
    aw_status rc = AW_OK;
    if (!p || !c || l->n == sizeof(l->v) / sizeof(l->v[0]))
        rc = aw_error_set(err, AW_PERMANENT, "clickhouse: unexpected partition answer");
    else
        l->v[l->n++] = (part){
            (uint32_t)(json_is_string(p) ? strtoul(json_string_value(p), NULL, 10)
                                         : (unsigned long)json_integer_value(p)),
            json_is_string(c) ? strtoull(json_string_value(c), NULL, 10)
                              : (uint64_t)json_integer_value(c)};
    json_decref(o);
    return rc;
}

/* Whole days whose every row has expired, while their row count fits the
 * budget: one cheap metadata operation each. A row inserted into such a
 * day between the count and the drop (a replay of a record older than the
 * retention) is dropped with it, uncounted. */
static aw_status drop_partitions(ch_session *s, int64_t now_ms, size_t *budget,
                                 size_t *deleted, aw_error *err)
{
    part_list l = {.n = 0};
    aw_buf_reset(&s->sql);
    if (aw_ch_sql_expired_partitions(&s->sql, now_ms))
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = run_rows(s, "list expired partitions", on_part, &l, err);
    for (size_t i = 0; rc == AW_OK && i < l.n; i++) {
        if (l.v[i].rows == 0 || l.v[i].rows > *budget)
            continue;
        aw_buf_reset(&s->sql);
        if (aw_ch_sql_drop_partition(&s->sql, l.v[i].p))
            return aw_error_set(err, AW_NOMEM, "out of memory");
        rc = aw_ch_request(&s->conn, s->sql.data, s->sql.len, "drop an expired partition", err);
        if (rc == AW_OK) {
            *budget -= (size_t)l.v[i].rows;
            *deleted += (size_t)l.v[i].rows;
        }
    }
    return rc;
}

static aw_status on_count(void *ctx, const char *line, size_t len, aw_error *err)
{
    json_t *o = json_loadb(line, len, 0, NULL);
    json_t *n = json_object_get(o, "n");
    aw_status rc = AW_OK;
    if (json_is_string(n))
        *(long long *)ctx = strtoll(json_string_value(n), NULL, 10);
    else if (json_is_integer(n))
        *(long long *)ctx = json_integer_value(n);
    else
        rc = aw_error_set(err, AW_PERMANENT, "clickhouse: unexpected count answer");
    json_decref(o);
    return rc;
}

/* ALTER TABLE ... DELETE is asynchronous in 18.16 (no mutations_sync):
 * wait, bounded by the request timeout, until no mutation of the table is
 * running, so the count cleanup reports is what is gone. */
static aw_status wait_mutations(ch_session *s, aw_error *err)
{
    int64_t deadline = aw_mono_now_ms() + s->a->cfg.request_timeout_ms;
    for (;;) {
        long long pending = -1;
        aw_buf_reset(&s->sql);
        if (aw_ch_sql_pending_mutations(&s->sql))
            return aw_error_set(err, AW_NOMEM, "out of memory");
        aw_status rc = run_rows(s, "wait for the delete mutation", on_count, &pending, err);
        if (rc != AW_OK)
            return rc;
        if (pending == 0)
            return AW_OK;
        if (aw_mono_now_ms() >= deadline)
            return aw_error_set(err, AW_TRANSIENT,
                                "clickhouse %s: delete mutation still running after %ld ms",
                                s->a->cfg.where, s->a->cfg.request_timeout_ms);
        struct timespec ts = {0, CH_MUTATION_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Up to *budget expired records (not whole days), one mutation. */
static aw_status delete_rows(ch_session *s, int64_t now_ms, size_t budget, size_t *deleted,
                             aw_error *err)
{
    id_list ids = {0};
    size_t want = budget < CH_IDS_PER_STATEMENT ? budget : CH_IDS_PER_STATEMENT;
    aw_buf_reset(&s->sql);
    if (aw_ch_sql_expired_ids(&s->sql, now_ms, want))
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = run_rows(s, "list expired records", on_id, &ids, err);
    if (rc == AW_OK && ids.n > 0) {
        aw_buf_reset(&s->sql);
        if (aw_ch_sql_delete_ids(&s->sql, now_ms, (const char *const *)ids.ids, ids.n))
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
        if (rc == AW_OK)
            rc = aw_ch_request(&s->conn, s->sql.data, s->sql.len, "delete expired records", err);
        if (rc == AW_OK)
            rc = wait_mutations(s, err);
        if (rc == AW_OK)
            *deleted += ids.n;
    }
    id_list_free(&ids);
    return rc;
}

static aw_status ch_cleanup(void *session, int64_t now_ms, size_t max_rows, size_t *deleted,
                            aw_error *err)
{
    ch_session *s = session;
    *deleted = 0;
    if (max_rows == 0)
        return AW_OK;
    size_t budget = max_rows;
    aw_status rc = drop_partitions(s, now_ms, &budget, deleted, err);
    if (rc == AW_OK && budget > 0)
        rc = delete_rows(s, now_ms, budget, deleted, err);
    return rc;
}

const aw_audit_driver aw_audit_clickhouse_driver = {
    .name = "clickhouse",
    .create = ch_create,
    .destroy = ch_destroy,
    .session_open = ch_session_open,
    .session_close = ch_session_close,
    .append_batch = ch_append_batch,
    .query = ch_query,
    .cleanup = ch_cleanup,
    .migrate = ch_migrate_slot,
};
