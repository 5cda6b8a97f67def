/* What the files of the "postgres" state backend share: the backend and
 * session objects and the key encoding. Not for other modules (tests use
 * pg_state.h). */
#ifndef AW_PG_INTERNAL_H
#define AW_PG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/postgres/pg_conn.h"
#include "backends/state/postgres/pg_sql.h"
#include "backends/state/postgres/pg_reaper.h"
#include "backends/state/state_backend.h"
#include "common/aw_buf.h"

/* Kind under which dedup records are encoded (callers' key.kind is ignored). */
#define AW_PG_DEDUP_KIND "dedup"

/* Shared by every session; immutable after create (read by every thread
 * without a lock). The reaper has its own thread and connection and only
 * reads cfg. */
typedef struct pg_backend {
    aw_pg_config cfg;
    char *prefix;            /* key_prefix, prepended to every stored key */
    size_t prefix_len;
    aw_pg_reaper *reaper;    /* NULL when disabled (reaper_interval_ms < 0) */
} pg_backend;

/* One session = one connection, used by one thread at a time (the
 * interface's rule), so nothing here is locked. The buffers are scratch
 * space reused by every call. */
#define PG_BATCH_ARRAYS 7
typedef struct pg_session {
    pg_backend *b;
    aw_pg_conn conn;
    aw_buf key;                        /* the stored key of a single-key call */
    aw_buf keys;                       /* a batch's stored keys, back to back */
    size_t *key_off;                   /* where item i's key starts in keys */
    size_t *key_len;
    size_t cap;                        /* capacity of the two arrays above */
    aw_buf arr[PG_BATCH_ARRAYS];       /* binary array parameters */
} pg_session;

aw_status aw_pgs_nomem(aw_error *err);

/* The prologue of every single-key statement: build the stored key of k in
 * s->key (dedup: kind replaced by AW_PG_DEDUP_KIND), then start p with it as
 * $1 (p borrows s->key until the next call). AW_PERMANENT when a required
 * part of k is missing; p is untouched on error. */
aw_status aw_pgs_key_params(pg_session *s, const aw_state_key *k, bool dedup, aw_pg_params *p,
                        aw_error *err);
/* What follows $1 (the key) in a statement on one key, in this order. */
typedef struct aw_pgs_args {
    bool dedup;          /* the key is a dedup record's (kind ignored) */
    const int64_t *first; /* when set: CAS's expected version, a delta, a token */
    const void *val;     /* when with_val: the value bytes */
    size_t len;
    bool with_val;
    bool with_ttl;       /* then ttl_ms (aw_pg_param_ttl) */
    int64_t ttl_ms;
} aw_pgs_args;

/* Run statement id on the key of k with a's parameters; *res as
 * aw_pg_exec (the caller clears it). */
aw_status aw_pgs_run_key(pg_session *s, aw_pg_stmt id, const aw_state_key *k,
                         const aw_pgs_args *a, PGresult **res, aw_error *err);

/* Append the stored key of k to out. -1 when out of memory, -2 when a
 * required part is missing. */
int aw_pgs_key_append(const pg_backend *b, aw_buf *out, const aw_state_key *k, bool dedup);

/* Two-phase dedup (pg_dedup.c). */
/* A batch statement (complete, lease_renew, due_extend) answers the ord
 * (1-based) of each item whose token held its lease: held(items, i) marks
 * it so (not stale). Clears r; a row naming no item is AW_INTERNAL. */
aw_status aw_pgs_rows_held(PGresult *r, size_t n, void (*held)(void *items, size_t i),
                           void *items, const char *what, aw_error *err);

aw_status aw_pgs_claim_batch(void *s, aw_claim *items, size_t n, aw_error *err);
aw_status aw_pgs_complete_batch(void *s, aw_complete *items, size_t n, aw_error *err);
aw_status aw_pgs_lease_renew_batch(void *s, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                                   aw_error *err);
aw_status aw_pgs_lease_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err);

/* The due-time index (pg_due.c): the driver slots of state_backend.h. */
aw_status aw_pgs_due_put(void *s, const aw_state_key *k, int64_t due_ms, const void *val,
                         size_t len, aw_error *err);
aw_status aw_pgs_due_take(void *s, const char *ns, const char *kind, int64_t now_ms, size_t limit,
                          int64_t lease_ms, aw_due_item *out, size_t *n, aw_error *err);
aw_status aw_pgs_due_done(void *s, const aw_state_key *k, uint64_t token, aw_error *err);
aw_status aw_pgs_due_extend(void *s, aw_due_extension *items, size_t n, int64_t lease_ms,
                            aw_error *err);
aw_status aw_pgs_due_stats(void *s, const char *ns, const char *kind, int64_t now_ms,
                           aw_due_stats *out, aw_error *err);
aw_status aw_pgs_due_release(void *s, const aw_state_key *k, uint64_t token, int64_t retry_at_ms,
                             aw_error *err);

#endif
