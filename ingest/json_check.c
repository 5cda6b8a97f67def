/* Strict JSON checking without building a tree: see json_check.h.
 *
 * A recursive-descent pass over the bytes. Recursion is bounded by
 * max_depth (the decoder's 64). Object keys are remembered on one stack
 * shared by all open objects (a key is a span of the input, or of a side
 * buffer when it had escapes) and checked for duplicates when their object
 * closes. */
#include "ingest/json_check.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_text_scan.h"

#define INLINE_KEYS 64
#define INLINE_DECODED 1024
#define INLINE_NUMBER 64

typedef struct key_ref {
    size_t off;      /* into the input, or into decoded[] when escaped */
    size_t len;
    uint32_t hash;
    bool escaped;
    const char *ptr; /* resolved only while sorting */
} key_ref;

typedef struct checker {
    const unsigned char *start, *p, *end;
    unsigned depth, max_depth;
    aw_json_error *err;
    aw_json_member_fn on_member;
    void *ctx;
    key_ref *keys; /* inline_keys or heap */
    size_t nkeys, keys_cap;
    char *decoded; /* inline_decoded or heap: unescaped keys */
    size_t decoded_len, decoded_cap;
    key_ref inline_keys[INLINE_KEYS];
    char inline_decoded[INLINE_DECODED];
} checker;

/* Byte classes inside a string: 0 plain ASCII, 1 '"', 2 '\\', 3 control, 4 non-ASCII. */
static inline int string_class(unsigned char ch)
{
    if (ch >= 0x80)
        return 4;
    if (ch < 0x20)
        return 3;
    return ch == '"' ? 1 : ch == '\\' ? 2 : 0;
}

