/* append_batch of the "postgres" audit backend: the whole batch in ONE
 * statement, one round trip:
 *
 *     INSERT INTO aw_audit_records (...)
 *     SELECT ... FROM unnest($1::text[], ..., $25::text[])
 *     ON CONFLICT (record_id) DO NOTHING
 *
 * with one binary array parameter per column (aw_pga_stmt_get(PGA_INSERT)).
 * Of the forms that are about as fast (index maintenance dominates; figures
 * in docs/backends/postgres-audit.md), unnest is the one that needs a
 * single prepared statement for every batch size (multi-row VALUES needs
 * one per size, or a parse per call) and a single round trip (COPY into a
 * temporary table needs two or three).
 *
 * Idempotent: a record_id already stored is skipped, and so is the second
 * occurrence of an id inside the batch (the first one wins, as in the memory
 * backend). *inserted is the server's row count of the INSERT.
 *
 * Durable: the statement is its own transaction (autocommit), so AW_OK means
 * the server committed it (with the server's synchronous_commit, by default
 * on: flushed to its WAL).
 *
 * Deadlock-free: concurrent batches that share record ids wait on each
 * other's uncommitted rows; were they to insert those ids in different
 * orders, two could wait on each other (40P01). The rows are therefore sent
 * in record_id byte order (the index's order), so every batch takes the ids
 * in the same order; equal ids keep their batch order. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/postgres/pg_audit_internal.h"

/* A record the table cannot hold is a caller bug: refuse the batch before
 * sending anything, naming the record and the field. */
static aw_status check_record(const aw_audit_record *r, size_t i, aw_error *err)
{
    const struct {
        const char *name;
        const char *value;
    } required[] = {
        {"action_id", r->action_id},   {"namespace", r->ns},
        {"tenant", r->tenant},         {"provider", r->provider},
        {"action_type", r->action_type}, {"dedup_identity", r->dedup_identity},
        {"details", r->details},       {"source_topic", r->source_topic},
        {"worker_id", r->worker_id},
    };
    if (!r->record_id || !r->record_id[0])
        return aw_error_set(err, AW_PERMANENT, "audit postgres: record %zu has no record_id", i);
    for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
        if (!required[k].value)
            return aw_error_set(err, AW_PERMANENT, "audit postgres: record %zu (%s) has no %s", i,
                                r->record_id, required[k].name);
    if ((int)r->outcome < 0 || r->outcome >= AW_OUTCOME_COUNT)
        return aw_error_set(err, AW_PERMANENT, "audit postgres: record %zu (%s): unknown outcome %d",
                            i, r->record_id, (int)r->outcome);
    return AW_OK;
}

/* A batch position and its record_id: qsort has no context argument, so
 * each item carries what the comparison needs (no file-level state: many
 * sessions sort at once). */
typedef struct order_item {
    const char *id;
    size_t pos;
} order_item;

