/* Provider "webhook": one HTTP POST of the original action JSON per attempt.
 *
 * Request: POST <url>, body = the message bytes exactly as consumed, headers
 *   Content-Type: application/json
 *   X-Acteon-Action-Id, X-Acteon-Fencing-Token, X-Acteon-Attempt
 *   Idempotency-Key: the dedup identity (ns:tenant:key)
 *   traceparent, tracestate: passed through when the action carries them.
 * The fencing token lets the receiver refuse a stale holder whose lease was
 * taken over (contracts section 1); the idempotency key lets it drop the
 * duplicate such a takeover can cause.
 *
 * Result: 2xx ok; 408, 429, 5xx retriable "http_<status>"; any other status
 * (redirects are not followed) non-retriable "http_<status>"; a timeout is
 * retriable "timeout"; refused, unresolvable or reset connections are
 * retriable "connect" (backends/http maps the libcurl codes).
 *
 * Threads: the provider is immutable after create and shared; a session owns
 * one CURL easy handle and is used by one worker thread at a time, so the
 * handle's connection cache gives keep-alive reuse without locking. */
#include "worker/provider.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/http/http.h"
#include "common/aw_log.h"

/* Bytes of an error answer kept for the result's message. */
#define WEBHOOK_RESP_KEEP 200
/* Connecting gets at most this long, even with a generous total timeout: a
 * host that does not answer a SYN within 3 s is down, not slow. */
#define WEBHOOK_CONNECT_TIMEOUT_MAX_MS 3000L
/* One "Name: value" header line; longer values are refused. */
#define WEBHOOK_HEADER_MAX 2048

typedef struct webhook_provider {
    char *name;
    char *url;              /* may hold credentials: never logged */
    char *ca_file;          /* NULL: the system's CA bundle */
    char url_safe[512];     /* aw_redact_url(url): the only form that is logged */
    long timeout_ms;
    long connect_timeout_ms;
} webhook_provider;

typedef struct webhook_session {
    const webhook_provider *p;
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
    char resp[WEBHOOK_RESP_KEEP + 1]; /* first bytes of the answer body */
    size_t resp_len;
} webhook_session;

/* ---- create / destroy ---------------------------------------------------- */

static bool url_scheme_ok(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static aw_status webhook_check_config(const aw_provider_config *cfg, aw_error *err)
{
    const char *name = cfg->name ? cfg->name : "?";
    if (!cfg->url || !cfg->url[0])
        return aw_error_set(err, AW_CONFIG, "providers.%s.url: required for type webhook", name);
    if (!url_scheme_ok(cfg->url))
        return aw_error_set(err, AW_CONFIG, "providers.%s.url: must start with http:// or https://",
                            name);
    if (cfg->timeout_ms <= 0)
        return aw_error_set(err, AW_CONFIG, "providers.%s.timeout_ms: must be > 0 (got %d)", name,
                            cfg->timeout_ms);
    return AW_OK;
}

static void webhook_destroy(void *provider)
{
    webhook_provider *p = provider;
    if (!p)
        return;
    free(p->name);
    free(p->url);
    free(p->ca_file);
    free(p);
}

static aw_status webhook_create(const aw_provider_config *cfg, void **provider, aw_error *err)
{
    *provider = NULL;
    aw_status rc = webhook_check_config(cfg, err);
    if (rc != AW_OK)
        return rc;
    /* A safety net: main() initialises libcurl before threads start. */
    if (!aw_http_global_ok())
        return aw_error_set(err, AW_INTERNAL, "libcurl initialisation failed");

    webhook_provider *p = calloc(1, sizeof(*p));
    if (!p)
        goto nomem;
    p->name = strdup(cfg->name ? cfg->name : "webhook");
    p->url = strdup(cfg->url);
    if (!p->name || !p->url)
        goto nomem;
    if (cfg->ca_file && cfg->ca_file[0] && !(p->ca_file = strdup(cfg->ca_file)))
        goto nomem;
    aw_redact_url(cfg->url, p->url_safe, sizeof(p->url_safe));
    p->timeout_ms = cfg->timeout_ms;
    p->connect_timeout_ms = p->timeout_ms < WEBHOOK_CONNECT_TIMEOUT_MAX_MS
                                ? p->timeout_ms
                                : WEBHOOK_CONNECT_TIMEOUT_MAX_MS;
    AW_INFO("provider.webhook", "provider %s: POST %s (timeout %ld ms)", p->name, p->url_safe,
            p->timeout_ms);
    *provider = p;
    return AW_OK;
nomem:
    webhook_destroy(p);
    return aw_error_set(err, AW_NOMEM, "out of memory");
}

/* ---- sessions ------------------------------------------------------------ */

/* Keep the first WEBHOOK_RESP_KEEP bytes of the answer, drop the rest. */
static size_t webhook_on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    webhook_session *s = ud;
    size_t n = size * nmemb;
    size_t room = WEBHOOK_RESP_KEEP - s->resp_len;
    size_t take = n < room ? n : room;
    memcpy(s->resp + s->resp_len, data, take);
    s->resp_len += take;
    s->resp[s->resp_len] = '\0';
    return n; /* everything "consumed": a short count would abort the transfer */
}