static int fail(checker *c, const unsigned char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(checker *c, const unsigned char *at, const char *fmt, ...)
{
    aw_json_error *e = c->err;
    e->offset = (size_t)(at - c->start);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return -1;
}

static void skip_ws(checker *c)
{
    /* Most messages have no white space between tokens: one comparison
     * (every JSON white space byte is <= ' ') ends the common case. */
    while (c->p < c->end && *c->p <= ' ' &&
           (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* ---- strings ------------------------------------------------------------ */

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out)
{
    if (end - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned char b = p[0];
    size_t n;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf)
        n = 2, cp = b & 0x1fu;
    else if (b >= 0xe0 && b <= 0xef)
        n = 3, cp = b & 0x0fu;
    else if (b >= 0xf0 && b <= 0xf4)
        n = 4, cp = b & 0x07u;
    else
        return 0; /* continuation byte, overlong C0/C1, or F5..FF */
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static size_t utf8_length(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Check the \u escape at p (pointing at the 'u'): one code point, or a
 * surrogate pair. Sets *cp and advances *p past it. */
static int unicode_escape(checker *c, const unsigned char **p, uint32_t *cp)
{
    const unsigned char *u = *p;
    unsigned hi, lo;
    if (hex4(u + 1, c->end, &hi))
        return fail(c, u - 1, "invalid \\u escape");
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return fail(c, u - 1, "invalid Unicode '\\u%04X' (a lone low surrogate)", hi);
    if (hi >= 0xd800 && hi <= 0xdbff) {
        const unsigned char *q = u + 5;
        if (c->end - q < 2 || q[0] != '\\' || q[1] != 'u')
            return fail(c, u - 1, "invalid Unicode '\\u%04X' (a high surrogate alone)", hi);
        if (hex4(q + 2, c->end, &lo))
            return fail(c, q, "invalid \\u escape");
        if (lo < 0xdc00 || lo > 0xdfff)
            return fail(c, u - 1, "invalid Unicode '\\u%04X\\u%04X'", hi, lo);
        *cp = 0x10000u + ((hi - 0xd800u) << 10) + (lo - 0xdc00u);
        *p = q + 6;
        return 0;
    }
    if (hi == 0) {
        c->err->nul = true;
        return fail(c, u - 1, "\\u0000 is not allowed in any string or key");
    }
    *cp = hi;
    *p = u + 5;
    return 0;
}

/* c->p at the opening quote. Fills v (kind, text, len, str_len); *escaped
 * says whether the string had any backslash. */
static int check_string(checker *c, aw_json_value *v, bool *escaped)
{
    const unsigned char *open = c->p, *p = c->p + 1, *end = c->end;
    size_t decoded = 0;
    *escaped = false;
    for (;;) {
        const unsigned char *run = p;
        p = aw_scan_plain(p, end);
        decoded += (size_t)(p - run);
        if (p >= end)
            return fail(c, p, "premature end of input in a string");
        switch (string_class(*p)) {
        case 1: /* closing quote */
            c->p = p + 1;
            v->kind = AW_JSON_STRING;
            v->text = (const char *)open;
            v->len = (size_t)(c->p - open);
            v->str_len = decoded;
            return 0;
        case 2: { /* escape */
            *escaped = true;
            if (end - p < 2)
                return fail(c, p, "premature end of input in a string");
            unsigned char e = p[1];
            if (e == 'u') {
                const unsigned char *u = p + 1;
                uint32_t cp = 0;
                if (unicode_escape(c, &u, &cp))
                    return -1;
                decoded += utf8_length(cp);
                p = u;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                       e == 'r' || e == 't') {
                decoded++;
                p += 2;
            } else
                return fail(c, p, "invalid escape");
            break;
        }
        case 3:
            return fail(c, p, "control character 0x%x in a string", *p);
        default: { /* non-ASCII */
            size_t n = utf8_sequence(p, end);
            if (n == 0)
                return fail(c, p, "invalid UTF-8 (byte 0x%x)", *p);
            decoded += n;
            p += n;
        }
        }
    }
}

static size_t put_utf8(char *out, uint32_t cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0u | (cp >> 6));
        o[1] = (unsigned char)(0x80u | (cp & 0x3fu));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0u | (cp >> 12));
        o[1] = (unsigned char)(0x80u | ((cp >> 6) & 0x3fu));
        o[2] = (unsigned char)(0x80u | (cp & 0x3fu));
        return 3;
    }
    o[0] = (unsigned char)(0xf0u | (cp >> 18));
    o[1] = (unsigned char)(0x80u | ((cp >> 12) & 0x3fu));
    o[2] = (unsigned char)(0x80u | ((cp >> 6) & 0x3fu));
    o[3] = (unsigned char)(0x80u | (cp & 0x3fu));
    return 4;
}

static unsigned hex4_checked(const char *p)
{
    unsigned v = 0;
    (void)hex4((const unsigned char *)p, (const unsigned char *)p + 4, &v);
    return v;
}

/* Unescape a checked string's text (quotes included) into out. */
static size_t unescape(const char *text, size_t len, char *out)
{
    const char *p = text + 1, *end = text + len - 1;
    char *o = out;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = (size_t)((bs ? bs : end) - p);
        memcpy(o, p, run);
        o += run;
        p += run;
        if (!bs)
            break;
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            uint32_t cp = hex4_checked(p);
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) { /* checked: a low surrogate follows */
                cp = 0x10000u + ((cp - 0xd800u) << 10) + (hex4_checked(p + 2) - 0xdc00u);
                p += 6;
            }
            o += put_utf8(o, cp);
            break;
        }
        default: *o++ = e; break; /* " \ / */
        }
    }
    *o = '\0';
    return (size_t)(o - out);
}

void aw_json_string_copy(const aw_json_value *v, char *out)
{
    /* No escape in it (its decoded length is its raw length): the bytes
     * between the quotes as they are, without looking for backslashes. */
    if (v->str_len + 2 == v->len) {
        memcpy(out, v->text + 1, v->str_len);
        out[v->str_len] = '\0';
        return;
    }
    (void)unescape(v->text, v->len, out);
}

