#include "ingest/action_scan.h"

#include <stdbool.h>
#include <string.h>

#include "common/aw_text_scan.h"
#include "ingest/action.h"

/* A top-level string value, as raw bytes between its quotes. */
typedef struct span {
    const char *p;
    size_t n;
    bool seen;
} span;

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p is at an opening quote. Returns the position after the closing quote
 * (NULL when unterminated); *escaped tells whether a backslash occurred, in
 * which case the raw bytes are not the decoded value. */
static const char *skip_string(const char *p, const char *end, bool *escaped)
{
    const unsigned char *u = (const unsigned char *)p + 1, *e = (const unsigned char *)end;
    for (;;) {
        u = aw_scan_quote(u, e);
        if (u >= e)
            return NULL;
        if (*u == '"')
            return (const char *)u + 1;
        *escaped = true;
        u += 2; /* the escaped byte cannot end the string */
    }
}

/* Skip one value of any kind without looking inside it beyond brackets and
 * strings (the decoder validates it later). NULL when the input ends. */
static const char *skip_value(const char *p, const char *end)
{
    bool esc = false;
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end, &esc);
    if (*p == '{' || *p == '[') {
        long depth = 0;
        while (p < end) {
            char c = *p;
            if (c == '"') {
                p = skip_string(p, end, &esc);
                if (!p)
                    return NULL;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    /* number, true, false, null (or garbage the decoder will refuse) */
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\n' && *p != '\r')
        p++;
    return p;
}

static bool key_is(const char *k, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(k, name, n) == 0;
}

/* Visit every top-level member of the object in data: name (raw bytes
 * between its quotes, never escaped) and the value's raw bytes [v, v_end).
 * visit returns 0 to go on, -1 to stop the scan with -1. Returns 0 after the
 * last member, -1 when the scan cannot be sure of the members: not an
 * object, an escaped name, or input it cannot follow (the decoder says
 * what is wrong with it). */
typedef int (*member_fn)(const char *name, size_t name_len, const char *v, const char *v_end,
                         void *ud);

static int scan_members(const void *data, size_t len, member_fn visit, void *ud)
{
    const char *p = data, *end = p + len;
    if (!data)
        return -1;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return 0;
    for (;;) {
        if (p >= end || *p != '"')
            return -1;
        bool esc = false;
        const char *k = p + 1;
        p = skip_string(p, end, &esc);
        if (!p || esc)
            return -1; /* "\u0069d" is "id": only the decoder can say */
        size_t kn = (size_t)(p - 1 - k);
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = skip_ws(p + 1, end);
        const char *v = p;
        p = skip_value(p, end);
        if (!p || visit(k, kn, v, p, ud) != 0)
            return -1;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            return 0;
        return -1;
    }
}

typedef struct identity_spans {
    span id, ns, tenant, dedup;
} identity_spans;

static int visit_identity(const char *k, size_t kn, const char *v, const char *v_end, void *ud)
{
    identity_spans *s = ud;
    span *want = key_is(k, kn, "id")          ? &s->id
                 : key_is(k, kn, "namespace") ? &s->ns
                 : key_is(k, kn, "tenant")    ? &s->tenant
                 : key_is(k, kn, "dedup_key") ? &s->dedup
                                              : NULL;
    if (!want)
        return 0;
    /* Repeated, not a string, or escaped: the decoder says why or what. */
    if (want->seen || *v != '"' || memchr(v, '\\', (size_t)(v_end - v)))
        return -1;
    *want = (span){v + 1, (size_t)(v_end - v - 2), true};
    return 0;
}

int aw_action_scan_identity(const void *data, size_t len, uint64_t *hash)
{
    identity_spans s = {0};
    if (scan_members(data, len, visit_identity, &s) != 0 || !s.id.seen || !s.ns.seen ||
        !s.tenant.seen)
        return -1;
    const span *key = s.dedup.seen ? &s.dedup : &s.id;
    *hash = aw_identity_hash(s.ns.p, s.ns.n, s.tenant.p, s.tenant.n, key->p, key->n);
    return 0;
}
