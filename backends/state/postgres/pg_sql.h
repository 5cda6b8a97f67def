/* The SQL of the "postgres" state backend: every statement it runs, each
 * prepared once per connection and executed with binary parameters and
 * results (no value is ever formatted into SQL text; the parameter and
 * array encoders are in backends/postgres/pg_params.h).
 *
 * Schema: migrations/postgres/ (embedded at build time, pg_migrate.h).
 * Clock: every expiry is computed and judged by the server's now() (the
 * start of the statement's transaction; each statement here is its own
 * transaction), never by a worker's clock. A TTL travels as a bigint
 * number of milliseconds, NULL for "no expiry":
 *     expires_at = now() + ttl_ms * interval '1 millisecond'   (NULL stays NULL)
 * and a row is live iff expires_at IS NULL OR expires_at > now(). */
#ifndef AW_PG_SQL_H
#define AW_PG_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/postgres/pg_conn.h"
#include "backends/postgres/pg_params.h"

typedef enum aw_pg_stmt {
    AW_PG_INSERT = 0,   /* check_and_set */
    AW_PG_GET,
    AW_PG_SET,
    AW_PG_DELETE,
    AW_PG_INCREMENT,
    AW_PG_CAS,
    AW_PG_SCAN,
    AW_PG_LOCK_ACQUIRE,
    AW_PG_LOCK_EXTEND,
    AW_PG_LOCK_RELEASE,
    AW_PG_CLAIM,        /* claim_batch: one statement per batch */
    AW_PG_COMPLETE,     /* complete_batch: one statement per batch */
    AW_PG_LEASE_RENEW,  /* lease_renew_batch: one statement per batch */
    AW_PG_LEASE_RENEW_ONE, /* lease_renew_batch of one item */
    AW_PG_LEASE_RELEASE,
    AW_PG_DUE_PUT,      /* the due index (pg_due.c) */
    AW_PG_DUE_TAKE,
    AW_PG_DUE_DONE,
    AW_PG_DUE_RELEASE,
    AW_PG_DUE_EXTEND,   /* due_extend: one statement per batch */
    AW_PG_DUE_STATS,
    AW_PG_REAP_VALUES,
    AW_PG_REAP_LOCKS,
    AW_PG_REAP_DEDUP,
    AW_PG_STMT_COUNT,
} aw_pg_stmt;

const aw_pg_stmt_def *aw_pg_stmt_get(aw_pg_stmt id);

/* Rows fetched per scan statement (keyset pagination). */
#define AW_PG_SCAN_PAGE 500

/* Execute statement id of the table above on c: see aw_pg_exec_stmt. */
static inline aw_status aw_pg_exec(aw_pg_conn *c, aw_pg_stmt id, const aw_pg_params *p,
                                   PGresult **res, aw_error *err)
{
    return aw_pg_exec_stmt(c, (unsigned)id, aw_pg_stmt_get(id), p, res, err);
}

#endif
