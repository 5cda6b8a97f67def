/* ClickHouse string literals: see ch_quote.h. */
#include "backends/clickhouse/ch_quote.h"

#include <string.h>

int aw_ch_quote_bytes(aw_buf *b, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data, *end = p + len;
    if (aw_buf_reserve(b, len + 2) != 0 || aw_buf_append(b, "'", 1) != 0)
        return -1;
    for (; p < end; p++) {
        char esc[4];
        size_t n;
        if (*p == '\\' || *p == '\'') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[*p >> 4];
            esc[3] = hex[*p & 15];
            n = 4;
        } else {
            esc[0] = (char)*p;
            n = 1;
        }
        if (aw_buf_append(b, esc, n) != 0)
            return -1;
    }
    return aw_buf_append(b, "'", 1);
}

int aw_ch_quote(aw_buf *b, const char *s) { return aw_ch_quote_bytes(b, s, strlen(s)); }