/* The options that stay the same for every call of the session. */
static CURLcode webhook_configure(webhook_session *s)
{
    CURL *h = s->curl;
    const webhook_provider *p = s->p;
    CURLcode cc = CURLE_OK;
    /* Timeouts via signals (SIGALRM) are not thread-safe. */
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_URL, p->url);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* A redirect would re-send the action somewhere the operator did not
     * configure; it is reported as a non-retriable failure instead. */
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_POST, 1L);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, p->timeout_ms);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!cc && p->ca_file)
        cc = curl_easy_setopt(h, CURLOPT_CAINFO, p->ca_file);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_USERAGENT, "acteon-worker/" AW_VERSION);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, webhook_on_body);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    return cc;
}

static void webhook_session_close(void *session)
{
    webhook_session *s = session;
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s);
}

static aw_status webhook_session_open(void *provider, void **session, aw_error *err)
{
    *session = NULL;
    webhook_session *s = calloc(1, sizeof(*s));
    if (!s)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc;
    s->p = provider;
    s->curl = curl_easy_init();
    if (!s->curl) {
        rc = aw_error_set(err, AW_NOMEM, "curl_easy_init failed");
        goto fail;
    }
    CURLcode cc = webhook_configure(s);
    if (cc != CURLE_OK) {
        rc = aw_error_set(err, AW_INTERNAL, "webhook %s: curl option: %s", s->p->name,
                          curl_easy_strerror(cc));
        goto fail;
    }
    *session = s;
    return AW_OK;
fail:
    webhook_session_close(s);
    return rc;
}

/* ---- one call ------------------------------------------------------------ */

/* A header value must not carry CR or LF (they would end the header and let
 * the value inject others) nor any other control byte. The schema already
 * refuses them in ids; this is the last line of defence. */
