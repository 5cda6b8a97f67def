/* See ddb_http.h. */
#include "backends/state/dynamodb/ddb_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    memset(c, 0, sizeof(*c));
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
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, c->sigv4);
        curl_easy_setopt(e, CURLOPT_USERNAME, c->url->access_key_id);
        curl_easy_setopt(e, CURLOPT_PASSWORD, c->url->secret_access_key);
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
    /* libcurl signs but does not add the session token: the header goes in
     * by hand (and is signed with the others). Built in a heap string: the
     * token may be long. */
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
