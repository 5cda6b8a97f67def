/* Two-phase dedup of the "postgres" state backend (docs/design.md
 * section 1): claim_batch and complete_batch send ONE statement per batch
 * (arrays in through unnest, one row out per item; see AW_PG_CLAIM /
 * AW_PG_COMPLETE in pg_sql.c), and so does lease_renew_batch
 * (AW_PG_LEASE_RENEW; a batch of one uses a plain single-row UPDATE);
 * lease_release is one statement per lease.
 * The front (state_claims.c) hands us each identity once per batch, which
 * a single INSERT ... ON CONFLICT needs: it cannot touch a row twice. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/postgres/pg_internal.h"

/* ---- batches: keys and duplicates --------------------------------------- */

static aw_status batch_reserve(pg_session *s, size_t n, aw_error *err)
{
    if (n <= s->cap)
        return AW_OK;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    size_t *a = realloc(s->key_off, cap * sizeof(*a));
    if (!a)
        return aw_pgs_nomem(err);
    s->key_off = a;
    if (!(a = realloc(s->key_len, cap * sizeof(*a))))
        return aw_pgs_nomem(err);
    s->key_len = a;
    s->cap = cap;
    return AW_OK;
}

/* Encode the dedup key of every item into s->keys. */
static aw_status batch_keys(pg_session *s, const aw_state_key *(*key_of)(const void *, size_t),
                            const void *items, size_t n, aw_error *err)
{
    aw_status rc = batch_reserve(s, n, err);
    if (rc != AW_OK)
        return rc;
    aw_buf_reset(&s->keys);
    for (size_t i = 0; i < n; i++) {
        s->key_off[i] = s->keys.len;
        int krc = aw_pgs_key_append(s->b, &s->keys, key_of(items, i), true);
        if (krc == -2)
            return aw_error_set(err, AW_PERMANENT,
                                "state key: namespace, tenant and kind are required");
        if (krc)
            return aw_pgs_nomem(err);
        s->key_len[i] = s->keys.len - s->key_off[i];
    }
    return AW_OK;
}

/* The items' keys as a bytea[] in arr. */
static int array_keys(pg_session *s, aw_buf *arr, size_t n)
{
    if (aw_pg_array_begin(arr, AW_PG_OID_BYTEA, n, false))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (aw_pg_array_bytes(arr, s->keys.data + s->key_off[i], s->key_len[i]))
            return -1;
    return 0;
}

/* The item a result row is about (its 1-based ord column); *ok false when
 * the row names none. */
static size_t row_item(const PGresult *r, int row, size_t n, bool *ok)
{
    int64_t ord = aw_pg_get_i64(r, row, 0);
    *ok = ord >= 1 && (uint64_t)ord <= n;
    return *ok ? (size_t)(ord - 1) : 0;
}

/* ---- claim ---------------------------------------------------------------- */

static const aw_state_key *claim_key(const void *items, size_t i)
{
    return &((const aw_claim *)items)[i].key;
}

/* Fill item c from result row i. */
static aw_status claim_from_row(aw_claim *c, const PGresult *r, int i, aw_error *err)
{
    const char *code = PQgetvalue(r, i, 1);
    uint64_t token = (uint64_t)aw_pg_get_i64(r, i, 2);
    switch (PQgetlength(r, i, 1) == 1 ? code[0] : '?') {
    case 'A':
        c->result = AW_CLAIM_ACQUIRED;
        c->token = token;
        return AW_OK;
    case 'B':
        c->result = AW_CLAIM_BUSY;
        c->token = token;
        c->retry_after_ms = aw_pg_get_i64(r, i, 3);
        if (c->retry_after_ms < 1)
            c->retry_after_ms = 1;
        return AW_OK;
    case 'D':
        c->result = AW_CLAIM_DONE;
        c->done_token = token;
        c->done_summary = aw_memdup(PQgetvalue(r, i, 4), (size_t)PQgetlength(r, i, 4));
        c->done_topic = aw_memdup(PQgetvalue(r, i, 5), (size_t)PQgetlength(r, i, 5));
        c->done_partition = aw_pg_get_i32(r, i, 6);
        c->done_offset = aw_pg_get_i64(r, i, 7);
        return c->done_summary && c->done_topic ? AW_OK : aw_pgs_nomem(err);
    default:
        return aw_error_set(err, AW_INTERNAL, "claim: unexpected result code from the server");
    }
}


