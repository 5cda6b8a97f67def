#include "backends/clickhouse/ch_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/http/http.h"
#include "common/aw_log.h"

/* ---- URL ------------------------------------------------------------------ */

static bool db_name_ok(const char *s)
{
    if (!*s || strlen(s) >= AW_CH_DB_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* The database of an http(s) URL: the only query parameter we accept. */
static aw_status query_database(const char *query, char *db, size_t dbsz, const char *setting,
                                const char *where, aw_error *err)
{
    if (!query || !*query)
        return AW_OK;
    if (strncmp(query, "database=", 9) != 0 || strchr(query, '&'))
        return aw_error_set(err, AW_CONFIG,
                            "%s %s: the only query parameter understood is database=NAME",
                            setting, where);
    snprintf(db, dbsz, "%s", query + 9);
    return AW_OK;
}

static char *url_part(CURLU *u, CURLUPart part, unsigned flags)
{
    char *v = NULL;
    return curl_url_get(u, part, &v, flags) == CURLUE_OK ? v : NULL;
}

aw_status aw_ch_config_parse(const char *setting, const char *url, int connect_timeout_ms,
                             int request_timeout_ms, aw_ch_config *cfg, aw_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    url = url ? url : "";
    aw_redact_url(url, cfg->where, sizeof(cfg->where));
    cfg->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 5000;
    cfg->request_timeout_ms = request_timeout_ms > 0 ? request_timeout_ms : 30000;
    snprintf(cfg->database, sizeof(cfg->database), "default");
    aw_status rc = AW_OK;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    char *user = NULL, *pass = NULL;
    CURLU *u = curl_url();
    if (!u)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    if (!*url || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        rc = aw_error_set(err, AW_CONFIG,
                          "%s \"%s\": not a URL (want clickhouse://[user[:password]@]"
                          "host[:port]/database or http://host:port/?database=NAME)",
                          setting, cfg->where);
        goto out;
    }
    scheme = url_part(u, CURLUPART_SCHEME, 0);
    host = url_part(u, CURLUPART_HOST, 0);
    port = url_part(u, CURLUPART_PORT, 0);
    path = url_part(u, CURLUPART_PATH, CURLU_URLDECODE);
    query = url_part(u, CURLUPART_QUERY, CURLU_URLDECODE);
    user = url_part(u, CURLUPART_USER, CURLU_URLDECODE);
    pass = url_part(u, CURLUPART_PASSWORD, CURLU_URLDECODE);
    bool tls;
    bool native = false;
    if (scheme && strcmp(scheme, "clickhouse") == 0) {
        tls = false;
        native = true;
    } else if (scheme && strcmp(scheme, "clickhouses") == 0) {
        tls = native = true;
    } else if (scheme && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
        tls = scheme[4] == 's';
    } else {
        rc = aw_error_set(err, AW_CONFIG,
                          "%s %s: scheme must be clickhouse, clickhouses, http or https",
                          setting, cfg->where);
        goto out;
    }
    if (!host || !*host) {
        rc = aw_error_set(err, AW_CONFIG, "%s %s: no host", setting, cfg->where);
        goto out;
    }
    if (native) {
        const char *p = path ? path : "";
        while (*p == '/')
            p++;
        if (*p)
            snprintf(cfg->database, sizeof(cfg->database), "%s", p);
        if (query && *query) {
            rc = aw_error_set(err, AW_CONFIG, "%s %s: no query parameters expected", setting,
                              cfg->where);
            goto out;
        }
    } else {
        if (path && strcmp(path, "/") != 0 && *path) {
            rc = aw_error_set(err, AW_CONFIG,
                              "%s %s: the path must be / (database=NAME goes in the "
                              "query)",
                              setting, cfg->where);
            goto out;
        }
        if ((rc = query_database(query, cfg->database, sizeof(cfg->database), setting,
                                 cfg->where, err)) != AW_OK)
            goto out;
    }
    if (!db_name_ok(cfg->database)) {
        rc = aw_error_set(err, AW_CONFIG, "%s %s: database name must be [A-Za-z0-9_]+",
                          setting, cfg->where);
        goto out;
    }
    if ((user && strlen(user) >= sizeof(cfg->user)) ||
        (pass && strlen(pass) >= sizeof(cfg->password))) {
        rc = aw_error_set(err, AW_CONFIG, "%s %s: user or password too long", setting,
                          cfg->where);
        goto out;
    }
    snprintf(cfg->user, sizeof(cfg->user), "%s", user ? user : "");
    snprintf(cfg->password, sizeof(cfg->password), "%s", pass ? pass : "");
    int n = snprintf(cfg->base_url, sizeof(cfg->base_url), "%s://%s:%s/?database=%s",
                     tls ? "https" : "http", host, port ? port : (tls ? "8443" : "8123"),
                     cfg->database);
    if (n < 0 || (size_t)n >= sizeof(cfg->base_url))
        rc = aw_error_set(err, AW_CONFIG, "%s %s: too long", setting, cfg->where);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return rc;
}

/* ---- errors --------------------------------------------------------------- */

int aw_ch_error_code(const char *body)
{
    const char *p = body ? strstr(body, "Code: ") : NULL;
    if (!p || !isdigit((unsigned char)p[6]))
        return -1;
    return (int)strtol(p + 6, NULL, 10);
}

aw_status aw_ch_error_status(long http_status, const char *body)
{
    switch (aw_ch_error_code(body)) {
    case 159: /* TIMEOUT_EXCEEDED */
    case 160: /* TOO_SLOW */
    case 202: /* TOO_MANY_SIMULTANEOUS_QUERIES */
    case 203: /* NO_FREE_CONNECTION */
    case 209: /* SOCKET_TIMEOUT */
    case 210: /* NETWORK_ERROR */
    case 241: /* MEMORY_LIMIT_EXCEEDED */
    case 242: /* TABLE_IS_READ_ONLY */
    case 252: /* TOO_MANY_PARTS */
    case 319: /* UNKNOWN_STATUS_OF_INSERT */
    case 394: /* QUERY_WAS_CANCELLED */
    case 425: /* SYSTEM_ERROR */
    case 473: /* DEADLOCK_AVOIDED */
        return AW_TRANSIENT;
    case 60:  /* UNKNOWN_TABLE */
    case 81:  /* UNKNOWN_DATABASE */
    case 192: /* UNKNOWN_USER */
    case 193: /* WRONG_PASSWORD */
    case 194: /* REQUIRED_PASSWORD */
    case 195: /* IP_ADDRESS_NOT_ALLOWED */
    case 497: /* ACCESS_DENIED */
    case 516: /* AUTHENTICATION_FAILED */
        return AW_CONFIG;
    case -1:
        return http_status == 429 || http_status >= 500 ? AW_TRANSIENT : AW_PERMANENT;
    default:
        return AW_PERMANENT;
    }
}

/* ---- the request ------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    aw_buf *b = ud;
    return aw_buf_append(b, p, size * nmemb) == 0 ? size * nmemb : 0;
}

aw_status aw_ch_conn_open(aw_ch_conn *c, const aw_ch_config *cfg, aw_error *err)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    if (!aw_http_global_ok())
        return aw_error_set(err, AW_INTERNAL, "clickhouse: libcurl is not initialised");
    if (!(c->h = curl_easy_init()))
        return aw_error_set(err, AW_NOMEM, "clickhouse: cannot create a CURL handle");
    curl_easy_setopt(c->h, CURLOPT_URL, cfg->base_url);
    curl_easy_setopt(c->h, CURLOPT_POST, 1L);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, cfg->request_timeout_ms);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &c->resp);
    if (cfg->user[0]) {
        curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c->h, CURLOPT_USERNAME, cfg->user);
        curl_easy_setopt(c->h, CURLOPT_PASSWORD, cfg->password);
    }
    return AW_OK;
}

void aw_ch_conn_close(aw_ch_conn *c)
{
    if (!c)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    c->h = NULL;
    aw_buf_free(&c->resp);
    aw_buf_free(&c->ext);
}

/* Run the request set up on c->h; map a failure. */
static aw_status perform(aw_ch_conn *c, const char *what, aw_error *err)
{
    aw_buf_reset(&c->resp);
    CURLcode cc = curl_easy_perform(c->h);
    if (cc != CURLE_OK) {
        aw_status st = aw_http_curl_status(cc);
        return aw_error_set(err, st, "clickhouse %s: %s: %s", c->cfg->where, what,
                            curl_easy_strerror(cc));
    }
    long status = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200)
        return AW_OK;
    const char *text = c->resp.data ? c->resp.data : "";
    aw_status st = aw_ch_error_status(status, text);
    const char *hint = st == AW_CONFIG && (aw_ch_error_code(text) == 60 ||
                                           aw_ch_error_code(text) == 81)
                           ? " (run acteon-worker migrate -c FILE)"
                           : "";
    /* First line of the exception only, without the trailing newline. */
    int n = (int)strcspn(text, "\r\n");
    return aw_error_set(err, st, "clickhouse %s: %s: HTTP %ld: %.*s%s", c->cfg->where, what,
                        status, n > 160 ? 160 : n, text, hint);
}

aw_status aw_ch_request(aw_ch_conn *c, const char *body, size_t len, const char *what,
                        aw_error *err)
{
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    return perform(c, what, err);
}

#define CH_EXT_BOUNDARY "aw-clickhouse-external-table-7c1f0e"

/* base_url&query=Q&TABLE_structure=S, URL-escaped. */
static int ext_url(CURL *h, aw_buf *u, const char *base, const char *query, const char *table,
                   const char *structure)
{
    char *q = curl_easy_escape(h, query, 0), *st = curl_easy_escape(h, structure, 0);
    int rc = !q || !st ||
             aw_buf_printf(u, "%s&query=%s&%s_structure=%s", base, q, table, st) != 0;
    curl_free(q);
    curl_free(st);
    return rc ? -1 : 0;
}

aw_status aw_ch_request_ext(aw_ch_conn *c, const char *query, const char *table,
                            const char *structure, const char *rows, size_t len,
                            const char *what, aw_error *err)
{
    aw_buf url = {0};
    aw_buf_reset(&c->ext);
    struct curl_slist *hdr =
        curl_slist_append(NULL, "Content-Type: multipart/form-data; boundary=" CH_EXT_BOUNDARY);
    if (!hdr || ext_url(c->h, &url, c->cfg->base_url, query, table, structure) != 0 ||
        aw_buf_printf(&c->ext,
                      "--" CH_EXT_BOUNDARY "\r\nContent-Disposition: form-data; name=\"%s\"; "
                      "filename=\"%s\"\r\n\r\n",
                      table, table) != 0 ||
        aw_buf_append(&c->ext, rows, len) != 0 ||
        aw_buf_puts(&c->ext, "\r\n--" CH_EXT_BOUNDARY "--\r\n") != 0) {
        curl_slist_free_all(hdr);
        aw_buf_free(&url);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    curl_easy_setopt(c->h, CURLOPT_URL, url.data);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->ext.data);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->ext.len);
    aw_status rc = perform(c, what, err);
    /* back to the plain requests of aw_ch_request (the connection stays) */
    curl_easy_setopt(c->h, CURLOPT_URL, c->cfg->base_url);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    aw_buf_free(&url);
    return rc;
}
