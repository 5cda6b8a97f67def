/* Request/response helpers shared by the HTTP backends (see http.h): one
 * place that sets the common curl options, collects the answer and maps
 * statuses, so Elasticsearch, ClickHouse and DynamoDB classify errors alike. */
#include <stdio.h>
#include <string.h>

#include "backends/http/http.h"
#include "common/aw_buf.h"

aw_status aw_http_status_class(long status)
{
    if (status >= 200 && status <= 299)
        return AW_OK;
    if (status == 408 || status == 429 || status >= 500)
        return AW_TRANSIENT;
    return AW_PERMANENT;
}

aw_status aw_http_easy_new(long connect_timeout_ms, long timeout_ms, CURL **out, aw_error *err)
{
    *out = NULL;
    if (!aw_http_global_ok())
        return aw_error_set(err, AW_INTERNAL, "http: libcurl is not initialised");
    CURL *h = curl_easy_init();
    if (!h)
        return aw_error_set(err, AW_NOMEM, "http: curl_easy_init failed");
    CURLcode cc = CURLE_OK;
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_USERAGENT, "acteon-worker/" AW_VERSION);
    if (!cc && connect_timeout_ms > 0)
        cc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    if (!cc && timeout_ms > 0)
        cc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (cc != CURLE_OK) {
        curl_easy_cleanup(h);
        return aw_error_set(err, AW_INTERNAL, "http: curl option: %s", curl_easy_strerror(cc));
    }
    *out = h;
    return AW_OK;
}

typedef struct sink {
    aw_buf *buf;
    size_t max;
    bool overflow;
} sink;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (s->buf->len + n > s->max || aw_buf_append(s->buf, data, n) != 0) {
        s->overflow = true;
        return 0; /* a short count aborts the transfer (CURLE_WRITE_ERROR) */
    }
    return n;
}

aw_status aw_http_perform(CURL *h, const char *what, const char *method, const char *url,
                          const char *content_type, const char *body, size_t body_len,
                          size_t max_resp, long *status, aw_buf *resp, aw_error *err)
{
    *status = 0;
    aw_buf_reset(resp);
    char ctype[128];
    struct curl_slist *headers = NULL, *tmp;
    if (content_type) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
        if (!(headers = curl_slist_append(NULL, ctype)))
            return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    /* "Expect: 100-continue" costs a round trip per large bulk body. */
    if (!(tmp = curl_slist_append(headers, "Expect:"))) {
        curl_slist_free_all(headers);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    headers = tmp;
    sink s = {.buf = resp, .max = max_resp};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode cc = CURLE_OK;
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_URL, url);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (!cc && body) {
        cc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        if (!cc) cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    } else if (!cc) {
        cc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* forget an earlier body */
        if (!cc) cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    if (!cc)
        cc = curl_easy_perform(h);
    /* The handle outlives this call: drop pointers to our stack. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_slist_free_all(headers);
    if (s.overflow)
        return aw_error_set(err, AW_PERMANENT, "%s: answer larger than %zu bytes", what, max_resp);
    if (cc != CURLE_OK) {
        aw_status st = aw_http_curl_status(cc);
        return aw_error_set(err, st, "%s: %s%s%.150s", what, curl_easy_strerror(cc),
                            errbuf[0] ? ": " : "", errbuf);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    return AW_OK;
}