aw_status aw_pgs_claim_batch(void *ss, aw_claim *items, size_t n, aw_error *err)
{
    pg_session *s = ss;
    aw_status rc = batch_keys(s, claim_key, items, n, err);
    if (rc != AW_OK)
        return rc;
    aw_buf *keys = &s->arr[0], *leases = &s->arr[1];
    int arc = array_keys(s, keys, n) || aw_pg_array_begin(leases, AW_PG_OID_INT8, n, false);
    for (size_t i = 0; i < n && !arc; i++) {
        int64_t ms = items[i].lease_ms;
        arc = aw_pg_array_i64(leases, ms > AW_PG_MAX_TTL_MS ? AW_PG_MAX_TTL_MS : ms);
    }
    if (arc)
        return aw_pgs_nomem(err);

    aw_pg_params p;
    PGresult *r = NULL;
    aw_pg_params_init(&p);
    aw_pg_param_bytes(&p, keys->data, keys->len);
    aw_pg_param_bytes(&p, leases->data, leases->len);
    rc = aw_pg_exec(&s->conn, AW_PG_CLAIM, &p, &r, err); /* the batch's one statement */
    if (rc != AW_OK)
        return rc;
    int rows = PQntuples(r);
    if ((size_t)rows != n)
        rc = aw_error_set(err, AW_INTERNAL, "claim: %d rows for %zu identities", rows, n);
    for (int i = 0; i < rows && rc == AW_OK; i++) {
        bool ok;
        size_t item = row_item(r, i, n, &ok);
        rc = ok ? claim_from_row(&items[item], r, i, err)
                : aw_error_set(err, AW_INTERNAL, "claim: bad row number from the server");
    }
    PQclear(r);
    return rc;
}

/* ---- complete -------------------------------------------------------------- */

aw_status aw_pgs_rows_held(PGresult *r, size_t n, void (*held)(void *items, size_t i),
                           void *items, const char *what, aw_error *err)
{
    aw_status rc = AW_OK;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && rc == AW_OK; i++) {
        bool ok;
        size_t item = row_item(r, i, n, &ok);
        if (ok)
            held(items, item);
        else
            rc = aw_error_set(err, AW_INTERNAL, "%s: bad row number from the server", what);
    }
    PQclear(r);
    return rc;
}

static void complete_held(void *items, size_t i) { ((aw_complete *)items)[i].stale = false; }

static void renewal_held(void *items, size_t i) { ((aw_lease_renewal *)items)[i].stale = false; }


static const aw_state_key *complete_key(const void *items, size_t i)
{
    return &((const aw_complete *)items)[i].key;
}

/* Fill arr[0..7) with the items' columns. -1 when out of memory. */
static int complete_arrays(pg_session *s, const aw_complete *items, size_t n)
{
    aw_buf *a = s->arr;
    if (array_keys(s, &a[0], n) || aw_pg_array_begin(&a[1], AW_PG_OID_INT8, n, false) ||
        aw_pg_array_begin(&a[2], AW_PG_OID_BYTEA, n, false) ||
        aw_pg_array_begin(&a[3], AW_PG_OID_INT4, n, false) ||
        aw_pg_array_begin(&a[4], AW_PG_OID_INT8, n, false) ||
        aw_pg_array_begin(&a[5], AW_PG_OID_BYTEA, n, false) ||
        aw_pg_array_begin(&a[6], AW_PG_OID_INT8, n, true))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const aw_complete *c = &items[i];
        const char *topic = c->source.topic ? c->source.topic : "";
        const char *sum = c->summary ? c->summary : "";
        int64_t w = c->window_ms > AW_PG_MAX_TTL_MS ? AW_PG_MAX_TTL_MS : c->window_ms;
        if (aw_pg_array_i64(&a[1], (int64_t)c->token) ||
            aw_pg_array_bytes(&a[2], topic, strlen(topic)) ||
            aw_pg_array_i32(&a[3], c->source.partition) ||
            aw_pg_array_i64(&a[4], c->source.offset) ||
            aw_pg_array_bytes(&a[5], sum, strlen(sum)) ||
            (w > 0 ? aw_pg_array_i64(&a[6], w) : aw_pg_array_null(&a[6])))
            return -1;
    }
    return 0;
}

