/* What the files of the "postgres" audit backend share: the backend and
 * session objects and the statement table. Not for other modules (tests use
 * pg_audit.h).
 *
 * Files: pg_audit.c (driver: create, sessions, cleanup, migrate),
 * pg_audit_write.c (append_batch), pg_audit_query.c (query). The
 * connection, parameters and migrations are the state backend's, shared in
 * backends/postgres/. Schema: migrations/postgres/0002_audit.sql
 * (and 0003, 0005, 0006, 0008, 0009). */
#ifndef AW_PG_AUDIT_INTERNAL_H
#define AW_PG_AUDIT_INTERNAL_H

#include <stddef.h>

#include "backends/audit/audit_backend.h"
#include "backends/postgres/pg_conn.h"
#include "common/aw_buf.h"

/* The prepared statements of an audit connection (slots of aw_pg_exec_stmt).
 * Queries are not among them: their WHERE clause depends on which filters
 * are set, so each is one unnamed statement (parse + bind + execute in one
 * round trip, planned for its actual values). */
typedef enum pga_stmt {
    PGA_INSERT = 0, /* append_batch: the whole batch in one statement */
    PGA_CLEANUP,    /* cleanup: one bounded delete */
    PGA_STMT_COUNT,
} pga_stmt;

const aw_pg_stmt_def *aw_pga_stmt_get(pga_stmt id);

/* The columns of aw_audit_records, in the order of the insert's array
 * parameters and of the query's result columns. */
#define PGA_COLUMN_LIST                                                                        \
    "record_id, action_id, ns, tenant, provider, action_type, dedup_identity, outcome, "      \
    "details, payload, metadata, source_topic, source_partition, source_offset, worker_id, "  \
    "fencing_token, attempts, dispatched_at_ms, completed_at_ms, duration_ms, expires_at_ms, " \
    "rule, fingerprint, group_id, chain_id"
#define PGA_COLUMNS 25
enum {
    PGA_C_RECORD_ID, PGA_C_ACTION_ID, PGA_C_NS, PGA_C_TENANT, PGA_C_PROVIDER,
    PGA_C_ACTION_TYPE, PGA_C_DEDUP_IDENTITY, PGA_C_OUTCOME, PGA_C_DETAILS, PGA_C_PAYLOAD,
    PGA_C_METADATA, PGA_C_SOURCE_TOPIC, PGA_C_SOURCE_PARTITION, PGA_C_SOURCE_OFFSET,
    PGA_C_WORKER_ID, PGA_C_FENCING_TOKEN, PGA_C_ATTEMPTS, PGA_C_DISPATCHED_AT,
    PGA_C_COMPLETED_AT, PGA_C_DURATION, PGA_C_EXPIRES_AT, PGA_C_RULE,
    PGA_C_FINGERPRINT, PGA_C_GROUP_ID, PGA_C_CHAIN_ID,
};

/* Shared by every session; immutable after create (read by every thread
 * without a lock). */
typedef struct pga_backend {
    aw_pg_config cfg;
} pga_backend;

/* One session = one connection, used by one thread at a time (the
 * interface's rule), so nothing here is locked. The buffers are scratch
 * space reused by every call. */
typedef struct pga_session {
    pga_backend *b;
    aw_pg_conn conn;
    aw_buf arr[PGA_COLUMNS]; /* binary array parameters of one batch */
    aw_buf sql;              /* the text of one query */
} pga_session;

aw_status aw_pga_nomem(aw_error *err);

aw_status aw_pga_append_batch(void *session, const aw_audit_record *recs, size_t n,
                           size_t *inserted, aw_error *err);
aw_status aw_pga_query(void *session, const aw_audit_query *q, aw_audit_page *out, aw_error *err);

#endif
