#include "common/aw_json_out.h"

#include <string.h>

#include "common/aw_text_scan.h"

/* Length of the valid UTF-8 sequence starting at p (at most n bytes), or 0
 * when invalid (overlong forms, surrogates, above U+10FFFF: what jansson's
 * utf8 check refuses). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

bool aw_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        size_t n = *p < 0x80 ? 1 : utf8_len(p, (size_t)(end - p));
        if (!n)
            return false;
        p += n;
    }
    return true;
}

int aw_json_out_raw(aw_buf *b, const char *s, size_t len) { return aw_buf_append(b, s, len); }

/* '"' s '"' suffix, for bytes that need no escape. */
static int put_quoted(aw_buf *b, const char *s, size_t len, const char *suffix)
{
    size_t sn = strlen(suffix);
    if (aw_buf_reserve(b, len + 2 + sn))
        return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    memcpy(o, s, len);
    o += len;
    *o++ = '"';
    memcpy(o, suffix, sn + 1);
    b->len = (size_t)(o + sn - b->data);
    return 0;
}

/* n bytes from p to o; returns o + n. Most runs are a short string whole
 * (an id, a name): up to 16 bytes they are copied with two fixed-size,
 * possibly overlapping moves instead of a call to memcpy. */
static inline char *copy_run(char *o, const unsigned char *p, size_t n)
{
    if (n >= 8 && n <= 16) {
        memcpy(o, p, 8);
        memcpy(o + n - 8, p + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(o, p, 4);
        memcpy(o + n - 4, p + n - 4, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            o[i] = (char)p[i];
    } else {
        memcpy(o, p, n);
    }
    return o + n;
}

char *aw_json_escape_into(char *o, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    *o++ = '"';
    while (p < end) {
        /* Runs of bytes that need no escape are copied whole. */
        const unsigned char *run = aw_scan_plain(p, end);
        o = copy_run(o, p, (size_t)(run - p));
        p = run;
        if (p >= end)
            break;
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t n = utf8_len(p, (size_t)(end - p));
            if (!n)
                return NULL;
            memcpy(o, p, n);
            o += n;
            p += n;
            continue;
        }
        p++;
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    return o;
}

int aw_json_out_string(aw_buf *b, const char *s, size_t len)
{
    /* Most strings need no escape: reserve for what they are, not for the
     * worst case. */
    const unsigned char *u = (const unsigned char *)s;
    size_t need = aw_scan_plain(u, u + len) == u + len ? len + 2 : AW_JSON_ESCAPED_MAX(len);
    if (aw_buf_reserve(b, need))
        return -1;
    char *o = aw_json_escape_into(b->data + b->len, s, len);
    if (!o) {
        b->data[b->len] = '\0';
        return -1;
    }
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return 0;
}

int aw_json_out_cstr(aw_buf *b, const char *s)
{
    return aw_json_out_string(b, s ? s : "", s ? strlen(s) : 0);
}

int aw_json_out_int(aw_buf *b, int64_t v)
{
    char tmp[AW_INT_TEXT];
    return aw_buf_append(b, tmp, aw_format_int(tmp, v));
}

int aw_json_out_name(aw_buf *b, const char *name) { return put_quoted(b, name, strlen(name), ":"); }