/* ---- numbers and literals ----------------------------------------------- */

static bool is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

/* Does the real number text[0..n) overflow a double? (jansson refuses those;
 * underflow to zero it accepts.) */
static bool real_overflows(const unsigned char *text, size_t n)
{
    char small[INLINE_NUMBER];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return true; /* cannot tell: refuse, as jansson does when it runs out of memory */
    memcpy(buf, text, n);
    buf[n] = '\0';
    errno = 0;
    double d = strtod(buf, NULL);
    bool over = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
    if (buf != small)
        free(buf);
    return over;
}

static int check_number(checker *c, aw_json_value *v)
{
    const unsigned char *start = c->p, *p = c->p, *end = c->end;
    bool negative = p < end && *p == '-';
    if (negative)
        p++;
    const unsigned char *digits = p;
    if (p < end && *p == '0') {
        p++;
        if (p < end && is_digit(*p))
            return fail(c, start, "invalid number (leading zero)");
    } else if (p < end && is_digit(*p)) {
        while (p < end && is_digit(*p))
            p++;
    } else
        return fail(c, start, "invalid token");
    size_t ndigits = (size_t)(p - digits);
    bool real = false;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p))
            return fail(c, start, "invalid number (no digit after '.')");
        while (p < end && is_digit(*p))
            p++;
        real = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return fail(c, start, "invalid number (no digit in the exponent)");
        while (p < end && is_digit(*p))
            p++;
        real = true;
    }
    if (real) {
        if (real_overflows(start, (size_t)(p - start)))
            return fail(c, start, "real number overflow");
    } else if (ndigits >= 19) {
        /* int64: at most 9223372036854775807, or ...808 when negative.
         * No leading zeros here, so more digits is bigger. */
        const char *limit = negative ? "9223372036854775808" : "9223372036854775807";
        if (ndigits > 19 || memcmp(digits, limit, 19) > 0)
            return fail(c, start, negative ? "too big negative integer" : "too big integer");
    }
    c->p = p;
    v->kind = real ? AW_JSON_REAL : AW_JSON_INTEGER;
    v->text = (const char *)start;
    v->len = (size_t)(p - start);
    return 0;
}

static int check_literal(checker *c, aw_json_value *v)
{
    static const struct {
        const char *word;
        size_t len;
        aw_json_kind kind;
    } lits[] = {{"true", 4, AW_JSON_TRUE}, {"false", 5, AW_JSON_FALSE}, {"null", 4, AW_JSON_NULL}};
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        if ((size_t)(c->end - c->p) >= lits[i].len &&
            memcmp(c->p, lits[i].word, lits[i].len) == 0) {
            v->kind = lits[i].kind;
            v->text = (const char *)c->p;
            v->len = lits[i].len;
            c->p += lits[i].len;
            return 0;
        }
    }
    /* Name what was found: a word as a whole (as jansson does), else the byte. */
    size_t n = 0;
    while (n < 20 && c->p + n < c->end &&
           ((c->p[n] >= 'a' && c->p[n] <= 'z') || (c->p[n] >= 'A' && c->p[n] <= 'Z')))
        n++;
    if (n)
        return fail(c, c->p, "invalid token '%.*s'", (int)n, (const char *)c->p);
    if (*c->p >= 0x20 && *c->p < 0x7f)
        return fail(c, c->p, "unexpected '%c'", *c->p);
    return fail(c, c->p, "unexpected byte 0x%02x", *c->p);
}

/* ---- keys --------------------------------------------------------------- */

/* A key's hash for the duplicate check: only a filter before the byte
 * comparison, so its first and last eight bytes and its length are enough
 * (hashing every byte was ~500 instructions a message). Keys that differ
 * only in between compare equal here and are told apart by memcmp. */
