/* The due-time index of the "postgres" state backend: table aw_state_due
 * (migration 0003), statements AW_PG_DUE_* (pg_sql.c). Every call is one
 * statement, so one round trip and its own transaction; a lease is judged
 * by the server's now(). Parameters are always bound (never formatted into
 * SQL). A session is one thread's, so its scratch buffer s->key needs no
 * lock. */
#include <stdlib.h>
#include <string.h>

#include "backends/state/postgres/pg_internal.h"
#include "common/aw_key.h"

/* The pool's stored name (key_prefix | aw_key_encode(ns, "", kind, ""))
 * into s->key. */
static aw_status pool_name(pg_session *s, const char *ns, const char *kind, aw_error *err)
{
    aw_buf_reset(&s->key);
    if (aw_buf_append(&s->key, s->b->prefix, s->b->prefix_len) ||
        aw_key_encode(&s->key, ns, "", kind, ""))
        return aw_pgs_nomem(err);
    return AW_OK;
}

/* $1 pool, $2 now_ms of pool (ns, kind): take and stats. p borrows s->key. */
static aw_status pool_params(pg_session *s, const char *ns, const char *kind, int64_t now_ms,
                             aw_pg_params *p, aw_error *err)
{
    aw_status rc = pool_name(s, ns, kind, err);
    if (rc != AW_OK)
        return rc;
    aw_pg_params_init(p);
    aw_pg_param_bytes(p, s->key.data, s->key.len);
    aw_pg_param_i64(p, now_ms);
    return AW_OK;
}

/* $1 pool, $2 tenant, $3 id of item k. p borrows s->key and k. */
static aw_status item_params(pg_session *s, const aw_state_key *k, aw_pg_params *p, aw_error *err)
{
    aw_status rc = pool_name(s, k->ns, k->kind, err);
    if (rc != AW_OK)
        return rc;
    const char *id = k->id ? k->id : "";
    aw_pg_params_init(p);
    aw_pg_param_bytes(p, s->key.data, s->key.len);
    aw_pg_param_bytes(p, k->tenant, strlen(k->tenant));
    aw_pg_param_bytes(p, id, strlen(id));
    return AW_OK;
}

/* Run a statement on one item that returns one row iff it wrote. */
static aw_status run_item(pg_session *s, aw_pg_stmt id, aw_pg_params *p, const char *refused,
                          aw_error *err)
{
    PGresult *r = NULL;
    aw_status rc = aw_pg_exec(&s->conn, id, p, &r, err);
    if (rc != AW_OK)
        return rc;
    bool wrote = PQntuples(r) == 1;
    PQclear(r);
    return wrote ? AW_OK : aw_error_set(err, AW_CONFLICT, "%s", refused);
}

aw_status aw_pgs_due_put(void *ss, const aw_state_key *k, int64_t due_ms, const void *val,
                         size_t len, aw_error *err)
{
    pg_session *s = ss;
    aw_pg_params p;
    aw_status rc = item_params(s, k, &p, err);
    if (rc != AW_OK)
        return rc;
    aw_pg_param_i64(&p, due_ms);
    aw_pg_param_bytes(&p, val, len);
    return run_item(s, AW_PG_DUE_PUT, &p, "due item is leased: put refused", err);
}

static int item_cmp(const void *a, const void *b)
{
    const aw_due_item *x = a, *y = b;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    int c = strcmp(x->tenant, y->tenant);
    return c ? c : strcmp(x->id, y->id);
}

