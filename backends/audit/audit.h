/* The audit interface for callers. Same ownership rules as state.h: aw_audit
 * is shared and destroyed after its sessions; a session belongs to the thread
 * that opened it. */
#ifndef AW_AUDIT_H
#define AW_AUDIT_H

#include "backends/audit/audit_backend.h"

typedef struct aw_audit {
    const aw_audit_driver *driver;
    void *backend;
} aw_audit;

typedef struct aw_audit_session {
    const aw_audit_driver *driver;
    void *session;
} aw_audit_session;

const aw_audit_driver *aw_audit_driver_find(const char *name);
const char *aw_audit_driver_names(void);

aw_status aw_audit_new(const char *name, const aw_audit_options *opts, aw_audit **out,
                       aw_error *err);
void aw_audit_destroy(aw_audit *a);

aw_status aw_audit_session_open(aw_audit *a, aw_audit_session **out, aw_error *err);
void aw_audit_session_close(aw_audit_session *s);

static inline aw_status aw_audit_append_batch(aw_audit_session *s, const aw_audit_record *recs,
                                              size_t n, size_t *inserted, aw_error *err)
{
    return s->driver->append_batch(s->session, recs, n, inserted, err);
}
static inline aw_status aw_audit_query_run(aw_audit_session *s, const aw_audit_query *q,
                                           aw_audit_page *out, aw_error *err)
{
    return s->driver->query(s->session, q, out, err);
}
static inline aw_status aw_audit_cleanup(aw_audit_session *s, int64_t now_ms, size_t max_rows,
                                         size_t *deleted, aw_error *err)
{
    return s->driver->cleanup(s->session, now_ms, max_rows, deleted, err);
}

#endif
