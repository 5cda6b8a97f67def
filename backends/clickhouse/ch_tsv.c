/* TabSeparated escaping: see ch_tsv.h. */
#include "backends/clickhouse/ch_tsv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

/* The escape of byte c (its second character), or 0 when c is copied. */
static char tsv_escape(unsigned char c)
{
    switch (c) {
    case '\\':
        return '\\';
    case '\t':
        return 't';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\0':
        return '0';
    default:
        return 0;
    }
}

int aw_ch_tsv_bytes(aw_buf *b, const char *s, size_t len)
{
    /* Runs of plain bytes are appended at once: escapes are rare. */
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        char e = tsv_escape((unsigned char)s[i]);
        if (!e)
            continue;
        char esc[2] = {'\\', e};
        if (aw_buf_append(b, s + run, i - run) != 0 || aw_buf_append(b, esc, 2) != 0)
            return -1;
        run = i + 1;
    }
    return aw_buf_append(b, s + run, len - run);
}

int aw_ch_tsv_uint(aw_buf *b, uint64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return aw_buf_append(b, p, (size_t)(e - p));
}

int aw_ch_tsv_int(aw_buf *b, int64_t v)
{
    if (v >= 0)
        return aw_ch_tsv_uint(b, (uint64_t)v);
    /* Through unsigned arithmetic, so INT64_MIN does not overflow. */
    return aw_buf_append(b, "-", 1) || aw_ch_tsv_uint(b, (uint64_t)0 - (uint64_t)v) ? -1 : 0;
}

/* One strict strtoll or strtoull: both readers share the end and range
 * checks. */
static int parse_dec(const char *s, bool is_signed, long long *i, unsigned long long *u)
{
    char *end;
    errno = 0;
    if (is_signed)
        *i = strtoll(s, &end, 10);
    else
        *u = strtoull(s, &end, 10);
    return errno || end == s || *end ? -1 : 0;
}

int aw_ch_tsv_parse_int(const char *s, int64_t *out)
{
    long long v;
    if (parse_dec(s, true, &v, NULL))
        return -1;
    *out = v;
    return 0;
}

int aw_ch_tsv_parse_uint(const char *s, uint64_t *out)
{
    unsigned long long v;
    /* strtoull reads "-1" as its maximum: a sign is refused first */
    if (*s == '-' || parse_dec(s, false, NULL, &v))
        return -1;
    *out = v;
    return 0;
}
