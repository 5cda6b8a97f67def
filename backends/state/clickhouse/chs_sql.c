/* Statement builders and answer parser: see chs_sql.h. */
#include "backends/state/clickhouse/chs_sql.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backends/clickhouse/ch_quote.h"
#include "backends/clickhouse/ch_tsv.h"

/* Column order of every SELECT, matching parse_line(). */
#define CHS_COLS                                                                             \
    "hex(key), ver, version, token, phase, deleted, expires_at_ms, partition, offset, "    \
    "hex(value), hex(topic), hex(id), hex(space)"
#define CHS_NCOLS 13

#define CHS_INSERT_COLS                                                                      \
    "space, key, id, value, version, ver, token, phase, topic, partition, offset, "        \
    "expires_at_ms, deleted, written_at_ms"

void aw_chs_row_clear(aw_chs_row *r)
{
    if (!r)
        return;
    free(r->key);
    free(r->value);
    free(r->topic);
    free(r->id);
    memset(r, 0, sizeof(*r));
}

static int space_lit(aw_buf *b, char space)
{
    char s[2] = {space, '\0'};
    return aw_ch_quote(b, s);
}

int aw_chs_sql_latest(aw_buf *b, const char *spaces, const char *const *keys,
                      const size_t *klens, size_t n)
{
    if (aw_buf_puts(b, "SELECT " CHS_COLS " FROM " AW_CHS_TABLE " WHERE space IN ("))
        return -1;
    for (const char *sp = spaces; *sp; sp++)
        if ((sp != spaces && aw_buf_puts(b, ", ")) || space_lit(b, *sp))
            return -1;
    if (aw_buf_puts(b, ") AND key IN ("))
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((i && aw_buf_puts(b, ", ")) || aw_ch_quote_bytes(b, keys[i], klens[i]))
            return -1;
    return aw_buf_puts(
        b, ") ORDER BY space, key, ver DESC LIMIT 1 BY space, key FORMAT TabSeparated");
}

int aw_chs_sql_scan(aw_buf *b, const char *pfx, size_t plen, int64_t now_ms)
{
    /* key >= prefix lets the primary index skip what sorts before it; the
     * substring() equality is the literal prefix test. */
    if (aw_buf_puts(b, "SELECT " CHS_COLS " FROM (SELECT * FROM " AW_CHS_TABLE
                       " WHERE space = ") ||
        space_lit(b, AW_CHS_SPACE_VALUE) || aw_buf_puts(b, " AND key >= ") ||
        aw_ch_quote_bytes(b, pfx, plen) ||
        aw_buf_printf(b, " AND substring(key, 1, %zu) = ", plen) ||
        aw_ch_quote_bytes(b, pfx, plen) ||
        aw_buf_puts(b, " ORDER BY key, ver DESC LIMIT 1 BY key)") ||
        aw_buf_printf(b,
                      " WHERE deleted = 0 AND (expires_at_ms = 0 OR expires_at_ms > %" PRId64
                      ") ORDER BY key FORMAT TabSeparated",
                      now_ms))
        return -1;
    return 0;
}

int aw_chs_sql_insert_head(aw_buf *b)
{
    return aw_buf_puts(b, "INSERT INTO " AW_CHS_TABLE " (" CHS_INSERT_COLS ") VALUES ");
}

int aw_chs_sql_row(aw_buf *b, const aw_chs_write *w, bool first)
{
    const char *id = w->id ? w->id : "";
    const char *topic = w->topic ? w->topic : "";
    if ((!first && aw_buf_puts(b, ", ")) || aw_buf_puts(b, "(") || space_lit(b, w->space) ||
        aw_buf_puts(b, ", ") || aw_ch_quote_bytes(b, w->key, w->klen) ||
        aw_buf_puts(b, ", ") || aw_ch_quote(b, id) || aw_buf_puts(b, ", ") ||
        aw_ch_quote_bytes(b, w->value ? w->value : "", w->value ? w->vlen : 0) ||
        aw_buf_printf(b, ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %d, ", w->version, w->ver,
                      w->token, w->phase) ||
        aw_ch_quote(b, topic) ||
        aw_buf_printf(b, ", %" PRId32 ", %" PRId64 ", %" PRId64 ", %d, %" PRId64 ")",
                      w->partition, w->offset, w->expires_at_ms, w->deleted ? 1 : 0,
                      w->written_at_ms))
        return -1;
    return 0;
}

