/* See ddb_http.h. */
#include "backends/state/dynamodb/ddb_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "backends/http/http.h"
#include "backends/state/dynamodb/ddb_parse.h"
#include "common/aw_clock.h"

aw_ddb_fault_fn aw_ddb_fault_hook;

void aw_ddb_call_clear(aw_ddb_call *c)
{
    if (!c)
        return;
    free(c->body);
    aw_buf_free(&c->resp);
    memset(c, 0, sizeof(*c));
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    aw_buf *b = ud;
    return aw_buf_append(b, p, size * n) ? 0 : size * n;
}

/* The Host header of the endpoint (host, and :port unless the scheme's
 * default), and whether we can sign for it: only with the path "/" and no
 * query (the canonical URI and query of anything else are left to
 * libcurl). Returns false if the endpoint does not parse. */
static bool endpoint_host(aw_ddb_conn *c)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, c->url->endpoint, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK;
    if (ok) {
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
        int n = snprintf(c->host, sizeof(c->host), "%s%s%s", host, port ? ":" : "",
                         port ? port : "");
        c->curl_signs = n < 0 || (size_t)n >= sizeof(c->host) || query ||
                        (path && strcmp(path, "/") != 0);
    }
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return ok;
}

aw_status aw_ddb_conn_init(aw_ddb_conn *c, const aw_ddb_url *url, int connect_timeout_ms,
                           int timeout_ms, aw_error *err)
{
    memset(c, 0, sizeof(*c));
    c->url = url;
    c->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : AW_DDB_DEFAULT_CONNECT_MS;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : AW_DDB_DEFAULT_TIMEOUT_MS;
    snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:dynamodb", url->region);
    if (!aw_http_global_ok())
        return aw_error_set(err, AW_INTERNAL, "dynamodb: libcurl could not be initialised");
    if (!endpoint_host(c))
        return aw_error_set(err, AW_CONFIG, "dynamodb: endpoint is not a valid URL");
    c->multi = curl_multi_init();
    if (!c->multi)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    /* Reuse connections across calls and batches; never more than one
     * connection per request in flight. */
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)AW_DDB_MAX_INFLIGHT);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)AW_DDB_MAX_INFLIGHT);
    return AW_OK;
}

void aw_ddb_conn_clear(aw_ddb_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < AW_DDB_MAX_INFLIGHT; i++) {
        if (c->easy[i])
            curl_easy_cleanup(c->easy[i]);
        curl_slist_free_all(c->headers[i]);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    aw_sigv4_output_clear(&c->sig);
    OPENSSL_cleanse(c->key, sizeof(c->key));
    memset(c, 0, sizeof(*c));
}

/* Append Host, X-Amz-Date and the SigV4 Authorization of call to h (which
 * holds the Content-Type, X-Amz-Target and maybe X-Amz-Security-Token
 * lines). Returns the list, or NULL when out of memory (h is then the
 * caller's to free). Signs every header sent but curl's own
 * Content-Length, Accept and User-Agent (none is needed in SigV4). */
