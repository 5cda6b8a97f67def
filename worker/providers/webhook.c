/* Provider "webhook": one HTTP POST of the original action JSON per attempt.
 *
 * Request: POST <url>, body = the message bytes exactly as consumed, headers
 *   Content-Type: application/json
 *   X-Acteon-Action-Id, X-Acteon-Fencing-Token, X-Acteon-Attempt
 *   X-Acteon-Lock-Token: only under a lock rule (docs/rules.md), its lock's
 *     fencing token (rises per lock key)
 *   Idempotency-Key: the dedup identity (ns:tenant:key)
 *   traceparent, tracestate: passed through when the action carries them.
 * The fencing token lets the receiver refuse a stale holder whose lease was
 * taken over (docs/design.md section 1); the idempotency key lets it drop the
 * duplicate such a takeover can cause.
 *
 * Result: 2xx ok; 408, 429, 5xx retriable "http_<status>"; any other status
 * (redirects are not followed) non-retriable "http_<status>"; a timeout is
 * retriable "timeout"; refused, unresolvable or reset connections are
 * retriable "connect" (backends/http maps the libcurl codes).
 *
 * Concurrency: execute_many runs the calls of a micro-batch together on one
 * curl multi handle, at most max_concurrency in flight (a sliding window:
 * the next call starts when one answers), driven from epoll
 * (backends/http/curl_events.h). execute is execute_many of one.
 *
 * Threads: the provider is immutable after create and shared; a session owns
 * one CURL multi handle and a pool of max_concurrency easy handles (created
 * on first use, then reused) and is used by one worker thread at a time. The
 * multi handle's connection cache keeps the connections alive between calls
 * and batches, without locking. */
#include "worker/provider.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/http/curl_events.h"
#include "backends/http/http.h"
#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

/* Bytes of an error answer kept for the result's message. */
#define WEBHOOK_RESP_KEEP 200
/* Connecting gets at most this long, even with a generous total timeout: a
 * host that does not answer a SYN within 3 s is down, not slow. */
#define WEBHOOK_CONNECT_TIMEOUT_MAX_MS 3000L
/* One "Name: value" header line; longer values are refused. */
#define WEBHOOK_HEADER_MAX 2048
/* Longest wait for socket activity in one pass of the multi loop; libcurl
 * shortens it to its own next timeout. */
#define WEBHOOK_POLL_MS 100

typedef struct webhook_provider {
    char *name;
    char *url;              /* may hold credentials: never logged */
    char *ca_file;          /* NULL: the system's CA bundle */
    char url_safe[512];     /* aw_redact_url(url): the only form that is logged */
    long timeout_ms;
    long connect_timeout_ms;
    size_t max_concurrency; /* easy handles (calls in flight) per session */
} webhook_provider;

/* One easy handle of a session's pool and the call it carries. */
typedef struct webhook_slot {
    CURL *curl;                      /* NULL until first used */
    struct curl_slist *headers;      /* of the call under way, else NULL */
    bool busy;                       /* a call is under way (in the multi) */
    size_t call;                     /* index in calls[] of the call under way */
    int64_t t0_us;                   /* when it started */
    char errbuf[CURL_ERROR_SIZE];
    char resp[WEBHOOK_RESP_KEEP + 1]; /* first bytes of the answer body */
    size_t resp_len;
    aw_buf *answer;                  /* the call's answer buffer, NULL = none */
    size_t answer_max;
} webhook_slot;

