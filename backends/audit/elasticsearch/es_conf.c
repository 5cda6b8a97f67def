/* URL and options of the Elasticsearch audit backend (see es_conf.h).
 * libcurl's URL parser splits the URL, so the parsing rules are the same as
 * the ones libcurl applies when it sends the requests. */
#include "backends/audit/elasticsearch/es_conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/aw_buf.h"

void aw_es_conf_clear(es_conf *c)
{
    if (!c)
        return;
    free(c->base);
    free(c->user);
    if (c->password) /* do not leave the secret in freed memory */
        memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->ca_path);
    memset(c, 0, sizeof(*c));
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decode (and '+' = space) src[0..n) into out; -1 on a bad escape,
 * an embedded NUL or no room. */
static int pct_decode(const char *src, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        if (ch == '%') {
            int a = i + 2 < n ? hexval(src[i + 1]) : -1;
            int b = i + 2 < n ? hexval(src[i + 2]) : -1;
            if (a < 0 || b < 0 || (a == 0 && b == 0))
                return -1;
            ch = (char)(a * 16 + b);
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (o + 1 >= outsz)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_onoff(const char *s, bool *out)
{
    if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "1"))
        *out = true;
    else if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "0"))
        *out = false;
    else
        return -1;
    return 0;
}

static bool index_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ES_INDEX_MAX || s[0] == '-' || s[0] == '_' || s[0] == '.' || s[0] == '+')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '.' ||
              s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

#define ES_OPTIONS \
    "index, refresh, ilm, drop_indices, dedup_across_days, ca, retries, backoff_ms, shards, " \
    "replicas"

/* One "key=value" option (already decoded). */
static aw_status apply_option(es_conf *c, const char *key, const char *val, aw_error *err)
{
    if (strcmp(key, "index") == 0) {
        if (!index_name_ok(val))
            return aw_error_set(err, AW_CONFIG,
                                "audit.url: index \"%.64s\": use 1..%d lowercase letters, digits, "
                                "'.', '_' or '-', not starting with '-', '_' or '.'",
                                val, ES_INDEX_MAX);
        snprintf(c->index, sizeof(c->index), "%.200s", val); /* checked: fits */
    } else if (strcmp(key, "refresh") == 0) {
        if (strcmp(val, "false") && strcmp(val, "true") && strcmp(val, "wait_for"))
            return aw_error_set(err, AW_CONFIG,
                                "audit.url: refresh must be false, true or wait_for");
        snprintf(c->refresh, sizeof(c->refresh), "%.15s", val); /* checked: <= 8 bytes */
    } else if (strcmp(key, "ilm") == 0) {
        if (parse_onoff(val, &c->ilm))
            return aw_error_set(err, AW_CONFIG, "audit.url: ilm must be on or off");
    } else if (strcmp(key, "drop_indices") == 0) {
        if (parse_onoff(val, &c->drop_indices))
            return aw_error_set(err, AW_CONFIG, "audit.url: drop_indices must be on or off");
    } else if (strcmp(key, "dedup_across_days") == 0) {
        if (parse_onoff(val, &c->dedup_across_days))
            return aw_error_set(err, AW_CONFIG,
                                "audit.url: dedup_across_days must be on or off");
    } else if (strcmp(key, "ca") == 0) {
        free(c->ca_path);
        if (!(c->ca_path = strdup(val)))
            return aw_error_set(err, AW_NOMEM, "out of memory");
    } else if (strcmp(key, "retries") == 0) {
        if (parse_int(val, 0, 10, &c->retries))
            return aw_error_set(err, AW_CONFIG, "audit.url: retries must be 0..10");
    } else if (strcmp(key, "backoff_ms") == 0) {
        if (parse_int(val, 1, 10000, &c->backoff_ms))
            return aw_error_set(err, AW_CONFIG, "audit.url: backoff_ms must be 1..10000");
    } else if (strcmp(key, "shards") == 0) {
        if (parse_int(val, 1, 1024, &c->shards))
            return aw_error_set(err, AW_CONFIG, "audit.url: shards must be 1..1024");
    } else if (strcmp(key, "replicas") == 0) {
        if (parse_int(val, 0, 16, &c->replicas))
            return aw_error_set(err, AW_CONFIG, "audit.url: replicas must be 0..16");
    } else {
        return aw_error_set(err, AW_CONFIG, "audit.url: unknown option \"%.40s\" (valid: %s)",
                            key, ES_OPTIONS);
    }
    return AW_OK;
}

