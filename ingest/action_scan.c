#include "ingest/action_scan.h"

#include <stdbool.h>
#include <string.h>

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
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\') {
            *escaped = true;
            p++;
        }
    }
    return NULL;
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

int aw_action_scan_identity(const void *data, size_t len, uint64_t *hash)
{
    const char *p = data, *end = p + len;
    span id = {0}, ns = {0}, tenant = {0}, dedup = {0};
    if (!data)
        return -1;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return -1; /* no fields: rejected by the decoder */
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
        span *want = key_is(k, kn, "id")          ? &id
                     : key_is(k, kn, "namespace") ? &ns
                     : key_is(k, kn, "tenant")    ? &tenant
                     : key_is(k, kn, "dedup_key") ? &dedup
                                                  : NULL;
        if (want) {
            if (want->seen || p >= end || *p != '"')
                return -1; /* repeated, or not a string: the decoder says why */
            const char *v = p + 1;
            p = skip_string(p, end, &esc);
            if (!p || esc)
                return -1;
            *want = (span){v, (size_t)(p - 1 - v), true};
        } else {
            p = skip_value(p, end);
            if (!p)
                return -1;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            break;
        return -1;
    }
    if (!id.seen || !ns.seen || !tenant.seen)
        return -1;
    const span *key = dedup.seen ? &dedup : &id;
    *hash = aw_identity_hash(ns.p, ns.n, tenant.p, tenant.n, key->p, key->n);
    return 0;
}
