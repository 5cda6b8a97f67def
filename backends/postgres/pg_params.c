/* Statement parameters and binary arrays for libpq: see pg_params.h. */
#include "backends/postgres/pg_params.h"

#include <stdlib.h>
#include <string.h>

/* ---- parameters ---------------------------------------------------------- */

static void put_be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

static void put_be32(char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

void aw_pg_params_init(aw_pg_params *p) { memset(p, 0, sizeof(*p)); }

/* Overflowing the fixed parameter array is a bug in the calling backend (every
 * statement has a fixed shape): stop at once in every build. */
static int param_slot(aw_pg_params *p)
{
    if (p->n >= AW_PG_MAX_PARAMS)
        abort();
    return p->n++;
}

void aw_pg_param_bytes(aw_pg_params *p, const void *data, size_t len)
{
    int i = param_slot(p);
    /* libpq wants a non-NULL pointer for a non-NULL value, even when empty. */
    p->values[i] = data ? data : "";
    p->lengths[i] = (int)len;
    p->formats[i] = 1;
}

void aw_pg_param_i64(aw_pg_params *p, int64_t v)
{
    int i = param_slot(p);
    put_be64(p->nums[i], (uint64_t)v);
    p->values[i] = p->nums[i];
    p->lengths[i] = 8;
    p->formats[i] = 1;
}

void aw_pg_param_ttl(aw_pg_params *p, int64_t ttl_ms)
{
    if (ttl_ms <= 0)
        aw_pg_param_null(p);
    else
        aw_pg_param_i64(p, ttl_ms > AW_PG_MAX_TTL_MS ? AW_PG_MAX_TTL_MS : ttl_ms);
}

void aw_pg_param_null(aw_pg_params *p)
{
    int i = param_slot(p);
    p->values[i] = NULL;
    p->lengths[i] = 0;
    p->formats[i] = 1;
}

void aw_pg_param_text(aw_pg_params *p, const char *s)
{
    int i = param_slot(p);
    p->values[i] = s;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

/* ---- binary arrays ------------------------------------------------------- */

int aw_pg_array_begin(aw_buf *b, uint32_t oid, size_t n, bool has_nulls)
{
    char h[20];
    aw_buf_reset(b);
    put_be32(h, 1);                    /* dimensions */
    put_be32(h + 4, has_nulls ? 1 : 0); /* flags */
    put_be32(h + 8, oid);               /* element type */
    put_be32(h + 12, (uint32_t)n);      /* length of dimension 1 */
    put_be32(h + 16, 1);                /* lower bound */
    return aw_buf_append(b, h, sizeof(h));
}

int aw_pg_array_bytes(aw_buf *b, const void *data, size_t len)
{
    char h[4];
    put_be32(h, (uint32_t)len);
    if (aw_buf_append(b, h, sizeof(h)))
        return -1;
    return len ? aw_buf_append(b, data, len) : 0;
}

int aw_pg_array_i64(aw_buf *b, int64_t v)
{
    char e[12];
    put_be32(e, 8);
    put_be64(e + 4, (uint64_t)v);
    return aw_buf_append(b, e, sizeof(e));
}

int aw_pg_array_i32(aw_buf *b, int32_t v)
{
    char e[8];
    put_be32(e, 4);
    put_be32(e + 4, (uint32_t)v);
    return aw_buf_append(b, e, sizeof(e));
}

int aw_pg_array_null(aw_buf *b)
{
    char h[4];
    put_be32(h, UINT32_MAX); /* length -1 */
    return aw_buf_append(b, h, sizeof(h));
}