static int order_cmp(const void *a, const void *b)
{
    const order_item *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The batch positions in (record_id bytes, position) order: malloc'd, NULL
 * when out of memory. */
static order_item *sort_batch(const aw_audit_record *recs, size_t n)
{
    order_item *items = malloc(n * sizeof(*items));
    if (!items)
        return NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = (order_item){recs[i].record_id, i};
    qsort(items, n, sizeof(*items), order_cmp);
    return items;
}

static int put_text(aw_buf *b, const char *v)
{
    return v ? aw_pg_array_bytes(b, v, strlen(v)) : aw_pg_array_null(b);
}

/* Fill the 25 array parameters from the batch, in `order`. 0 or -1 (OOM). */
static int build_arrays(pga_session *s, const aw_audit_record *recs, const order_item *order,
                        size_t n)
{
    static const uint32_t oid[PGA_COLUMNS] = {
        [PGA_C_RECORD_ID] = AW_PG_OID_TEXT,      [PGA_C_ACTION_ID] = AW_PG_OID_TEXT,
        [PGA_C_NS] = AW_PG_OID_TEXT,             [PGA_C_TENANT] = AW_PG_OID_TEXT,
        [PGA_C_PROVIDER] = AW_PG_OID_TEXT,       [PGA_C_ACTION_TYPE] = AW_PG_OID_TEXT,
        [PGA_C_DEDUP_IDENTITY] = AW_PG_OID_TEXT, [PGA_C_OUTCOME] = AW_PG_OID_TEXT,
        [PGA_C_DETAILS] = AW_PG_OID_TEXT,        [PGA_C_PAYLOAD] = AW_PG_OID_TEXT,
        [PGA_C_METADATA] = AW_PG_OID_TEXT,       [PGA_C_SOURCE_TOPIC] = AW_PG_OID_TEXT,
        [PGA_C_SOURCE_PARTITION] = AW_PG_OID_INT4, [PGA_C_SOURCE_OFFSET] = AW_PG_OID_INT8,
        [PGA_C_WORKER_ID] = AW_PG_OID_TEXT,      [PGA_C_FENCING_TOKEN] = AW_PG_OID_INT8,
        [PGA_C_ATTEMPTS] = AW_PG_OID_INT8,       [PGA_C_DISPATCHED_AT] = AW_PG_OID_INT8,
        [PGA_C_COMPLETED_AT] = AW_PG_OID_INT8,   [PGA_C_DURATION] = AW_PG_OID_INT8,
        [PGA_C_EXPIRES_AT] = AW_PG_OID_INT8,     [PGA_C_RULE] = AW_PG_OID_TEXT,
        [PGA_C_FINGERPRINT] = AW_PG_OID_TEXT,    [PGA_C_GROUP_ID] = AW_PG_OID_TEXT,
        [PGA_C_CHAIN_ID] = AW_PG_OID_TEXT,
    };
    aw_buf *a = s->arr;
    for (int c = 0; c < PGA_COLUMNS; c++)
        if (aw_pg_array_begin(&a[c], oid[c], n, c >= PGA_C_RULE || c == PGA_C_PAYLOAD ||
                                                c == PGA_C_METADATA))
            return -1;
    for (size_t k = 0; k < n; k++) {
        const aw_audit_record *r = &recs[order[k].pos];
        if (put_text(&a[PGA_C_RECORD_ID], r->record_id) || put_text(&a[PGA_C_ACTION_ID], r->action_id) ||
            put_text(&a[PGA_C_NS], r->ns) || put_text(&a[PGA_C_TENANT], r->tenant) ||
            put_text(&a[PGA_C_PROVIDER], r->provider) ||
            put_text(&a[PGA_C_ACTION_TYPE], r->action_type) ||
            put_text(&a[PGA_C_DEDUP_IDENTITY], r->dedup_identity) ||
            put_text(&a[PGA_C_OUTCOME], aw_outcome_name(r->outcome)) ||
            put_text(&a[PGA_C_DETAILS], r->details) || put_text(&a[PGA_C_PAYLOAD], r->payload) ||
            put_text(&a[PGA_C_METADATA], r->metadata) ||
            put_text(&a[PGA_C_SOURCE_TOPIC], r->source_topic) ||
            aw_pg_array_i32(&a[PGA_C_SOURCE_PARTITION], r->source_partition) ||
            aw_pg_array_i64(&a[PGA_C_SOURCE_OFFSET], r->source_offset) ||
            put_text(&a[PGA_C_WORKER_ID], r->worker_id) ||
            /* bigint holds the bit pattern; tokens stay <= INT64_MAX in
             * practice (a sequence), and larger ones come back unchanged */
            aw_pg_array_i64(&a[PGA_C_FENCING_TOKEN], (int64_t)r->fencing_token) ||
            aw_pg_array_i64(&a[PGA_C_ATTEMPTS], r->attempts) ||
            aw_pg_array_i64(&a[PGA_C_DISPATCHED_AT], r->dispatched_at_ms) ||
            aw_pg_array_i64(&a[PGA_C_COMPLETED_AT], r->completed_at_ms) ||
            aw_pg_array_i64(&a[PGA_C_DURATION], r->duration_ms) ||
            aw_pg_array_i64(&a[PGA_C_EXPIRES_AT], r->expires_at_ms) ||
            put_text(&a[PGA_C_RULE], r->rule) ||
            put_text(&a[PGA_C_FINGERPRINT], r->fingerprint) ||
            put_text(&a[PGA_C_GROUP_ID], r->group_id) || put_text(&a[PGA_C_CHAIN_ID], r->chain_id))
            return -1;
    }
    return 0;
}

aw_status aw_pga_append_batch(void *session, const aw_audit_record *recs, size_t n,
                           size_t *inserted, aw_error *err)
{
    pga_session *s = session;
    *inserted = 0;
    if (n == 0)
        return AW_OK;
    aw_status rc = AW_OK;
    for (size_t i = 0; i < n && rc == AW_OK; i++)
        rc = check_record(&recs[i], i, err);
    if (rc != AW_OK)
        return rc;
    order_item *order = sort_batch(recs, n);
    int brc = order ? build_arrays(s, recs, order, n) : -1;
    free(order);
    if (brc)
        return aw_pga_nomem(err);

    aw_pg_params p;
    PGresult *r = NULL;
    aw_pg_params_init(&p);
    for (int c = 0; c < PGA_COLUMNS; c++)
        aw_pg_param_bytes(&p, s->arr[c].data, s->arr[c].len);
    rc = aw_pg_exec_stmt(&s->conn, PGA_INSERT, aw_pga_stmt_get(PGA_INSERT), &p, &r, err);
    if (rc != AW_OK)
        return rc;
    char *end = NULL;
    unsigned long long count = strtoull(PQcmdTuples(r), &end, 10);
    bool ok = end && *end == '\0' && end != PQcmdTuples(r) && count <= n;
    PQclear(r);
    if (!ok)
        return aw_error_set(err, AW_INTERNAL, "audit postgres: unexpected INSERT row count");
    *inserted = (size_t)count;
    return AW_OK;
}