aw_status aw_pgs_complete_batch(void *ss, aw_complete *items, size_t n, aw_error *err)
{
    pg_session *s = ss;
    aw_status rc = batch_keys(s, complete_key, items, n, err);
    if (rc != AW_OK)
        return rc;
    if (complete_arrays(s, items, n))
        return aw_pgs_nomem(err);

    aw_pg_params p;
    PGresult *r = NULL;
    aw_pg_params_init(&p);
    for (size_t i = 0; i < PG_BATCH_ARRAYS; i++)
        aw_pg_param_bytes(&p, s->arr[i].data, s->arr[i].len);
    rc = aw_pg_exec(&s->conn, AW_PG_COMPLETE, &p, &r, err); /* the batch's one statement */
    return rc == AW_OK ? aw_pgs_rows_held(r, n, complete_held, items, "complete", err) : rc;
}

/* ---- lease renew / release ------------------------------------------------ */

static const aw_state_key *renew_key(const void *items, size_t i)
{
    return &((const aw_lease_renewal *)items)[i].key;
}

/* One item: the single-row statement (AW_PG_LEASE_RENEW_ONE). */
static aw_status renew_one(pg_session *s, aw_lease_renewal *item, int64_t lease_ms,
                           aw_error *err)
{
    PGresult *r = NULL;
    int64_t tok = (int64_t)item->token;
    aw_pgs_args a = {.dedup = true, .first = &tok, .with_ttl = true, .ttl_ms = lease_ms};
    aw_status rc = aw_pgs_run_key(s, AW_PG_LEASE_RENEW_ONE, &item->key, &a, &r, err);
    if (rc != AW_OK)
        return rc;
    item->stale = PQntuples(r) != 1;
    PQclear(r);
    return AW_OK;
}

aw_status aw_pgs_lease_renew_batch(void *ss, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                                   aw_error *err)
{
    pg_session *s = ss;
    if (n == 1)
        return renew_one(s, items, lease_ms, err);
    aw_status rc = batch_keys(s, renew_key, items, n, err);
    if (rc != AW_OK)
        return rc;
    aw_buf *keys = &s->arr[0], *tokens = &s->arr[1];
    int arc = array_keys(s, keys, n) || aw_pg_array_begin(tokens, AW_PG_OID_INT8, n, false);
    for (size_t i = 0; i < n && !arc; i++)
        arc = aw_pg_array_i64(tokens, (int64_t)items[i].token);
    if (arc)
        return aw_pgs_nomem(err);

    aw_pg_params p;
    PGresult *r = NULL;
    aw_pg_params_init(&p);
    aw_pg_param_bytes(&p, keys->data, keys->len);
    aw_pg_param_bytes(&p, tokens->data, tokens->len);
    aw_pg_param_ttl(&p, lease_ms);
    rc = aw_pg_exec(&s->conn, AW_PG_LEASE_RENEW, &p, &r, err); /* the batch's one statement */
    return rc == AW_OK ? aw_pgs_rows_held(r, n, renewal_held, items, "lease_renew", err) : rc;
}

/* One row back iff token held the live lease (not a done record). */
aw_status aw_pgs_lease_release(void *ss, const aw_state_key *k, uint64_t token, aw_error *err)
{
    PGresult *r = NULL;
    int64_t tok = (int64_t)token;
    aw_pgs_args a = {.dedup = true, .first = &tok};
    aw_status rc = aw_pgs_run_key(ss, AW_PG_LEASE_RELEASE, k, &a, &r, err);
    if (rc != AW_OK)
        return rc;
    bool held = PQntuples(r) == 1;
    PQclear(r);
    return held ? AW_OK : aw_error_set(err, AW_CONFLICT, "lease not held with this token");
}