static aw_status parse_query(es_conf *c, const char *q, aw_error *err)
{
    while (q && *q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        char key[32], val[1024];
        if (n > 0) {
            if (!eq || pct_decode(q, (size_t)(eq - q), key, sizeof(key)) ||
                pct_decode(eq + 1, n - (size_t)(eq - q) - 1, val, sizeof(val)))
                return aw_error_set(err, AW_CONFIG,
                                    "audit.url: malformed option near \"%.*s\" (want key=value)",
                                    (int)(n > 40 ? 40 : n), q);
            aw_status rc = apply_option(c, key, val, err);
            if (rc != AW_OK)
                return rc;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return AW_OK;
}

/* scheme://host[:port][/path] with the path's trailing '/' removed. */
static aw_status build_base(es_conf *c, CURLU *u, aw_error *err)
{
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    aw_status rc = AW_OK;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0)) {
        rc = aw_error_set(err, AW_CONFIG, "audit.url: needs http(s)://host[:port]");
        goto out;
    }
    if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
        rc = aw_error_set(err, AW_CONFIG, "audit.url: scheme must be http or https");
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    aw_buf b = {0};
    int bad = aw_buf_printf(&b, "%s://%s", scheme, host);
    if (port)
        bad |= aw_buf_printf(&b, ":%s", port);
    if (path)
        bad |= aw_buf_puts(&b, path);
    if (bad) {
        aw_buf_free(&b);
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
        goto out;
    }
    while (b.len > 0 && b.data[b.len - 1] == '/')
        b.data[--b.len] = '\0';
    c->base = aw_buf_steal(&b);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    return rc;
}

aw_status aw_es_conf_parse(const char *url, es_conf *c, aw_error *err)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->index, sizeof(c->index), "%s", ES_DEFAULT_INDEX);
    snprintf(c->refresh, sizeof(c->refresh), "false");
    c->drop_indices = true;
    c->dedup_across_days = true;
    c->retries = 3;
    c->backoff_ms = 100;
    c->shards = 1;
    c->replicas = 1;
    if (!url || !*url)
        return aw_error_set(err, AW_CONFIG, "audit.url: required for the elasticsearch backend "
                                            "(http://host:9200/?index=acteon-audit)");
    CURLU *u = curl_url();
    if (!u)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = AW_OK;
    char *query = NULL, *user = NULL, *pw = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        rc = aw_error_set(err, AW_CONFIG, "audit.url: not a valid URL");
        goto out;
    }
    if ((rc = build_base(c, u, err)) != AW_OK)
        goto out;
    curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE);
    curl_url_get(u, CURLUPART_PASSWORD, &pw, CURLU_URLDECODE);
    if ((user && !(c->user = strdup(user))) || (pw && !(c->password = strdup(pw)))) {
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
        goto out;
    }
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    rc = parse_query(c, query, err);
out:
    if (pw)
        memset(pw, 0, strlen(pw));
    curl_free(pw);
    curl_free(user);
    curl_free(query);
    curl_url_cleanup(u);
    if (rc != AW_OK)
        aw_es_conf_clear(c);
    return rc;
}

void aw_es_index_for(const es_conf *c, int64_t ms, char *out, size_t outsz)
{
    /* Floor division, so a (bogus) pre-1970 time still maps to one day.
     * Never negate ms: completed_at comes from replies anyone can write, and
     * -INT64_MIN overflows (found by tests/fuzz/fuzz_es_conf.c). */
    time_t secs = (time_t)(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) { /* year beyond int: not with a 64-bit time_t; keeps tm set */
        secs = 0;
        gmtime_r(&secs, &tm);
    }
    snprintf(out, outsz, "%s-%04d.%02d.%02d", c->index, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
}

int aw_es_index_day(const es_conf *c, const char *name, int64_t *day_start_ms)
{
    size_t n = strlen(c->index);
    if (strncmp(name, c->index, n) != 0 || name[n] != '-' || strlen(name + n + 1) != 10)
        return -1;
    const char *d = name + n + 1; /* YYYY.MM.DD */
    for (int i = 0; i < 10; i++)
        if ((i == 4 || i == 7) ? d[i] != '.' : !isdigit((unsigned char)d[i]))
            return -1;
    struct tm tm = {0};
    tm.tm_year = atoi(d) - 1900;
    tm.tm_mon = atoi(d + 5) - 1;
    tm.tm_mday = atoi(d + 8);
    time_t t = timegm(&tm);
    char back[ES_INDEX_MAX + 16];
    aw_es_index_for(c, (int64_t)t * 1000, back, sizeof(back));
    if (t == (time_t)-1 || strcmp(back, name) != 0) /* 2026.02.30 is not a day */
        return -1;
    *day_start_ms = (int64_t)t * 1000;
    return 0;
}