static uint32_t key_hash(const char *s, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        a = x;
        b = y;
    } else if (n > 0) {
        a = (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8 |
            (uint64_t)(unsigned char)s[n - 1] << 16;
    }
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ULL) ^ n) * 0xff51afd7ed558ccdULL;
    return (uint32_t)(h >> 32);
}

static const char *key_bytes(const checker *c, const key_ref *k)
{
    return k->escaped ? c->decoded + k->off : (const char *)c->start + k->off;
}

static int grow(checker *c, void **buf, size_t *cap, size_t elem, size_t need, void *inline_buf)
{
    size_t ncap = *cap * 2;
    while (ncap < need)
        ncap *= 2;
    void *n = *buf == inline_buf ? malloc(ncap * elem) : realloc(*buf, ncap * elem);
    if (!n)
        return fail(c, c->p, "out of memory");
    if (*buf == inline_buf)
        memcpy(n, inline_buf, *cap * elem);
    *buf = n;
    *cap = ncap;
    return 0;
}

/* Remember the key just checked (v). */
static int push_key(checker *c, const aw_json_value *v, bool escaped)
{
    if (c->nkeys == c->keys_cap &&
        grow(c, (void **)&c->keys, &c->keys_cap, sizeof(key_ref), c->nkeys + 1, c->inline_keys))
        return -1;
    key_ref *k = &c->keys[c->nkeys];
    k->len = v->str_len;
    k->escaped = escaped;
    if (escaped) {
        size_t need = c->decoded_len + v->str_len + 1;
        if (need > c->decoded_cap &&
            grow(c, (void **)&c->decoded, &c->decoded_cap, 1, need, c->inline_decoded))
            return -1;
        k->off = c->decoded_len;
        (void)unescape(v->text, v->len, c->decoded + k->off);
        c->decoded_len += v->str_len;
    } else
        k->off = (size_t)((const unsigned char *)v->text + 1 - c->start);
    k->hash = key_hash(key_bytes(c, k), k->len);
    c->nkeys++;
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->ptr, y->ptr, x->len);
}

/* Any two equal keys among keys[from..nkeys)? Small objects compare every
 * pair; large ones sort (a 1 MiB message can hold 100,000 keys). */
static bool has_duplicate(checker *c, size_t from)
{
    key_ref *k = c->keys + from;
    size_t n = c->nkeys - from;
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (k[i].hash == k[j].hash && k[i].len == k[j].len &&
                    memcmp(key_bytes(c, &k[i]), key_bytes(c, &k[j]), k[i].len) == 0)
                    return true;
        return false;
    }
    for (size_t i = 0; i < n; i++)
        k[i].ptr = key_bytes(c, &k[i]);
    qsort(k, n, sizeof *k, key_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&k[i - 1], &k[i]) == 0)
            return true;
    return false;
}

/* ---- containers --------------------------------------------------------- */

static int check_value(checker *c, aw_json_value *v);

static int enter(checker *c)
{
    if (++c->depth > c->max_depth) {
        c->err->too_deep = true;
        return fail(c, c->p, "nesting deeper than %u levels", c->max_depth);
    }
    return 0;
}

static int expect_after_item(checker *c, unsigned char close, bool *more)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') {
        c->p++;
        skip_ws(c);
        *more = true;
        return 0;
    }
    if (c->p < c->end && *c->p == close) {
        c->p++;
        *more = false;
        return 0;
    }
    return fail(c, c->p, "'%c' or ',' expected", close);
}

static int check_array(checker *c, aw_json_value *v)
{
    const unsigned char *open = c->p;
    if (enter(c))
        return -1;
    c->p++;
    skip_ws(c);
    size_t count = 0;
    if (c->p < c->end && *c->p == ']')
        c->p++;
    else {
        bool more = true;
        while (more) {
            aw_json_value item;
            if (check_value(c, &item) || expect_after_item(c, ']', &more))
                return -1;
            count++;
        }
    }
    c->depth--;
    v->kind = AW_JSON_ARRAY;
    v->text = (const char *)open;
    v->len = (size_t)(c->p - open);
    v->count = count;
    return 0;
}

