/* See ddb_url.h. */
#include "backends/state/dynamodb/ddb_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* malloc'd percent-decoded copy of [p, p+n); NULL on OOM or a bad escape
 * (*bad set then). */
static char *decode(const char *p, size_t n, bool *bad)
{
    char *o = malloc(n + 1);
    size_t j = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            int a = i + 1 < n ? hexval((unsigned char)p[i + 1]) : -1;
            int b = i + 2 < n ? hexval((unsigned char)p[i + 2]) : -1;
            if (a < 0 || b < 0) {
                free(o);
                *bad = true;
                return NULL;
            }
            o[j++] = (char)(a * 16 + b);
            i += 2;
        } else {
            o[j++] = p[i];
        }
    }
    o[j] = '\0';
    return o;
}

void aw_ddb_url_clear(aw_ddb_url *u)
{
    if (!u)
        return;
    free(u->region);
    free(u->table);
    free(u->endpoint);
    free(u->access_key_id);
    free(u->secret_access_key);
    free(u->session_token);
    memset(u, 0, sizeof(*u));
}

static char *env_dup(const char *(*env)(const char *), const char *name)
{
    const char *v = env ? env(name) : NULL;
    return v && *v ? strdup(v) : NULL;
}

aw_status aw_ddb_url_parse(const char *url, const char *(*env)(const char *), aw_ddb_url *u,
                           aw_error *err)
{
    static const char scheme[] = "dynamodb://";
    bool bad = false;
    memset(u, 0, sizeof(*u));
    if (!url || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return aw_error_set(err, AW_CONFIG,
                            "state.url: expected dynamodb://[KEY:SECRET@]REGION/TABLE[?endpoint=URL]");
    const char *p = url + sizeof(scheme) - 1;
    const char *slash = strchr(p, '/');
    if (!slash)
        return aw_error_set(err, AW_CONFIG, "state.url: no table (dynamodb://REGION/TABLE)");
    const char *at = NULL;
    for (const char *q = p; q < slash; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || colon == p || colon + 1 == at)
            return aw_error_set(err, AW_CONFIG,
                                "state.url: credentials must be ACCESS_KEY_ID:SECRET_ACCESS_KEY@");
        u->access_key_id = decode(p, (size_t)(colon - p), &bad);
        u->secret_access_key = decode(colon + 1, (size_t)(at - colon - 1), &bad);
        if (!u->access_key_id || !u->secret_access_key)
            goto fail;
        p = at + 1;
    }
    if (slash == p)
        goto no_region;
    u->region = decode(p, (size_t)(slash - p), &bad);
    if (!u->region)
        goto fail;
    const char *t = slash + 1, *qm = strchr(t, '?');
    size_t tl = qm ? (size_t)(qm - t) : strlen(t);
    if (tl < 3 || tl > 255 || memchr(t, '/', tl)) {
        aw_ddb_url_clear(u);
        return aw_error_set(err, AW_CONFIG,
                            "state.url: the table name must be 3 to 255 characters, no '/'");
    }
    u->table = decode(t, tl, &bad);
    if (!u->table)
        goto fail;
    for (const char *q = qm ? qm + 1 : NULL; q && *q;) {
        const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        if (!eq) {
            aw_ddb_url_clear(u);
            return aw_error_set(err, AW_CONFIG, "state.url: query parameter without '='");
        }
        size_t kl = (size_t)(eq - q);
        char **dst = NULL;
        if (kl == 8 && memcmp(q, "endpoint", 8) == 0)
            dst = &u->endpoint;
        else if (kl == 5 && memcmp(q, "token", 5) == 0)
            dst = &u->session_token;
        if (!dst) {
            aw_error_set(err, AW_CONFIG,
                         "state.url: unknown parameter \"%.*s\" (valid: endpoint, token)",
                         (int)(kl > 40 ? 40 : kl), q);
            aw_ddb_url_clear(u);
            return AW_CONFIG;
        }
        free(*dst);
        *dst = decode(eq + 1, (size_t)(end - eq - 1), &bad);
        if (!*dst)
            goto fail;
        q = amp ? amp + 1 : end;
    }
    if (!u->endpoint) {
        size_t n = strlen(u->region) + 48;
        if (!(u->endpoint = malloc(n)))
            goto fail;
        snprintf(u->endpoint, n, "https://dynamodb.%s.amazonaws.com", u->region);
    } else if (strncmp(u->endpoint, "http://", 7) != 0 &&
               strncmp(u->endpoint, "https://", 8) != 0) {
        aw_ddb_url_clear(u);
        return aw_error_set(err, AW_CONFIG, "state.url: endpoint must be an http(s):// URL");
    }
    if (!u->access_key_id) {
        u->access_key_id = env_dup(env, "AWS_ACCESS_KEY_ID");
        u->secret_access_key = env_dup(env, "AWS_SECRET_ACCESS_KEY");
        if (!u->session_token)
            u->session_token = env_dup(env, "AWS_SESSION_TOKEN");
        if (!u->access_key_id || !u->secret_access_key) {
            aw_ddb_url_clear(u);
            return aw_error_set(err, AW_CONFIG,
                                "dynamodb: no AWS credentials (put KEY:SECRET@ in state.url or "
                                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
        }
    }
    return AW_OK;
no_region:
    aw_ddb_url_clear(u);
    return aw_error_set(err, AW_CONFIG, "state.url: no region (dynamodb://REGION/TABLE)");
fail:
    aw_ddb_url_clear(u);
    if (bad)
        return aw_error_set(err, AW_CONFIG, "state.url: bad percent escape");
    return aw_error_set(err, AW_NOMEM, "out of memory");
}