typedef struct webhook_session {
    const webhook_provider *p;
    CURLM *multi;
    aw_curl_events events;           /* drives multi */
    webhook_slot *slots;             /* p->max_concurrency of them */
    size_t *free_slots;              /* stack of indexes into slots */
    size_t n_free;
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
    if (cfg->max_concurrency <= 0)
        return aw_error_set(err, AW_CONFIG, "providers.%s.max_concurrency: must be > 0 (got %d)",
                            name, cfg->max_concurrency);
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
    p->max_concurrency = (size_t)cfg->max_concurrency;
    AW_INFO("provider.webhook", "provider %s: POST %s (timeout %ld ms, %zu calls in flight per "
            "thread)", p->name, p->url_safe, p->timeout_ms, p->max_concurrency);
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
    webhook_slot *sl = ud;
    size_t n = size * nmemb;
    size_t room = WEBHOOK_RESP_KEEP - sl->resp_len;
    size_t take = n < room ? n : room;
    memcpy(sl->resp + sl->resp_len, data, take);
    sl->resp_len += take;
    sl->resp[sl->resp_len] = '\0';
    /* A chain step's result (provider.h: answer): cut at answer_max; out
     * of memory keeps what fitted. */
    if (sl->answer && sl->answer->len < sl->answer_max) {
        size_t keep = sl->answer_max - sl->answer->len;
        (void)aw_buf_append(sl->answer, data, n < keep ? n : keep);
    }
    return n; /* everything "consumed": a short count would abort the transfer */
}

/* The options that stay the same for every call made with the handle. */
static CURLcode webhook_configure(const webhook_provider *p, webhook_slot *sl)
{
    CURL *h = sl->curl;
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
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, sl);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, sl->errbuf);
    if (!cc) cc = curl_easy_setopt(h, CURLOPT_PRIVATE, sl);
    return cc;
}

static void webhook_session_close(void *session)
{
    webhook_session *s = session;
    if (!s)
        return;
    /* Between calls no handle is in the multi: the pool is idle. */
    aw_curl_events_close(&s->events);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    for (size_t i = 0; s->slots && i < s->p->max_concurrency; i++)
        if (s->slots[i].curl)
            curl_easy_cleanup(s->slots[i].curl);
    free(s->slots);
    free(s->free_slots);
    free(s);
}

static aw_status webhook_session_open(void *provider, void **session, aw_error *err)
{
    *session = NULL;
    const webhook_provider *p = provider;
    webhook_session *s = calloc(1, sizeof(*s));
    if (!s)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc;
    s->p = p;
    s->slots = calloc(p->max_concurrency, sizeof(*s->slots));
    s->free_slots = calloc(p->max_concurrency, sizeof(*s->free_slots));
    s->multi = curl_multi_init();
    if (!s->slots || !s->free_slots || !s->multi) {
        rc = aw_error_set(err, AW_NOMEM, "webhook %s: out of memory opening a session", p->name);
        goto fail;
    }
    /* Slot 0 on top: a lone call always takes the same handle. */
    for (size_t i = 0; i < p->max_concurrency; i++)
        s->free_slots[i] = p->max_concurrency - 1 - i;
    s->n_free = p->max_concurrency;
    /* Keep one idle connection per handle for the next batch. */
    CURLMcode mc = curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)p->max_concurrency);
    if (mc == CURLM_OK)
        mc = aw_curl_events_init(&s->events, s->multi);
    if (mc != CURLM_OK) {
        rc = aw_error_set(err, AW_INTERNAL, "webhook %s: curl multi option: %s", p->name,
                          curl_multi_strerror(mc));
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
    char token[24], lock_token[24], attempt[16];
    snprintf(token, sizeof(token), "%" PRIu64, call->fencing_token);
    snprintf(lock_token, sizeof(lock_token), "%" PRIu64, call->lock_token);
    snprintf(attempt, sizeof(attempt), "%d", call->attempt);
    struct curl_slist *l = NULL;
    /* "Expect:" turns off curl's 100-continue round trip for larger bodies. */
    if (header_add(&l, "Content-Type", "application/json") || header_add(&l, "Expect", "") ||
        header_add(&l, "X-Acteon-Action-Id", a->id) ||
        header_add(&l, "X-Acteon-Fencing-Token", token) ||
        header_add(&l, "Idempotency-Key", call->identity) ||
        header_add(&l, "X-Acteon-Attempt", attempt) ||
        (call->lock_token && header_add(&l, "X-Acteon-Lock-Token", lock_token)) ||
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
static void resp_printable(webhook_slot *sl)
{
    for (size_t i = 0; i < sl->resp_len; i++) {
        unsigned char c = (unsigned char)sl->resp[i];
        if (c < 0x20 || c >= 0x7f)
            sl->resp[i] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : '?';
    }
}

static void map_transport_error(const webhook_slot *sl, CURLcode cc, aw_provider_result *res)
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
             sl->errbuf[0] ? sl->errbuf : "-");
}

