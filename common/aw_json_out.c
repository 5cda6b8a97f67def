#include "common/aw_json_out.h"

#include <string.h>

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

int aw_json_out_string(aw_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    /* Most strings need no escape: copy them whole. */
    size_t plain = 0;
    while (plain < len && p[plain] >= 0x20 && p[plain] < 0x80 && p[plain] != '"' &&
           p[plain] != '\\')
        plain++;
    if (plain == len)
        return put_quoted(b, s, len, "");
    /* Worst case: every byte a 6-byte \u00XX escape. */
    if (aw_buf_reserve(b, len * 6 + 2))
        return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    while (p < end) {
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t n = utf8_len(p, (size_t)(end - p));
            if (!n)
                return -1;
            memcpy(o, p, n);
            o += n;
            p += n;
            continue;
        }
        p++;
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
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
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    /* Through unsigned arithmetic, so INT64_MIN does not overflow. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return aw_buf_append(b, p, (size_t)(e - p));
}

int aw_json_out_name(aw_buf *b, const char *name) { return put_quoted(b, name, strlen(name), ":"); }
