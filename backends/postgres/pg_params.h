/* Statement parameters and binary arrays for libpq, shared by the PostgreSQL
 * backends (state and audit): values always travel as parameters, never
 * formatted into SQL text. Pure encoding, no I/O, no state: any thread. */
#ifndef AW_PG_PARAMS_H
#define AW_PG_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"

/* One statement a backend prepares once per connection (pg_conn.h). */
typedef struct aw_pg_stmt_def {
    const char *name;   /* prepared statement name */
    const char *sql;
    int nparams;
} aw_pg_stmt_def;

/* ---- parameters ---------------------------------------------------------- */

/* Enough for the widest statement (the audit batch insert: one array per
 * record field). */
#define AW_PG_MAX_PARAMS 32

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
#define AW_PG_OID_TEXT 25u

/* Start an array of n elements of type oid in b (b is reset first). Then
 * add exactly n elements. Return 0, or -1 when out of memory. n must be > 0. */
int aw_pg_array_begin(aw_buf *b, uint32_t oid, size_t n, bool has_nulls);
int aw_pg_array_bytes(aw_buf *b, const void *data, size_t len);
int aw_pg_array_i64(aw_buf *b, int64_t v);
int aw_pg_array_i32(aw_buf *b, int32_t v);
int aw_pg_array_null(aw_buf *b);

#endif