int aw_chs_sql_optimize(aw_buf *b)
{
    return aw_buf_puts(b, "OPTIMIZE TABLE " AW_CHS_TABLE " FINAL");
}

int aw_chs_sql_reap(aw_buf *b, int64_t cutoff_ms)
{
    return aw_buf_printf(b,
                         "ALTER TABLE " AW_CHS_TABLE " DELETE WHERE written_at_ms < %" PRId64
                         " AND (deleted = 1 OR (expires_at_ms != 0 AND expires_at_ms < %" PRId64
                         "))",
                         cutoff_ms, cutoff_ms);
}

/* ---- parsing ------------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode hex text into a new NUL-terminated buffer. */
static int unhex(const char *s, size_t n, char **out, size_t *outlen)
{
    if (n % 2)
        return -1;
    char *p = malloc(n / 2 + 1);
    if (!p)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(p);
            return -1;
        }
        p[i] = (char)(hi << 4 | lo);
    }
    p[n / 2] = '\0';
    *out = p;
    if (outlen)
        *outlen = n / 2;
    return 0;
}

/* The n bytes of a number field as a C string in tmp; -1 when empty or
 * too long for any 64-bit number. */
static int num_text(const char *s, size_t n, char tmp[24])
{
    if (n == 0 || n >= 24)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return 0;
}

static int num_u64(const char *s, size_t n, uint64_t *out)
{
    char tmp[24];
    return num_text(s, n, tmp) ? -1 : aw_ch_tsv_parse_uint(tmp, out);
}

static int num_i64(const char *s, size_t n, int64_t *out)
{
    char tmp[24];
    return num_text(s, n, tmp) ? -1 : aw_ch_tsv_parse_int(tmp, out);
}

static int parse_line(const char *line, size_t len, aw_chs_row *r)
{
    const char *f[CHS_NCOLS];
    size_t fl[CHS_NCOLS];
    size_t nf = 0;
    const char *p = line, *end = line + len;
    while (nf < CHS_NCOLS) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *stop = tab ? tab : end;
        f[nf] = p;
        fl[nf++] = (size_t)(stop - p);
        if (!tab)
            break;
        p = tab + 1;
    }
    if (nf != CHS_NCOLS || f[nf - 1] + fl[nf - 1] != end)
        return -1;
    uint64_t phase = 0, deleted = 0;
    int64_t part = 0;
    char *space = NULL;
    size_t splen = 0;
    if (unhex(f[12], fl[12], &space, &splen) || splen != 1) {
        free(space);
        return -1;
    }
    r->space = space[0];
    free(space);
    if (unhex(f[0], fl[0], &r->key, &r->klen) || num_u64(f[1], fl[1], &r->ver) ||
        num_u64(f[2], fl[2], &r->version) || num_u64(f[3], fl[3], &r->token) ||
        num_u64(f[4], fl[4], &phase) || num_u64(f[5], fl[5], &deleted) ||
        num_i64(f[6], fl[6], &r->expires_at_ms) || num_i64(f[7], fl[7], &part) ||
        num_i64(f[8], fl[8], &r->offset) || unhex(f[9], fl[9], &r->value, &r->vlen) ||
        unhex(f[10], fl[10], &r->topic, NULL) || unhex(f[11], fl[11], &r->id, NULL))
        return -1;
    r->phase = (int)phase;
    r->deleted = deleted != 0;
    r->partition = (int32_t)part;
    return 0;
}

aw_status aw_chs_parse_rows(const char *text, size_t len,
                            aw_status (*fn)(void *ctx, aw_chs_row *row, aw_error *err),
                            void *ctx, aw_error *err)
{
    const char *p = text ? text : "", *end = p + (text ? len : 0);
    aw_status rc = AW_OK;
    while (rc == AW_OK && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n) {
            aw_chs_row row = {0};
            if (parse_line(p, n, &row) != 0)
                rc = aw_error_set(err, AW_PERMANENT,
                                  "clickhouse state: unreadable answer row (%zu bytes)", n);
            else
                rc = fn(ctx, &row, err);
            aw_chs_row_clear(&row);
        }
        p += n + 1;
    }
    return rc;
}