static void map_http_status(webhook_slot *sl, long status, aw_provider_result *res)
{
    res->http_status = (int)status;
    if (status >= 200 && status <= 299) {
        res->ok = true;
        return;
    }
    resp_printable(sl);
    res->ok = false;
    res->retriable = aw_http_status_retriable((int)status);
    snprintf(res->error_code, sizeof(res->error_code), "http_%ld", status);
    snprintf(res->error, sizeof(res->error), "HTTP %ld: %s", status,
             sl->resp_len ? sl->resp : "(empty body)");
}

/* A failure that is not an answer (no memory, a libcurl misuse), as the
 * call's result: the pipeline has always recorded these by status name. */
static void result_local_failure(aw_provider_result *res, aw_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void result_local_failure(aw_provider_result *res, aw_status st, const char *fmt, ...)
{
    memset(res, 0, sizeof(*res));
    res->retriable = st == AW_TRANSIENT;
    snprintf(res->error_code, sizeof(res->error_code), "%s", aw_status_name(st));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
}

/* Start one call on a free slot. Returns true when it is under way; false
 * when res already holds its answer (refused header, local failure): then
 * nothing was sent and the slot stays free. */
static bool start_call(webhook_session *s, const aw_provider_call *call, size_t index,
                       aw_provider_result *res)
{
    const webhook_provider *p = s->p;
    memset(res, 0, sizeof(*res));
    if (!call->action || !call->body) {
        result_local_failure(res, AW_INTERNAL, "webhook: call without action or body");
        return false;
    }
    struct curl_slist *headers = NULL;
    aw_status rc = build_headers(s, call, &headers, res);
    if (rc == AW_PERMANENT)
        return false; /* a non-retriable failure, nothing was sent */
    if (rc != AW_OK) {
        result_local_failure(res, rc, "webhook %s: out of memory building headers", p->name);
        return false;
    }
    webhook_slot *sl = &s->slots[s->free_slots[s->n_free - 1]];
    CURLcode cc = CURLE_OK;
    if (!sl->curl) {
        if (!(sl->curl = curl_easy_init()))
            cc = CURLE_OUT_OF_MEMORY;
        else
            cc = webhook_configure(p, sl);
        if (cc != CURLE_OK) {
            if (sl->curl)
                curl_easy_cleanup(sl->curl);
            sl->curl = NULL;
            curl_slist_free_all(headers);
            result_local_failure(res, cc == CURLE_OUT_OF_MEMORY ? AW_NOMEM : AW_INTERNAL,
                                 "webhook %s: curl handle: %s", p->name, curl_easy_strerror(cc));
            return false;
        }
    }
    sl->resp_len = 0;
    sl->resp[0] = '\0';
    sl->errbuf[0] = '\0';
    sl->answer = call->answer;
    sl->answer_max = call->answer_max;
    if (sl->answer)
        aw_buf_reset(sl->answer);
    sl->call = index;
    sl->headers = headers;
    curl_easy_setopt(sl->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(sl->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    curl_easy_setopt(sl->curl, CURLOPT_POSTFIELDS, call->body);
    sl->t0_us = aw_mono_now_us();
    CURLMcode mc = curl_multi_add_handle(s->multi, sl->curl);
    if (mc != CURLM_OK) {
        curl_easy_setopt(sl->curl, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(headers);
        sl->headers = NULL;
        result_local_failure(res, mc == CURLM_OUT_OF_MEMORY ? AW_NOMEM : AW_INTERNAL,
                             "webhook %s: curl multi: %s", p->name, curl_multi_strerror(mc));
        return false;
    }
    sl->busy = true;
    s->n_free--;
    return true;
}

/* Take a slot's handle out of the multi and give the slot back. */
static void release_slot(webhook_session *s, webhook_slot *sl)
{
    curl_multi_remove_handle(s->multi, sl->curl);
    /* The handle must not keep pointers to memory that dies here. */
    curl_easy_setopt(sl->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(sl->headers);
    sl->headers = NULL;
    sl->busy = false;
    s->free_slots[s->n_free++] = (size_t)(sl - s->slots);
}

/* A call answered (or timed out, or failed to connect): its result. */
static void finish_call(webhook_session *s, webhook_slot *sl, CURLcode cc,
                        aw_provider_result *res)
{
    memset(res, 0, sizeof(*res));
    res->elapsed_us = aw_mono_now_us() - sl->t0_us;
    long status = 0;
    if (cc == CURLE_OK)
        cc = curl_easy_getinfo(sl->curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK)
        map_transport_error(sl, cc, res);
    else
        map_http_status(sl, status, res);
    release_slot(s, sl);
    if (!res->ok)
        AW_DEBUG("provider.webhook", "provider %s: POST %s: %s (%s)", s->p->name, s->p->url_safe,
                 res->error_code, res->retriable ? "retriable" : "not retriable");
}

/* Collect the calls that ended, telling stop's hook of each; returns how
 * many. */
static size_t collect_done(webhook_session *s, aw_provider_result *res,
                           const aw_provider_stop *stop)
{
    size_t done = 0;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        webhook_slot *sl = (webhook_slot *)priv;
        CURLcode cc = m->data.result; /* m dies with the removal below */
        size_t call = sl->call; /* the slot is free after finish_call */
        finish_call(s, sl, cc, &res[call]);
        aw_provider_answered(stop, call);
        done++;
    }
    return done;
}

/* The multi handle itself failed (no memory): every call under way fails
 * with it, and so does every call not started, or a broken handle would
 * have them retried forever. */
static void fail_all(webhook_session *s, CURLMcode mc, aw_provider_result *res, size_t from,
                     size_t n)
{
    aw_status st = mc == CURLM_OUT_OF_MEMORY ? AW_NOMEM : AW_INTERNAL;
    for (size_t i = 0; i < s->p->max_concurrency; i++) {
        webhook_slot *sl = &s->slots[i];
        if (!sl->busy)
            continue;
        int64_t took = aw_mono_now_us() - sl->t0_us;
        release_slot(s, sl);
        result_local_failure(&res[sl->call], st, "webhook %s: curl multi: %s", s->p->name,
                             curl_multi_strerror(mc));
        res[sl->call].elapsed_us = took;
    }
    for (size_t i = from; i < n; i++)
        result_local_failure(&res[i], st, "webhook %s: curl multi: %s", s->p->name,
                             curl_multi_strerror(mc));
}

static aw_status webhook_execute_many(void *session, const aw_provider_call *calls,
                                      aw_provider_result *res, size_t n,
                                      const aw_provider_stop *stop, aw_error *err)
{
    (void)err; /* every failure is some call's result */
    webhook_session *s = session;
    size_t next = 0, running = 0;
    for (;;) {
        while (next < n && s->n_free > 0 && aw_provider_may_start(stop, next)) {
            if (start_call(s, &calls[next], next, &res[next]))
                running++;
            else /* failed locally: its result is in */
                aw_provider_answered(stop, next);
            next++;
        }
        if (running == 0)
            break;
        int wait_ms = (int)aw_provider_tick(stop, WEBHOOK_POLL_MS);
        CURLMcode mc = aw_curl_events_run(&s->events, wait_ms);
        if (mc == CURLM_OK)
            running -= collect_done(s, res, stop);
        if (mc != CURLM_OK) {
            fail_all(s, mc, res, next, n);
            return AW_OK;
        }
    }
    for (; next < n; next++) {
        memset(&res[next], 0, sizeof(res[next]));
        res[next].not_started = true;
    }
    return AW_OK;
}

static aw_status webhook_execute(void *session, const aw_provider_call *call,
                                 aw_provider_result *res, aw_error *err)
{
    return webhook_execute_many(session, call, res, 1, NULL, err);
}

const aw_provider_driver aw_provider_webhook_driver = {
    .type = "webhook",
    .create = webhook_create,
    .destroy = webhook_destroy,
    .session_open = webhook_session_open,
    .session_close = webhook_session_close,
    .execute = webhook_execute,
    .execute_many = webhook_execute_many,
};