/* Row i of a take (tenant, id, due_ms, token, value) into it. */
static bool take_row(const PGresult *r, int i, const char *ns, const char *kind, aw_due_item *it)
{
    it->ns = strdup(ns);
    it->kind = strdup(kind);
    it->tenant = aw_memdup(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
    it->id = aw_memdup(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
    it->due_ms = aw_pg_get_i64(r, i, 2);
    it->token = (uint64_t)aw_pg_get_i64(r, i, 3);
    it->len = (size_t)PQgetlength(r, i, 4);
    it->value = aw_memdup(PQgetvalue(r, i, 4), it->len);
    return it->ns && it->kind && it->tenant && it->id && it->value;
}

aw_status aw_pgs_due_take(void *ss, const char *ns, const char *kind, int64_t now_ms, size_t limit,
                          int64_t lease_ms, aw_due_item *out, size_t *n, aw_error *err)
{
    pg_session *s = ss;
    aw_pg_params p;
    PGresult *r = NULL;
    aw_status rc = pool_params(s, ns, kind, now_ms, &p, err);
    if (rc != AW_OK)
        return rc;
    aw_pg_param_i64(&p, (int64_t)limit);
    aw_pg_param_i64(&p, lease_ms < AW_PG_MAX_TTL_MS ? lease_ms : AW_PG_MAX_TTL_MS);
    rc = aw_pg_exec(&s->conn, AW_PG_DUE_TAKE, &p, &r, err);
    if (rc != AW_OK)
        return rc;
    size_t rows = (size_t)PQntuples(r);
    if (rows > limit || PQnfields(r) != 5)
        rc = aw_error_set(err, AW_INTERNAL, "postgres due_take: unexpected result");
    for (size_t i = 0; rc == AW_OK && i < rows; i++)
        if (!take_row(r, (int)i, ns, kind, &out[i]))
            rc = aw_pgs_nomem(err);
    PQclear(r);
    if (rc != AW_OK)
        return rc; /* the front frees what was copied */
    if (rows > 1)
        qsort(out, rows, sizeof(*out), item_cmp);
    *n = rows;
    return AW_OK;
}

aw_status aw_pgs_due_done(void *ss, const aw_state_key *k, uint64_t token, aw_error *err)
{
    pg_session *s = ss;
    aw_pg_params p;
    aw_status rc = item_params(s, k, &p, err);
    if (rc != AW_OK)
        return rc;
    aw_pg_param_i64(&p, (int64_t)token);
    return run_item(s, AW_PG_DUE_DONE, &p, "due item lease not held with this token", err);
}

aw_status aw_pgs_due_release(void *ss, const aw_state_key *k, uint64_t token, int64_t retry_at_ms,
                             aw_error *err)
{
    pg_session *s = ss;
    aw_pg_params p;
    aw_status rc = item_params(s, k, &p, err);
    if (rc != AW_OK)
        return rc;
    aw_pg_param_i64(&p, (int64_t)token);
    aw_pg_param_i64(&p, retry_at_ms);
    return run_item(s, AW_PG_DUE_RELEASE, &p, "due item lease not held with this token", err);
}

static void extension_held(void *items, size_t i) { ((aw_due_extension *)items)[i].stale = false; }

/* The whole batch is one statement (AW_PG_DUE_EXTEND): its items as four
 * parallel arrays (pool, tenant, id, token). */
aw_status aw_pgs_due_extend(void *ss, aw_due_extension *items, size_t n, int64_t lease_ms,
                            aw_error *err)
{
    pg_session *s = ss;
    aw_buf *pools = &s->arr[0], *tenants = &s->arr[1], *ids = &s->arr[2], *tokens = &s->arr[3];
    if (aw_pg_array_begin(pools, AW_PG_OID_BYTEA, n, false) ||
        aw_pg_array_begin(tenants, AW_PG_OID_BYTEA, n, false) ||
        aw_pg_array_begin(ids, AW_PG_OID_BYTEA, n, false) ||
        aw_pg_array_begin(tokens, AW_PG_OID_INT8, n, false))
        return aw_pgs_nomem(err);
    for (size_t i = 0; i < n; i++) {
        const aw_state_key *k = &items[i].key;
        const char *id = k->id ? k->id : "";
        aw_status rc = pool_name(s, k->ns, k->kind, err);
        if (rc != AW_OK)
            return rc;
        if (aw_pg_array_bytes(pools, s->key.data, s->key.len) ||
            aw_pg_array_bytes(tenants, k->tenant, strlen(k->tenant)) ||
            aw_pg_array_bytes(ids, id, strlen(id)) ||
            aw_pg_array_i64(tokens, (int64_t)items[i].token))
            return aw_pgs_nomem(err);
    }
    aw_pg_params p;
    PGresult *r = NULL;
    aw_pg_params_init(&p);
    aw_pg_param_bytes(&p, pools->data, pools->len);
    aw_pg_param_bytes(&p, tenants->data, tenants->len);
    aw_pg_param_bytes(&p, ids->data, ids->len);
    aw_pg_param_bytes(&p, tokens->data, tokens->len);
    aw_pg_param_ttl(&p, lease_ms);
    aw_status rc = aw_pg_exec(&s->conn, AW_PG_DUE_EXTEND, &p, &r, err);
    return rc == AW_OK ? aw_pgs_rows_held(r, n, extension_held, items, "due_extend", err) : rc;
}

/* One statement (AW_PG_DUE_STATS, pg_sql.c: its plans and cost). */
aw_status aw_pgs_due_stats(void *ss, const char *ns, const char *kind, int64_t now_ms,
                           aw_due_stats *out, aw_error *err)
{
    pg_session *s = ss;
    aw_pg_params p;
    PGresult *r = NULL;
    aw_status rc = pool_params(s, ns, kind, now_ms, &p, err);
    if (rc != AW_OK)
        return rc;
    rc = aw_pg_exec(&s->conn, AW_PG_DUE_STATS, &p, &r, err);
    if (rc != AW_OK)
        return rc;
    if (PQntuples(r) != 1 || PQnfields(r) != 3) {
        PQclear(r);
        return aw_error_set(err, AW_INTERNAL, "postgres due_stats: unexpected result");
    }
    int64_t waiting = aw_pg_get_i64(r, 0, 1);
    out->items = (uint64_t)aw_pg_get_i64(r, 0, 0);
    /* The two counts are one snapshot, so due >= due and leased; clamp
     * anyway rather than wrap. */
    out->waiting = waiting > 0 ? (uint64_t)waiting : 0;
    out->has_oldest = !PQgetisnull(r, 0, 2);
    if (out->has_oldest)
        out->oldest_due_ms = aw_pg_get_i64(r, 0, 2);
    PQclear(r);
    return AW_OK;
}