static struct curl_slist *sign(aw_ddb_conn *c, struct curl_slist *h, const aw_ddb_call *call)
{
    char amz_date[20], names[3][64], line[1024];
    struct tm tm;
    time_t now = time(NULL);
    if (!gmtime_r(&now, &tm) || strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16)
        return NULL;
    if (memcmp(c->key_date, amz_date, 8) != 0) {
        memcpy(c->key_date, amz_date, 8);
        if (aw_sigv4_signing_key(c->url->secret_access_key, c->key_date, c->url->region,
                                 "dynamodb", c->key)) {
            c->key_date[0] = '\0';
            return NULL;
        }
    }
    aw_sigv4_header hs[5];
    size_t nh = 0;
    for (struct curl_slist *l = h; l && nh < 3; l = l->next) {
        const char *colon = strchr(l->data, ':');
        size_t n = colon ? (size_t)(colon - l->data) : 0;
        if (!n || n >= 64)
            return NULL;
        memcpy(names[nh], l->data, n);
        names[nh][n] = '\0';
        hs[nh] = (aw_sigv4_header){names[nh], colon + 1};
        nh++;
    }
    hs[nh++] = (aw_sigv4_header){"host", c->host};
    hs[nh++] = (aw_sigv4_header){"x-amz-date", amz_date};
    aw_sigv4_input in = {.method = "POST", .path = "/", .query = "", .headers = hs,
                         .nheaders = nh, .payload = call->body,
                         .payload_len = strlen(call->body), .amz_date = amz_date,
                         .region = c->url->region, .service = "dynamodb",
                         .access_key_id = c->url->access_key_id};
    if (aw_sigv4_sign_with_key(&in, c->key, &c->sig))
        return NULL;
    char host[sizeof(c->host) + 8], date[40];
    snprintf(host, sizeof(host), "Host: %s", c->host);
    snprintf(date, sizeof(date), "X-Amz-Date: %s", amz_date);
    int n = snprintf(line, sizeof(line), "Authorization: %s", c->sig.authorization.data);
    if (n < 0 || (size_t)n >= sizeof(line))
        return NULL;
    struct curl_slist *l1 = curl_slist_append(h, host);
    struct curl_slist *l2 = l1 ? curl_slist_append(l1, date) : NULL;
    return l2 ? curl_slist_append(l2, line) : NULL;
}

/* Prepare pool slot i for call: options that differ per call. */
static aw_status slot_setup(aw_ddb_conn *c, size_t i, aw_ddb_call *call, aw_error *err)
{
    CURL *e = c->easy[i];
    if (!e) {
        e = c->easy[i] = curl_easy_init();
        if (!e)
            return aw_error_set(err, AW_NOMEM, "out of memory");
        curl_easy_setopt(e, CURLOPT_URL, c->url->endpoint);
        if (c->curl_signs) {
            curl_easy_setopt(e, CURLOPT_AWS_SIGV4, c->sigv4);
            curl_easy_setopt(e, CURLOPT_USERNAME, c->url->access_key_id);
            curl_easy_setopt(e, CURLOPT_PASSWORD, c->url->secret_access_key);
        }
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    }
    curl_slist_free_all(c->headers[i]);
    c->headers[i] = NULL;
    char target[64];
    snprintf(target, sizeof(target), "X-Amz-Target: DynamoDB_20120810.%s", call->op);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.0");
    struct curl_slist *h2 = h ? curl_slist_append(h, target) : NULL;
    h = h2 ? h2 : h;
    /* The session token header goes in by hand (libcurl's signing does not
     * add it either) and is signed with the others. Built in a heap string:
     * the token may be long. */
    if (h2 && c->url->session_token) {
        size_t n = strlen(c->url->session_token) + 32;
        char *t = malloc(n);
        h2 = NULL;
        if (t) {
            snprintf(t, n, "X-Amz-Security-Token: %s", c->url->session_token);
            h2 = curl_slist_append(h, t);
            free(t);
        }
    }
    if (h2 && !c->curl_signs)
        h2 = sign(c, h2, call);
    if (!h2) {
        curl_slist_free_all(h);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    c->headers[i] = h2;
    aw_buf_reset(&call->resp);
    call->cc = CURLE_OK;
    call->http_status = 0;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h2);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(call->body));
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &call->resp);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    return AW_OK;
}

/* Run calls[0..n) through a sliding window of AW_DDB_MAX_INFLIGHT
 * requests in flight: a finished request's easy handle takes the next call
 * at once. A window (rather than all n at once) bounds the queue this
 * session builds at the server, so the other requests there (another
 * thread's lease renewal) wait behind at most that many of ours. */
