#include "common/aw_buf.h"
#include "common/aw_digits.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aw_buf_reserve(aw_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap;
    if (b->cap == 0) {
        /* The first reservation is usually the whole text (a reply, a
         * summary): take what it asks, in 64-byte steps, rather than the
         * next power of two. A 600-byte reply then stays below glibc's
         * 1 KiB large-request line, past which every malloc first merges
         * all freed small chunks (malloc_consolidate): that once cost a
         * few percent of the worker's CPU. */
        cap = (need + 63) & ~(size_t)63;
    } else {
        cap = b->cap;
        while (cap < need)
            cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int aw_buf_append(aw_buf *b, const void *data, size_t len)
{
    if (aw_buf_reserve(b, len))
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int aw_buf_puts(aw_buf *b, const char *s) { return aw_buf_append(b, s, strlen(s)); }

int aw_buf_printf(aw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(tmp))
        return aw_buf_append(b, tmp, (size_t)n);
    if (aw_buf_reserve(b, (size_t)n))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void aw_buf_reset(aw_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void aw_buf_free(aw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *aw_buf_steal(aw_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

char *aw_memdup(const void *p, size_t len)
{
    char *c = malloc(len + 1);
    if (!c)
        return NULL;
    if (len)
        memcpy(c, p, len);
    c[len] = '\0';
    return c;
}

const char aw_digit_pairs[200] = "0001020304050607080910111213141516171819"
                                 "2021222324252627282930313233343536373839"
                                 "4041424344454647484950515253545556575859"
                                 "6061626364656667686970717273747576777879"
                                 "8081828384858687888990919293949596979899";

size_t aw_format_int(char *out, int64_t v)
{
    /* Through unsigned arithmetic, so INT64_MIN does not overflow. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    /* The digits counted first, then written two at a time from the last
     * ones straight into out: no copy from a temporary (this runs ~17
     * times a message). */
    size_t digits = 1;
    for (uint64_t t = u; t >= 10; t /= 10)
        digits++;
    size_t n = digits + (v < 0);
    char *p = out + n;
    *p = '\0';
    while (u >= 100) {
        p -= 2;
        aw_two_digits(p, (unsigned)(u % 100));
        u /= 100;
    }
    if (u >= 10) {
        p -= 2;
        aw_two_digits(p, (unsigned)u);
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    return n;
}
