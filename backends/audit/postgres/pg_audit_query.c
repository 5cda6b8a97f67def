/* query of the "postgres" audit backend: one unnamed statement, one round
 * trip, newest first by (completed_at_ms, record_id), keyset pagination.
 *
 * The SQL text depends only on WHICH filters are set, never on their
 * values: each set filter adds a fixed fragment "AND column = $n" and its
 * value travels as parameter $n (so "%", quotes or "*" in a filter match
 * exactly those bytes). Unset filters add nothing, so the planner sees a
 * plain equality and picks that filter's (column, completed_at_ms DESC,
 * record_id DESC) index; the statement is planned with its actual values
 * (unnamed), which a single prepared statement with "$n IS NULL OR ..."
 * arms would defeat.
 *
 * Pages: the cursor (aw_audit_cursor_encode) holds the last row's key;
 * the next page is the rows strictly after it, (completed_at_ms, record_id)
 * < (cursor), a row comparison the index range scan serves directly. One row
 * more than the limit is fetched: if it comes, there is a next page and the
 * cursor is the key of the page's last row. record_id compares in byte order
 * (the column is COLLATE "C"), like every backend. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/postgres/pg_audit_internal.h"

/* Longest record id a cursor may carry: topic (<= 249) + two integers, with
 * room to spare (as the memory backend). */
#define PGA_CURSOR_ID_MAX 512

/* Append " AND <column> = $<next>" and the value. -1 when out of memory. */
static int add_eq(aw_buf *sql, aw_pg_params *p, const char *column, const char *value)
{
    if (!value)
        return 0;
    aw_pg_param_text(p, value);
    return aw_buf_printf(sql, " AND %s = $%d", column, p->n);
}

/* The statement text and parameters of q into s->sql and p. p's numbers
 * live in p itself: keep it where it is until the statement ran. */
static aw_status build_query(pga_session *s, const aw_audit_query *q, size_t limit,
                             aw_pg_params *p, char *cursor_id, aw_error *err)
{
    aw_buf *sql = &s->sql;
    aw_buf_reset(sql);
    aw_pg_params_init(p);
    int rc = aw_buf_puts(sql, "SELECT " PGA_COLUMN_LIST " FROM aw_audit_records WHERE true");
    rc = rc || add_eq(sql, p, "ns", q->ns) || add_eq(sql, p, "tenant", q->tenant) ||
         add_eq(sql, p, "provider", q->provider) ||
         add_eq(sql, p, "action_type", q->action_type) ||
         add_eq(sql, p, "action_id", q->action_id) || add_eq(sql, p, "rule", q->rule) ||
         add_eq(sql, p, "fingerprint", q->fingerprint) ||
         add_eq(sql, p, "group_id", q->group_id) || add_eq(sql, p, "chain_id", q->chain_id) ||
         add_eq(sql, p, "outcome", q->outcome >= 0 ? aw_outcome_name(q->outcome) : NULL);
    if (!rc && q->from_ms != 0) {
        aw_pg_param_i64(p, q->from_ms);
        rc = aw_buf_printf(sql, " AND completed_at_ms >= $%d::bigint", p->n);
    }
    if (!rc && q->to_ms != 0) {
        aw_pg_param_i64(p, q->to_ms);
        rc = aw_buf_printf(sql, " AND completed_at_ms < $%d::bigint", p->n);
    }
    if (!rc && q->cursor) {
        int64_t ms;
        if (aw_audit_cursor_decode(q->cursor, &ms, cursor_id, PGA_CURSOR_ID_MAX) != 0)
            return aw_error_set(err, AW_PERMANENT, "audit query: malformed cursor");
        aw_pg_param_i64(p, ms);
        aw_pg_param_text(p, cursor_id);
        rc = aw_buf_printf(sql, " AND (completed_at_ms, record_id) < ($%d::bigint, $%d::text)",
                           p->n - 1, p->n);
    }
    if (!rc) {
        aw_pg_param_i64(p, (int64_t)limit + 1);
        rc = aw_buf_printf(sql, " ORDER BY completed_at_ms DESC, record_id DESC LIMIT $%d::bigint",
                           p->n);
    }
    return rc ? aw_pga_nomem(err) : AW_OK;
}

/* ---- result rows ----------------------------------------------------------- */