static bool header_value_ok(const char *v)
{
    if (!v || !*v)
        return false;
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* Append "name: value"; -1 when out of memory or too long. An empty value
 * gives "name:", which tells libcurl to leave out a header it adds itself. */
static int header_add(struct curl_slist **list, const char *name, const char *value)
{
    char line[WEBHOOK_HEADER_MAX];
    int n = snprintf(line, sizeof(line), value[0] ? "%s: %s" : "%s:%s", name, value);
    if (n < 0 || (size_t)n >= sizeof(line))
        return -1;
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return -1;
    *list = l;
    return 0;
}

static void result_refuse(aw_provider_result *res, const char *provider, const char *what)
{
    res->ok = false;
    res->retriable = false; /* the same action would be refused again */
    snprintf(res->error_code, sizeof(res->error_code), "invalid_header");
    snprintf(res->error, sizeof(res->error), "%s: %s; request not sent", provider, what);
}

/* Optional trace headers: a bad one is dropped, not fatal: tracing data must
 * never stop the action itself. */
static int add_trace_header(struct curl_slist **list, const webhook_provider *p,
                            const char *name, const char *value)
{
    if (!value)
        return 0;
    if (!header_value_ok(value) || strlen(value) > AW_ACTION_MAX_TRACE_LEN) {
        AW_WARN("provider.webhook", "provider %s: %s dropped (control characters or too long)",
                p->name, name);
        return 0;
    }
    return header_add(list, name, value);
}

/* Build the request headers. Returns AW_OK; AW_PERMANENT with res filled when
 * a required value cannot be sent safely; AW_NOMEM. */
static aw_status build_headers(const webhook_session *s, const aw_provider_call *call,
                               struct curl_slist **out, aw_provider_result *res)
{
    const aw_action *a = call->action;
    if (!header_value_ok(a->id) || strlen(a->id) > AW_ACTION_MAX_ID_LEN) {
        result_refuse(res, s->p->name, "action id is empty, too long or holds control characters");
        return AW_PERMANENT;
    }
    if (!header_value_ok(call->identity) || strlen(call->identity) > WEBHOOK_HEADER_MAX / 2) {
        result_refuse(res, s->p->name, "identity is empty, too long or holds control characters");
        return AW_PERMANENT;
    }
    char token[24], attempt[16];
    snprintf(token, sizeof(token), "%" PRIu64, call->fencing_token);
    snprintf(attempt, sizeof(attempt), "%d", call->attempt);
    struct curl_slist *l = NULL;
    /* "Expect:" turns off curl's 100-continue round trip for larger bodies. */
    if (header_add(&l, "Content-Type", "application/json") || header_add(&l, "Expect", "") ||
        header_add(&l, "X-Acteon-Action-Id", a->id) ||
        header_add(&l, "X-Acteon-Fencing-Token", token) ||
        header_add(&l, "Idempotency-Key", call->identity) ||
        header_add(&l, "X-Acteon-Attempt", attempt) ||
        add_trace_header(&l, s->p, "traceparent", a->traceparent) ||
        add_trace_header(&l, s->p, "tracestate", a->tracestate)) {
        curl_slist_free_all(l); /* every value is bounded above: only memory fails */
        return AW_NOMEM;
    }
    *out = l;
    return AW_OK;
}

/* The kept answer bytes as printable ASCII: the message travels into JSON
 * replies and audit records, where invalid UTF-8 or a cut multi-byte
 * character would break encoding. */
static void resp_printable(webhook_session *s)
{
    for (size_t i = 0; i < s->resp_len; i++) {
        unsigned char c = (unsigned char)s->resp[i];
        if (c < 0x20 || c >= 0x7f)
            s->resp[i] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : '?';
    }
}

static void map_transport_error(webhook_session *s, CURLcode cc, aw_provider_result *res)
{
    aw_status st = aw_http_curl_status(cc);
    char code[16];
    aw_http_curl_error_code(cc, code, sizeof(code));
    res->ok = false;
    res->retriable = (st == AW_TRANSIENT || st == AW_NOMEM);
    snprintf(res->error_code, sizeof(res->error_code), "%s", code);
    /* libcurl's messages name host and port, never the userinfo. A cut
     * message is acceptable: it is for humans. */
    snprintf(res->error, sizeof(res->error), "%.60s: %.190s", curl_easy_strerror(cc),
             s->errbuf[0] ? s->errbuf : "-");
}

static void map_http_status(webhook_session *s, long status, aw_provider_result *res)
{
    res->http_status = (int)status;
    if (status >= 200 && status <= 299) {
        res->ok = true;
        return;
    }
    resp_printable(s);
    res->ok = false;
    res->retriable = aw_http_status_retriable((int)status);
    snprintf(res->error_code, sizeof(res->error_code), "http_%ld", status);
    snprintf(res->error, sizeof(res->error), "HTTP %ld: %s", status,
             s->resp_len ? s->resp : "(empty body)");
}

static aw_status webhook_execute(void *session, const aw_provider_call *call,
                                 aw_provider_result *res, aw_error *err)
{
    webhook_session *s = session;
    memset(res, 0, sizeof(*res));
    if (!call->action || !call->body)
        return aw_error_set(err, AW_INTERNAL, "webhook: call without action or body");

    struct curl_slist *headers = NULL;
    aw_status rc = build_headers(s, call, &headers, res);
    if (rc == AW_PERMANENT)
        return AW_OK; /* an answer: a non-retriable failure, nothing was sent */
    if (rc != AW_OK)
        return aw_error_set(err, rc, "webhook %s: out of memory building headers", s->p->name);

    s->resp_len = 0;
    s->resp[0] = '\0';
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, call->body);
    CURLcode cc = curl_easy_perform(s->curl);
    /* The handle must not keep pointers to memory that dies here. */
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);

    long status = 0;
    if (cc == CURLE_OK)
        cc = curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK)
        map_transport_error(s, cc, res);
    else
        map_http_status(s, status, res);
    if (!res->ok)
        AW_DEBUG("provider.webhook", "provider %s: POST %s: %s (%s)", s->p->name, s->p->url_safe,
                 res->error_code, res->retriable ? "retriable" : "not retriable");
    return AW_OK;
}

const aw_provider_driver aw_provider_webhook_driver = {
    .type = "webhook",
    .create = webhook_create,
    .destroy = webhook_destroy,
    .session_open = webhook_session_open,
    .session_close = webhook_session_close,
    .execute = webhook_execute,
};
