/* The audit backend interface, for implementers (callers use audit.h).
 *
 * Same shape as the state interface: one `static const aw_audit_driver` per
 * backend; the backend object is shared and thread-safe; a session belongs to
 * one thread at a time. All slots are required.
 *
 * Semantics (checked by tests/conformance for every backend):
 *  - append_batch is idempotent on record_id: a record already stored is not
 *    stored again (*inserted counts the new ones). AW_OK means every record of
 *    the batch is durable.
 *  - query returns newest first by (completed_at_ms, record_id), a keyset
 *    cursor that neither skips nor repeats rows when timestamps tie, and
 *    clamps the limit with aw_audit_clamp_limit().
 *  - cleanup deletes records with expires_at_ms <= now_ms, at most max_rows
 *    per call (bounded work), and reports how many it removed. */
#ifndef AW_AUDIT_BACKEND_H
#define AW_AUDIT_BACKEND_H

#include "backends/audit/audit_types.h"

typedef struct aw_audit_driver {
    const char *name;

    aw_status (*create)(const aw_audit_options *opts, void **backend, aw_error *err);
    void (*destroy)(void *backend);
    aw_status (*session_open)(void *backend, void **session, aw_error *err);
    void (*session_close)(void *session);

    aw_status (*append_batch)(void *s, const aw_audit_record *recs, size_t n, size_t *inserted,
                              aw_error *err);
    aw_status (*query)(void *s, const aw_audit_query *q, aw_audit_page *out, aw_error *err);
    aw_status (*cleanup)(void *s, int64_t now_ms, size_t max_rows, size_t *deleted,
                         aw_error *err);

    /* Optional (NULL: no schema to manage). Create or update the backend's
     * schema (tables, indexes, templates), idempotent and safe to run
     * concurrently; *applied = number of steps applied (0 = up to date).
     * Called by `acteon-worker migrate -c FILE` only: create() never
     * migrates, it fails naming that command when the schema is missing. */
    aw_status (*migrate)(const aw_audit_options *opts, int *applied, aw_error *err);
} aw_audit_driver;

extern const aw_audit_driver aw_audit_memory_driver;
extern const aw_audit_driver aw_audit_postgres_driver; /* AW_WITH_STATE_POSTGRES */
extern const aw_audit_driver aw_audit_elasticsearch_driver; /* elasticsearch/es_audit.h */

#endif