/* A text column as a new string; NULL for SQL NULL. *oom set on failure. */
static char *col_str(const PGresult *r, int row, int col, bool *oom)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    char *v = strdup(PQgetvalue(r, row, col));
    if (!v)
        *oom = true;
    return v;
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Row `row` of r into *out (zeroed first; cleared again on failure). */
static aw_status parse_row(const PGresult *r, int row, aw_audit_record *out, aw_error *err)
{
    bool oom = false;
    memset(out, 0, sizeof(*out));
    out->record_id = col_str(r, row, PGA_C_RECORD_ID, &oom);
    out->action_id = col_str(r, row, PGA_C_ACTION_ID, &oom);
    out->ns = col_str(r, row, PGA_C_NS, &oom);
    out->tenant = col_str(r, row, PGA_C_TENANT, &oom);
    out->provider = col_str(r, row, PGA_C_PROVIDER, &oom);
    out->action_type = col_str(r, row, PGA_C_ACTION_TYPE, &oom);
    out->dedup_identity = col_str(r, row, PGA_C_DEDUP_IDENTITY, &oom);
    out->details = col_str(r, row, PGA_C_DETAILS, &oom);
    out->payload = col_str(r, row, PGA_C_PAYLOAD, &oom);
    out->metadata = col_str(r, row, PGA_C_METADATA, &oom);
    out->source_topic = col_str(r, row, PGA_C_SOURCE_TOPIC, &oom);
    out->worker_id = col_str(r, row, PGA_C_WORKER_ID, &oom);
    out->rule = col_str(r, row, PGA_C_RULE, &oom);
    out->fingerprint = col_str(r, row, PGA_C_FINGERPRINT, &oom);
    out->group_id = col_str(r, row, PGA_C_GROUP_ID, &oom);
    out->chain_id = col_str(r, row, PGA_C_CHAIN_ID, &oom);
    out->source_partition = (int32_t)col_i64(r, row, PGA_C_SOURCE_PARTITION);
    out->source_offset = col_i64(r, row, PGA_C_SOURCE_OFFSET);
    out->fencing_token = (uint64_t)col_i64(r, row, PGA_C_FENCING_TOKEN);
    out->attempts = col_i64(r, row, PGA_C_ATTEMPTS);
    out->dispatched_at_ms = col_i64(r, row, PGA_C_DISPATCHED_AT);
    out->completed_at_ms = col_i64(r, row, PGA_C_COMPLETED_AT);
    out->duration_ms = col_i64(r, row, PGA_C_DURATION);
    out->expires_at_ms = col_i64(r, row, PGA_C_EXPIRES_AT);
    aw_status rc = AW_OK;
    if (oom)
        rc = aw_pga_nomem(err);
    else if (!aw_outcome_parse(PQgetvalue(r, row, PGA_C_OUTCOME), &out->outcome))
        rc = aw_error_set(err, AW_PERMANENT, "audit postgres: record %s has unknown outcome \"%s\"",
                          out->record_id ? out->record_id : "?",
                          PQgetvalue(r, row, PGA_C_OUTCOME));
    if (rc != AW_OK)
        aw_audit_record_clear(out);
    return rc;
}

/* The first min(rows, limit) rows into out; the next cursor when a row more
 * came back. */
static aw_status fill_page(const PGresult *r, size_t limit, aw_audit_page *out, aw_error *err)
{
    if (PQnfields(r) != PGA_COLUMNS)
        return aw_error_set(err, AW_INTERNAL, "audit postgres: query returned %d columns",
                            PQnfields(r));
    size_t rows = (size_t)PQntuples(r);
    size_t take = rows > limit ? limit : rows;
    if (take == 0)
        return AW_OK;
    if (!(out->records = calloc(take, sizeof(*out->records))))
        return aw_pga_nomem(err);
    for (size_t i = 0; i < take; i++) {
        aw_status rc = parse_row(r, (int)i, &out->records[i], err);
        if (rc != AW_OK)
            return rc;
        out->count++;
    }
    if (rows > limit) {
        const aw_audit_record *last = &out->records[take - 1];
        if (!(out->next_cursor = aw_audit_cursor_encode(last->completed_at_ms, last->record_id)))
            return aw_pga_nomem(err);
    }
    return AW_OK;
}

aw_status aw_pga_query(void *session, const aw_audit_query *q, aw_audit_page *out, aw_error *err)
{
    pga_session *s = session;
    memset(out, 0, sizeof(*out));
    if (q->outcome < -1 || q->outcome >= AW_OUTCOME_COUNT)
        return aw_error_set(err, AW_PERMANENT, "audit query: unknown outcome %d", q->outcome);
    size_t limit = aw_audit_clamp_limit(q->limit);
    char cursor_id[PGA_CURSOR_ID_MAX];
    aw_pg_params p;
    PGresult *r = NULL;
    aw_status rc = build_query(s, q, limit, &p, cursor_id, err);
    if (rc == AW_OK)
        rc = aw_pg_conn_ensure(&s->conn, err);
    if (rc == AW_OK)
        rc = aw_pg_exec_params(&s->conn, s->sql.data, &p, "audit query", &r, err);
    if (rc == AW_OK)
        rc = fill_page(r, limit, out, err);
    PQclear(r);
    if (rc != AW_OK)
        aw_audit_page_clear(out);
    return rc;
}