static int check_object(checker *c, aw_json_value *v)
{
    const unsigned char *open = c->p;
    if (enter(c))
        return -1;
    bool top = c->depth == 1;
    size_t keys_from = c->nkeys, decoded_from = c->decoded_len;
    c->p++;
    skip_ws(c);
    size_t count = 0;
    if (c->p < c->end && *c->p == '}')
        c->p++;
    else {
        bool more = true;
        while (more) {
            if (c->p >= c->end || *c->p != '"')
                return fail(c, c->p, "string or '}' expected");
            aw_json_value key, val;
            bool escaped;
            if (check_string(c, &key, &escaped) || push_key(c, &key, escaped))
                return -1;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return fail(c, c->p, "':' expected");
            c->p++;
            skip_ws(c);
            if (check_value(c, &val))
                return -1;
            /* Looked up again: nested keys may have moved the side buffer. */
            if (top && c->on_member)
                c->on_member(c->ctx, key_bytes(c, &c->keys[keys_from + count]), key.str_len,
                             &val);
            count++;
            if (expect_after_item(c, '}', &more))
                return -1;
        }
    }
    if (has_duplicate(c, keys_from))
        return fail(c, open, "duplicate object key");
    c->nkeys = keys_from;
    c->decoded_len = decoded_from;
    c->depth--;
    v->kind = AW_JSON_OBJECT;
    v->text = (const char *)open;
    v->len = (size_t)(c->p - open);
    v->count = count;
    return 0;
}

static int check_value(checker *c, aw_json_value *v)
{
    if (c->p >= c->end)
        return fail(c, c->p, "premature end of input");
    memset(v, 0, sizeof *v);
    switch (*c->p) {
    case '{': return check_object(c, v);
    case '[': return check_array(c, v);
    case '"': {
        bool escaped;
        return check_string(c, v, &escaped);
    }
    default:
        if (*c->p == '-' || is_digit(*c->p))
            return check_number(c, v);
        return check_literal(c, v);
    }
}

int aw_json_check(const char *text, size_t len, unsigned max_depth, aw_json_member_fn on_member,
                  void *ctx, aw_json_value *root, aw_json_error *err)
{
    checker c;
    c.start = c.p = (const unsigned char *)text;
    c.end = c.start + len;
    c.depth = 0;
    c.max_depth = max_depth;
    c.err = err;
    c.on_member = on_member;
    c.ctx = ctx;
    c.keys = c.inline_keys;
    c.nkeys = 0;
    c.keys_cap = INLINE_KEYS;
    c.decoded = c.inline_decoded;
    c.decoded_len = 0;
    c.decoded_cap = INLINE_DECODED;
    memset(err, 0, sizeof *err);

    skip_ws(&c);
    int rc = check_value(&c, root);
    if (rc == 0) {
        skip_ws(&c);
        if (c.p != c.end)
            rc = fail(&c, c.p, "end of input expected");
    }
    if (c.keys != c.inline_keys)
        free(c.keys);
    if (c.decoded != c.inline_decoded)
        free(c.decoded);
    return rc;
}

const char *aw_json_kind_phrase(aw_json_kind kind)
{
    static const char *const phrases[] = {
        [AW_JSON_OBJECT] = "an object", [AW_JSON_ARRAY] = "an array",
        [AW_JSON_STRING] = "a string",  [AW_JSON_INTEGER] = "an integer",
        [AW_JSON_REAL] = "a number",    [AW_JSON_TRUE] = "true",
        [AW_JSON_FALSE] = "false",      [AW_JSON_NULL] = "null",
    };
    return (unsigned)kind < sizeof phrases / sizeof phrases[0] ? phrases[kind]
                                                               : "an unknown value";
}
