/* The SQL of the "postgres" state backend: every statement it runs, each
 * prepared once per connection and executed with binary parameters and
 * results (no value is ever formatted into SQL text), plus the helpers
 * that encode parameters and binary arrays.
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

#include "common/aw_buf.h"

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
    AW_PG_LEASE_RENEW,
    AW_PG_LEASE_RELEASE,
    AW_PG_REAP_VALUES,
    AW_PG_REAP_LOCKS,
    AW_PG_REAP_DEDUP,
    AW_PG_STMT_COUNT,
} aw_pg_stmt;

typedef struct aw_pg_stmt_def {
    const char *name;   /* prepared statement name */
    const char *sql;
    int nparams;
} aw_pg_stmt_def;

const aw_pg_stmt_def *aw_pg_stmt_get(aw_pg_stmt id);

/* Rows fetched per scan statement (keyset pagination). */
#define AW_PG_SCAN_PAGE 500

/* ---- parameters ---------------------------------------------------------- */

#define AW_PG_MAX_PARAMS 8

/* Parameters of one statement. Values are borrowed until the statement
 * returns, except numbers, which live in the struct itself (do not copy a
 * filled struct). */
typedef struct aw_pg_params {
    int n;
    const char *values[AW_PG_MAX_PARAMS];
    int lengths[AW_PG_MAX_PARAMS];
    int formats[AW_PG_MAX_PARAMS];     /* 1 = binary, 0 = text */
    char nums[AW_PG_MAX_PARAMS][8];
} aw_pg_params;

void aw_pg_params_init(aw_pg_params *p);
/* bytea (or any binary-format value: an array built below). */
void aw_pg_param_bytes(aw_pg_params *p, const void *data, size_t len);
void aw_pg_param_i64(aw_pg_params *p, int64_t v);
/* A TTL in milliseconds: NULL (no expiry) when ttl_ms <= 0, clamped to
 * AW_PG_MAX_TTL_MS so the timestamp arithmetic cannot overflow. */
void aw_pg_param_ttl(aw_pg_params *p, int64_t ttl_ms);
void aw_pg_param_null(aw_pg_params *p);
/* A text-format value (NUL-terminated). */
void aw_pg_param_text(aw_pg_params *p, const char *s);

/* About 100 years: longer TTLs are clamped. */
#define AW_PG_MAX_TTL_MS 3153600000000LL

/* ---- binary one-dimensional arrays (array_recv format) ------------------ */

#define AW_PG_OID_BYTEA 17u
#define AW_PG_OID_INT8 20u
#define AW_PG_OID_INT4 23u

/* Start an array of n elements of type oid in b (b is reset first). Then
 * add exactly n elements. Return 0, or -1 when out of memory. n must be > 0. */
int aw_pg_array_begin(aw_buf *b, uint32_t oid, size_t n, bool has_nulls);
int aw_pg_array_bytes(aw_buf *b, const void *data, size_t len);
int aw_pg_array_i64(aw_buf *b, int64_t v);
int aw_pg_array_i32(aw_buf *b, int32_t v);
int aw_pg_array_null(aw_buf *b);

#endif