static aw_status run_window(aw_ddb_conn *c, aw_ddb_call **calls, size_t n, aw_error *err)
{
    size_t free_slots[AW_DDB_MAX_INFLIGHT], nfree = 0, next = 0;
    int active = 0;
    aw_status rc = AW_OK;
    for (size_t i = AW_DDB_MAX_INFLIGHT; i > 0; i--)
        free_slots[nfree++] = i - 1;
    while (rc == AW_OK) {
        while (next < n && nfree > 0 && rc == AW_OK) {
            aw_ddb_call *call = calls[next++];
            long st = 0;
            const char *body = NULL;
            if (aw_ddb_fault_hook && aw_ddb_fault_hook(call->op, &st, &body)) {
                aw_buf_reset(&call->resp);
                call->cc = CURLE_OK;
                call->http_status = st;
                if (body && aw_buf_puts(&call->resp, body))
                    rc = aw_error_set(err, AW_NOMEM, "out of memory");
                continue;
            }
            size_t slot = free_slots[--nfree];
            if ((rc = slot_setup(c, slot, call, err)) != AW_OK) {
                free_slots[nfree++] = slot;
                break;
            }
            call->slot = (int)slot;
            if (curl_multi_add_handle(c->multi, c->easy[slot]) != CURLM_OK) {
                free_slots[nfree++] = slot;
                rc = aw_error_set(err, AW_INTERNAL, "dynamodb: curl_multi_add_handle failed");
                break;
            }
            active++;
            c->requests++;
        }
        if (active == 0)
            break;
        int running = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        CURLMsg *m;
        int left;
        while (mc == CURLM_OK && (m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            aw_ddb_call *call = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
            call->cc = m->data.result;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &call->http_status);
            curl_multi_remove_handle(c->multi, m->easy_handle);
            free_slots[nfree++] = (size_t)call->slot;
            active--;
        }
        if (mc == CURLM_OK && active > 0 && (next >= n || nfree == 0))
            mc = curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK)
            rc = aw_error_set(err, AW_INTERNAL, "dynamodb: curl multi: %s",
                              curl_multi_strerror(mc));
    }
    /* After an error: detach whatever is still attached (the pool keeps
     * the handles; their calls count as failed transport). */
    for (size_t i = 0; rc != AW_OK && i < AW_DDB_MAX_INFLIGHT; i++)
        if (c->easy[i])
            curl_multi_remove_handle(c->multi, c->easy[i]);
    return rc;
}

static bool call_throttled(const aw_ddb_call *call)
{
    bool thr = false;
    if (call->cc != CURLE_OK)
        return false;
    aw_ddb_classify(call->http_status, call->resp.data, call->resp.len, &thr, NULL, 0, NULL);
    return thr;
}

aw_status aw_ddb_run(aw_ddb_conn *c, aw_ddb_call *calls, size_t n, aw_error *err)
{
    /* Throttling: resend the calls the server refused unapplied, after 20,
     * 60, 180 ms; the caller's backoff handles the rest. */
    static const int backoff_ms[] = {0, 20, 60, 180};
    aw_ddb_call **ptrs = n ? malloc(n * sizeof(*ptrs)) : NULL;
    if (n && !ptrs)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &calls[i];
    size_t k = n;
    aw_status rc = AW_OK;
    for (size_t attempt = 0; attempt < 4 && k > 0 && rc == AW_OK; attempt++) {
        if (attempt) {
            aw_sleep_ms(backoff_ms[attempt]);
            c->retries += k;
        }
        rc = run_window(c, ptrs, k, err);
        size_t j = 0;
        for (size_t i = 0; i < k && rc == AW_OK; i++)
            if (call_throttled(ptrs[i]))
                ptrs[j++] = ptrs[i];
        k = j;
    }
    free(ptrs);
    return rc;
}

aw_status aw_ddb_call_status(const aw_ddb_call *call, aw_error *err)
{
    if (call->cc != CURLE_OK) {
        aw_status st = aw_http_curl_status(call->cc);
        return aw_error_set(err, st, "dynamodb %s: %s", call->op, curl_easy_strerror(call->cc));
    }
    return aw_ddb_classify(call->http_status, call->resp.data, call->resp.len, NULL, NULL, 0,
                           err);
}

aw_status aw_ddb_do(aw_ddb_conn *c, aw_ddb_call *call, const char *op, char *body,
                    aw_error *err)
{
    aw_ddb_call_clear(call);
    call->op = op;
    call->body = body;
    if (!body)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = aw_ddb_run(c, call, 1, err);
    return rc != AW_OK ? rc : aw_ddb_call_status(call, err);
}
