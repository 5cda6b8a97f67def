/* Providers: the registry, "log", "noop", and "webhook" against a real HTTP
 * server (tests/support/webhook_target, started as a child process per test
 * so each test sees its own counters and failure script). */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "backends/http/http.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/provider.h"
#include "worker/provider_set.h"

extern char **environ;

#define TARGET_START_TIMEOUT_MS 10000
#define TARGET_STOP_TIMEOUT_MS 10000
#define MAX_TARGETS 4

/* ---- temp dir and files -------------------------------------------------- */

static char g_dir[512]; /* short, so every path below fits PATH_MAX */
static int g_seq; /* makes every target's file names unique */

/* Remove the temp dir; it holds plain files only. */
static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Whole file as a NUL-terminated string (caller frees); NULL if absent. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    return n;
}

/* The index-th line (0-based) of text copied into out; -1 if absent. */
static int nth_line(const char *text, size_t index, char *out, size_t outsz)
{
    const char *p = text;
    for (size_t i = 0; p && i < index; i++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (!p || !*p)
        return -1;
    size_t len = strcspn(p, "\n");
    if (len >= outsz)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

/* Pause between two checks of a polled condition; never synchronisation by
 * itself: every caller loops on a condition with a deadline. */
static void poll_pause(void)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* ---- the webhook_target child process ------------------------------------ */

typedef struct target_proc {
    pid_t pid;            /* 0 when not running */
    int port;
    char port_file[PATH_MAX];
    char log[PATH_MAX];
    char detail[PATH_MAX];
} target_proc;

/* Started targets, so a failed assertion still ends them (per-test teardown). */
static target_proc g_targets[MAX_TARGETS];

static int read_port(const char *path)
{
    char *s = slurp(path);
    int port = s ? atoi(s) : 0;
    free(s);
    return port;
}

/* Start webhook_target with extra arguments (NULL-terminated) and wait, with
 * a deadline, until it has written its port file. */
static target_proc *target_start(const char *const *extra)
{
    target_proc *t = NULL;
    for (int i = 0; i < MAX_TARGETS && !t; i++)
        if (!g_targets[i].pid)
            t = &g_targets[i];
    assert_non_null(t);
    memset(t, 0, sizeof(*t));
    int seq = ++g_seq;
    snprintf(t->port_file, sizeof(t->port_file), "%s/port-%d", g_dir, seq);
    snprintf(t->log, sizeof(t->log), "%s/log-%d", g_dir, seq);
    snprintf(t->detail, sizeof(t->detail), "%s/detail-%d", g_dir, seq);

    const char *build = getenv("AW_BUILD_DIR");
    assert_non_null(build); /* set by ctest; run by hand with AW_BUILD_DIR=... */
    char exe[PATH_MAX];
    snprintf(exe, sizeof(exe), "%s/tests/webhook_target", build);
    const char *argv[32] = {exe, "--port-file", t->port_file, "--log", t->log,
                            "--detail-log", t->detail};
    int argc = 7;
    for (; extra && *extra && argc < 31; extra++)
        argv[argc++] = *extra;
    argv[argc] = NULL;

    pid_t pid;
    assert_int_equal(posix_spawn(&pid, exe, NULL, NULL, (char *const *)argv, environ), 0);
    t->pid = pid;
    int64_t deadline = aw_mono_now_ms() + TARGET_START_TIMEOUT_MS;
    while ((t->port = read_port(t->port_file)) == 0) {
        int status;
        assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* it died early */
        assert_true(aw_mono_now_ms() < deadline);
        poll_pause();
    }
    return t;
}

/* SIGTERM, then wait (bounded) for a clean exit. */
static void target_stop(target_proc *t)
{
    if (!t->pid)
        return;
    pid_t pid = t->pid;
    t->pid = 0;
    kill(pid, SIGTERM);
    int64_t deadline = aw_mono_now_ms() + TARGET_STOP_TIMEOUT_MS;
    int status = 0;
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && aw_mono_now_ms() < deadline)
        poll_pause();
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("webhook_target did not stop within %d ms", TARGET_STOP_TIMEOUT_MS);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static char *target_url(const target_proc *t, char *out, size_t outsz)
{
    snprintf(out, outsz, "http://127.0.0.1:%d/hook", t->port);
    return out;
}

static size_t collect_body(char *data, size_t size, size_t nmemb, void *ud)
{
    aw_buf *b = ud;
    return aw_buf_append(b, data, size * nmemb) ? 0 : size * nmemb;
}

/* GET /stats. The stats request opens a connection of its own, which the
 * target counts before answering: *connections includes it. */
static void target_stats_all(const target_proc *t, long *requests, long *connections,
                             long *max_in_flight)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/stats", t->port);
    aw_buf body = {0};
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    json_t *o = json_loads(body.data, 0, NULL);
    assert_non_null(o);
    *requests = (long)json_integer_value(json_object_get(o, "requests"));
    *connections = (long)json_integer_value(json_object_get(o, "connections"));
    *max_in_flight = (long)json_integer_value(json_object_get(o, "max_in_flight"));
    json_decref(o);
    aw_buf_free(&body);
}

static void target_stats(const target_proc *t, long *requests, long *connections)
{
    long max_in_flight;
    target_stats_all(t, requests, connections, &max_in_flight);
}

/* The index-th detail record (one JSON object per POST); caller decrefs. */
static json_t *target_detail(const target_proc *t, size_t index)
{
    char *text = slurp(t->detail);
    assert_non_null(text);
    static char line[256 * 1024];
    int rc = nth_line(text, index, line, sizeof(line));
    free(text);
    assert_int_equal(rc, 0);
    json_t *o = json_loads(line, 0, NULL);
    assert_non_null(o);
    return o;
}

static const char *detail_header(json_t *detail, const char *name)
{
    return json_string_value(json_object_get(json_object_get(detail, "headers"), name));
}

/* ---- actions built by hand (independent of ingest/action.c) -------------- */

typedef struct test_action {
    aw_action action; /* its strings point into root */
    json_t *root;
    char *body;       /* the "message bytes" */
    char identity[512];
} test_action;

static const char *str_field(json_t *root, const char *key)
{
    return json_string_value(json_object_get(root, key));
}

static void test_action_init(test_action *ta, const char *json_text)
{
    memset(ta, 0, sizeof(*ta));
    json_error_t jerr;
    json_t *root = json_loads(json_text, 0, &jerr);
    assert_non_null(root);
    ta->body = strdup(json_text);
    assert_non_null(ta->body);
    aw_action *a = &ta->action;
    ta->root = root;
    a->id = str_field(root, "id");
    a->ns = str_field(root, "namespace");
    a->tenant = str_field(root, "tenant");
    a->provider = str_field(root, "provider");
    a->action_type = str_field(root, "action_type");
    a->dedup_key = str_field(root, "dedup_key");
    a->traceparent = str_field(root, "traceparent");
    a->tracestate = str_field(root, "tracestate");
    snprintf(ta->identity, sizeof(ta->identity), "%s:%s:%s", a->ns, a->tenant,
             a->dedup_key ? a->dedup_key : a->id);
}

static void test_action_clear(test_action *ta)
{
    json_decref(ta->root);
    free(ta->body);
    memset(ta, 0, sizeof(*ta));
}

static aw_provider_call make_call(const test_action *ta, uint64_t token, int attempt)
{
    aw_provider_call call = {
        .action = &ta->action,
        .body = ta->body,
        .body_len = strlen(ta->body),
        .identity = ta->identity,
        .fencing_token = token,
        .attempt = attempt,
    };
    return call;
}

static const char *const ACTION_JSON =
    "{\"id\":\"act-1\",\"namespace\":\"shop\",\"tenant\":\"t1\",\"provider\":\"hook\","
    "\"action_type\":\"notify\",\"payload\":{\"password\":\"hunter2\",\"n\":1},"
    "\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\","
    "\"tracestate\":\"vendor=opaque\"}";

/* ---- a webhook provider and one session ---------------------------------- */

typedef struct hook {
    const aw_provider_driver *d;
    void *provider;
    void *session;
} hook;

static void hook_open_n(hook *h, const char *url, int timeout_ms, int max_concurrency)
{
    aw_provider_config cfg = {
        .name = "hook", .type = "webhook", .url = (char *)url, .timeout_ms = timeout_ms,
        .max_attempts = 3, .backoff_base_ms = 10, .backoff_max_ms = 100,
        .max_concurrency = max_concurrency,
    };
    aw_error err = {0};
    h->d = aw_provider_driver_find("webhook");
    assert_non_null(h->d);
    assert_int_equal(h->d->create(&cfg, &h->provider, &err), AW_OK);
    assert_int_equal(h->d->session_open(h->provider, &h->session, &err), AW_OK);
}

static void hook_open(hook *h, const char *url, int timeout_ms)
{
    hook_open_n(h, url, timeout_ms, 64);
}

static void hook_close(hook *h)
{
    h->d->session_close(h->session);
    h->d->destroy(h->provider);
    memset(h, 0, sizeof(*h));
}

static aw_provider_result hook_call(hook *h, const test_action *ta, uint64_t token, int attempt)
{
    aw_provider_call call = make_call(ta, token, attempt);
    aw_provider_result res;
    aw_error err = {0};
    assert_int_equal(h->d->execute(h->session, &call, &res, &err), AW_OK);
    return res;
}

/* A port nobody listens on: bound once by us and released. */
static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Route aw_log to a file for the duration of a test. */
static int log_capture_start(const char *path, aw_log_level level)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    aw_log_init(level, AW_LOG_TEXT, fd);
    return fd;
}

static void log_capture_stop(int fd)
{
    aw_log_init(AW_LOG_WARN, AW_LOG_TEXT, 2);
    close(fd);
}

/* ---- registry and helpers ------------------------------------------------ */

static void test_http_status_retriable(void **state)
{
    (void)state;
    static const struct {
        int status;
        bool retriable;
    } cases[] = {
        {200, false}, {204, false}, {301, false}, {400, false}, {401, false},
        {403, false}, {404, false}, {409, false}, {410, false}, {422, false},
        {408, true},  {429, true},  {500, true},  {502, true},  {503, true},
        {504, true},  {599, true},  {600, false}, {0, false},   {-1, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(aw_http_status_retriable(cases[i].status), cases[i].retriable);
}

static void test_curl_code_mapping(void **state)
{
    (void)state;
    static const struct {
        CURLcode cc;
        aw_status st;
        const char *code;
    } cases[] = {
        {CURLE_OK, AW_OK, ""},
        {CURLE_OPERATION_TIMEDOUT, AW_TRANSIENT, "timeout"},
        {CURLE_COULDNT_CONNECT, AW_TRANSIENT, "connect"},
        {CURLE_COULDNT_RESOLVE_HOST, AW_TRANSIENT, "connect"},
        {CURLE_SEND_ERROR, AW_TRANSIENT, "connect"},
        {CURLE_RECV_ERROR, AW_TRANSIENT, "connect"},
        {CURLE_GOT_NOTHING, AW_TRANSIENT, "connect"},
        {CURLE_PEER_FAILED_VERIFICATION, AW_PERMANENT, "tls"},
        {CURLE_URL_MALFORMAT, AW_PERMANENT, "curl_3"},
        {CURLE_OUT_OF_MEMORY, AW_NOMEM, "curl_27"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char code[16];
        assert_int_equal(aw_http_curl_status(cases[i].cc), cases[i].st);
        assert_string_equal(aw_http_curl_error_code(cases[i].cc, code, sizeof(code)),
                            cases[i].code);
    }
}

static void test_registry(void **state)
{
    (void)state;
    static const char *const types[] = {"log", "noop", "webhook"};
    for (size_t i = 0; i < 3; i++) {
        const aw_provider_driver *d = aw_provider_driver_find(types[i]);
        assert_non_null(d);
        assert_string_equal(d->type, types[i]);
        assert_non_null(d->create);
        assert_non_null(d->destroy);
        assert_non_null(d->session_open);
        assert_non_null(d->session_close);
        assert_non_null(d->execute);
    }
    assert_null(aw_provider_driver_find("smtp"));
    assert_null(aw_provider_driver_find(""));
    assert_null(aw_provider_driver_find(NULL));
    assert_string_equal(aw_provider_driver_types(), "log, noop, webhook");
}

/* ---- log and noop -------------------------------------------------------- */

static void run_simple_provider(const char *type, const test_action *ta, aw_provider_result *res)
{
    const aw_provider_driver *d = aw_provider_driver_find(type);
    assert_non_null(d);
    aw_provider_config cfg = {.name = (char *)type, .type = (char *)type, .timeout_ms = 1000,
                              .max_attempts = 1};
    aw_error err = {0};
    void *p = NULL, *s = NULL;
    assert_int_equal(d->create(&cfg, &p, &err), AW_OK);
    assert_int_equal(d->session_open(p, &s, &err), AW_OK);
    aw_provider_call call = make_call(ta, 7, 2);
    memset(res, 0xAB, sizeof(*res)); /* execute must reset every field */
    assert_int_equal(d->execute(s, &call, res, &err), AW_OK);
    d->session_close(s);
    d->destroy(p);
}

static void assert_plain_success(const aw_provider_result *res)
{
    assert_true(res->ok);
    assert_false(res->retriable);
    assert_int_equal(res->http_status, 0);
    assert_string_equal(res->error_code, "");
    assert_string_equal(res->error, "");
}

static void test_noop_provider(void **state)
{
    (void)state;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/noop.log", g_dir);
    int fd = log_capture_start(path, AW_LOG_DEBUG);
    test_action ta;
    test_action_init(&ta, ACTION_JSON);
    aw_provider_result res;
    run_simple_provider("noop", &ta, &res);
    log_capture_stop(fd);
    assert_plain_success(&res);
    char *logged = slurp(path);
    assert_non_null(logged);
    assert_string_equal(logged, ""); /* no output at all, even at debug */
    free(logged);
    test_action_clear(&ta);
}

static void test_log_provider(void **state)
{
    (void)state;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/log-provider.log", g_dir);
    int fd = log_capture_start(path, AW_LOG_INFO);
    test_action ta;
    /* A tenant with a newline must not split the line (defence in depth). */
    test_action_init(&ta, "{\"id\":\"act-9\",\"namespace\":\"shop\",\"tenant\":\"t\\nx\","
                          "\"provider\":\"log\",\"action_type\":\"email\","
                          "\"payload\":{\"password\":\"hunter2\"}}");
    aw_provider_result res;
    run_simple_provider("log", &ta, &res);
    log_capture_stop(fd);
    assert_plain_success(&res);

    char *logged = slurp(path);
    assert_non_null(logged);
    assert_int_equal(count_lines(logged), 1);
    assert_non_null(strstr(logged, " info "));
    assert_non_null(strstr(logged, "namespace=shop"));
    assert_non_null(strstr(logged, "tenant=t?x"));
    assert_non_null(strstr(logged, "id=act-9"));
    assert_non_null(strstr(logged, "action_type=email"));
    assert_non_null(strstr(logged, "fencing_token=7"));
    assert_non_null(strstr(logged, "attempt=2"));
    assert_null(strstr(logged, "hunter2")); /* the payload is never logged */
    free(logged);
    test_action_clear(&ta);
}

/* ---- webhook ------------------------------------------------------------- */

static void test_webhook_create_rejects_bad_config(void **state)
{
    (void)state;
    const aw_provider_driver *d = aw_provider_driver_find("webhook");
    static const struct {
        const char *url;
        int timeout_ms;
        int max_concurrency;
        const char *msg_part;
    } cases[] = {
        {NULL, 1000, 8, "url: required"},
        {"", 1000, 8, "url: required"},
        {"ftp://example.com/x", 1000, 8, "http:// or https://"},
        {"127.0.0.1:80/hook", 1000, 8, "http:// or https://"},
        {"http://127.0.0.1:1/hook", 0, 8, "timeout_ms"},
        {"http://127.0.0.1:1/hook", -5, 8, "timeout_ms"},
        {"http://127.0.0.1:1/hook", 1000, 0, "max_concurrency: must be > 0 (got 0)"},
        {"http://127.0.0.1:1/hook", 1000, -1, "max_concurrency: must be > 0 (got -1)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_provider_config cfg = {.name = "bad", .type = "webhook", .url = (char *)cases[i].url,
                                  .timeout_ms = cases[i].timeout_ms, .max_attempts = 1,
                                  .max_concurrency = cases[i].max_concurrency};
        aw_error err = {0};
        void *p = (void *)&cfg;
        assert_int_equal(d->create(&cfg, &p, &err), AW_CONFIG);
        assert_null(p);
        assert_int_equal(err.code, AW_CONFIG);
        assert_non_null(strstr(err.msg, "providers.bad."));
        assert_non_null(strstr(err.msg, cases[i].msg_part));
    }
}

static void test_webhook_success_sends_headers_and_body(void **state)
{
    (void)state;
    target_proc *t = target_start(NULL);
    char url[64];
    hook h;
    hook_open(&h, target_url(t, url, sizeof(url)), 5000);
    test_action ta;
    test_action_init(&ta, ACTION_JSON);

    aw_provider_result res = hook_call(&h, &ta, 42, 1);
    assert_true(res.ok);
    assert_false(res.retriable);
    assert_int_equal(res.http_status, 200);
    assert_string_equal(res.error_code, "");
    assert_string_equal(res.error, "");

    /* The target logs before it answers: the line is there already. */
    char *log = slurp(t->log);
    assert_non_null(log);
    assert_string_equal(log, "act-1\t42\tshop:t1:act-1\t1\t200\n");
    free(log);

    json_t *det = target_detail(t, 0);
    assert_string_equal(json_string_value(json_object_get(det, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(det, "url")), "/hook");
    assert_string_equal(detail_header(det, "content-type"), "application/json");
    assert_string_equal(detail_header(det, "x-acteon-action-id"), "act-1");
    assert_string_equal(detail_header(det, "x-acteon-fencing-token"), "42");
    assert_string_equal(detail_header(det, "idempotency-key"), "shop:t1:act-1");
    assert_string_equal(detail_header(det, "x-acteon-attempt"), "1");
    assert_string_equal(detail_header(det, "traceparent"),
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_string_equal(detail_header(det, "tracestate"), "vendor=opaque");
    assert_null(detail_header(det, "expect"));
    /* The original bytes, unchanged. */
    assert_string_equal(json_string_value(json_object_get(det, "body")), ACTION_JSON);
    json_decref(det);

    test_action_clear(&ta);
    hook_close(&h);
    target_stop(t);
}

static void test_webhook_without_trace_headers(void **state)
{
    (void)state;
    target_proc *t = target_start(NULL);
    char url[64];
    hook h;
    hook_open(&h, target_url(t, url, sizeof(url)), 5000);
    test_action ta;
    test_action_init(&ta, "{\"id\":\"a2\",\"namespace\":\"n\",\"tenant\":\"t\","
                          "\"provider\":\"hook\",\"action_type\":\"x\",\"dedup_key\":\"k\","
                          "\"payload\":null}");
    aw_provider_result res = hook_call(&h, &ta, 1, 3);
    assert_true(res.ok);
    json_t *det = target_detail(t, 0);
    assert_null(detail_header(det, "traceparent"));
    assert_null(detail_header(det, "tracestate"));
    /* The identity uses the dedup key, not the id. */
    assert_string_equal(detail_header(det, "idempotency-key"), "n:t:k");
    assert_string_equal(detail_header(det, "x-acteon-attempt"), "3");
    json_decref(det);
    test_action_clear(&ta);
    hook_close(&h);
    target_stop(t);
}

/* One target per status: the first request fails with it, the second
 * succeeds (the failure is per attempt, the session stays usable). */
static void test_webhook_status_classes(void **state)
{
    (void)state;
    static const struct {
        const char *status;
        bool retriable;
        const char *code;
    } cases[] = {
        {"500", true, "http_500"},  {"503", true, "http_503"},  {"429", true, "http_429"},
        {"408", true, "http_408"},  {"404", false, "http_404"}, {"400", false, "http_400"},
        {"410", false, "http_410"}, {"302", false, "http_302"},
    };
    test_action ta;
    test_action_init(&ta, ACTION_JSON);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[] = {"--fail-first", "1", "--fail-status", cases[i].status, NULL};
        target_proc *t = target_start(args);
        char url[64];
        hook h;
        hook_open(&h, target_url(t, url, sizeof(url)), 5000);

        aw_provider_result res = hook_call(&h, &ta, 5, 1);
        assert_false(res.ok);
        assert_int_equal(res.retriable, cases[i].retriable);
        assert_int_equal(res.http_status, atoi(cases[i].status));
        assert_string_equal(res.error_code, cases[i].code);
        /* The start of the answer body is kept for the message. */
        assert_non_null(strstr(res.error, "injected failure"));

        res = hook_call(&h, &ta, 5, 2);
        assert_true(res.ok);
        assert_int_equal(res.http_status, 200);

        char *log = slurp(t->log);
        char expect[128];
        snprintf(expect, sizeof(expect),
                 "act-1\t5\tshop:t1:act-1\t1\t%s\nact-1\t5\tshop:t1:act-1\t2\t200\n",
                 cases[i].status);
        assert_string_equal(log, expect);
        free(log);
        hook_close(&h);
        target_stop(t);
    }
    test_action_clear(&ta);
}

static void test_webhook_fail_ids_file(void **state)
{
    (void)state;
    char ids[PATH_MAX];
    snprintf(ids, sizeof(ids), "%s/fail-ids", g_dir);
    FILE *f = fopen(ids, "w");
    assert_non_null(f);
    fputs("other\nact-1\n", f);
    fclose(f);
    const char *args[] = {"--fail-ids-file", ids, "--fail-status", "503", NULL};
    target_proc *t = target_start(args);
    char url[64];
    hook h;
    hook_open(&h, target_url(t, url, sizeof(url)), 5000);
    test_action ta;
    test_action_init(&ta, ACTION_JSON);

    aw_provider_result res = hook_call(&h, &ta, 1, 1);
    assert_false(res.ok);
    assert_true(res.retriable);
    assert_string_equal(res.error_code, "http_503");
    /* The file is read per request: emptying it lets the action through. */
    f = fopen(ids, "w");
    assert_non_null(f);
    fclose(f);
    res = hook_call(&h, &ta, 1, 2);
    assert_true(res.ok);

    test_action_clear(&ta);
    hook_close(&h);
    target_stop(t);
}

static void test_webhook_timeout_is_retriable(void **state)
{
    (void)state;
    const char *args[] = {"--delay-ms", "2000", NULL};
    target_proc *t = target_start(args);
    char url[64];
    hook h;
    hook_open(&h, target_url(t, url, sizeof(url)), 200);
    test_action ta;
    test_action_init(&ta, ACTION_JSON);

    int64_t t0 = aw_mono_now_ms();
    aw_provider_result res = hook_call(&h, &ta, 1, 1);
    int64_t took = aw_mono_now_ms() - t0;
    assert_false(res.ok);
    assert_true(res.retriable);
    assert_int_equal(res.http_status, 0);
    assert_string_equal(res.error_code, "timeout");
    assert_true(took >= 150 && took < 1500);

    test_action_clear(&ta);
    hook_close(&h);
    target_stop(t); /* the delayed answer is cut short at shutdown */
}

static void test_webhook_connection_refused_is_retriable(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", unused_port());
    hook h;
    hook_open(&h, url, 2000);
    test_action ta;
    test_action_init(&ta, ACTION_JSON);
    aw_provider_result res = hook_call(&h, &ta, 1, 1);
    assert_false(res.ok);
    assert_true(res.retriable);
    assert_int_equal(res.http_status, 0);
    assert_string_equal(res.error_code, "connect");
    assert_true(res.error[0] != '\0');
    test_action_clear(&ta);
    hook_close(&h);
}

static void test_webhook_reuses_connection_per_session(void **state)
{
    (void)state;
    const char *args[] = {"--fail-first", "1", NULL};
    target_proc *t = target_start(args);
    char url[64];
    target_url(t, url, sizeof(url));
    hook h;
    hook_open(&h, url, 5000);
    test_action ta;
    test_action_init(&ta, ACTION_JSON);

    /* A failed answer (500) must not cost the connection either. */
    assert_false(hook_call(&h, &ta, 1, 1).ok);
    assert_true(hook_call(&h, &ta, 1, 2).ok);
    assert_true(hook_call(&h, &ta, 1, 3).ok);
    long requests, connections;
    target_stats(t, &requests, &connections);
    assert_int_equal(requests, 3);
    assert_int_equal(connections, 1 + 1); /* the session's one, plus the stats request's */

    /* A second session is a second connection: the counter does count. */
    hook h2;
    hook_open(&h2, url, 5000);
    assert_true(hook_call(&h2, &ta, 1, 1).ok);
    target_stats(t, &requests, &connections);
    assert_int_equal(requests, 4);
    assert_int_equal(connections, 2 + 2);

    hook_close(&h2);
    test_action_clear(&ta);
    hook_close(&h);
    target_stop(t);
}

static void test_webhook_refuses_header_injection(void **state)
{
    (void)state;
    target_proc *t = target_start(NULL);
    char url[64];
    hook h;
    hook_open(&h, target_url(t, url, sizeof(url)), 5000);

    /* A CR/LF in the id: refused before anything is sent. */
    test_action bad_id;
    test_action_init(&bad_id, "{\"id\":\"a\\r\\nX-Evil: 1\",\"namespace\":\"n\",\"tenant\":\"t\","
                              "\"provider\":\"hook\",\"action_type\":\"x\",\"payload\":{}}");
    aw_provider_result res = hook_call(&h, &bad_id, 1, 1);
    assert_false(res.ok);
    assert_false(res.retriable);
    assert_string_equal(res.error_code, "invalid_header");

    /* An identity with a newline (caller-built): refused as well. */
    test_action ok_id;
    test_action_init(&ok_id, ACTION_JSON);
    snprintf(ok_id.identity, sizeof(ok_id.identity), "n:t:\nX-Evil: 1");
    res = hook_call(&h, &ok_id, 1, 1);
    assert_false(res.ok);
    assert_string_equal(res.error_code, "invalid_header");

    long requests, connections;
    target_stats(t, &requests, &connections);
    assert_int_equal(requests, 0);

    /* A bad traceparent is dropped, the action still goes out. */
    test_action bad_trace;
    test_action_init(&bad_trace, "{\"id\":\"a3\",\"namespace\":\"n\",\"tenant\":\"t\","
                                 "\"provider\":\"hook\",\"action_type\":\"x\",\"payload\":{},"
                                 "\"traceparent\":\"00-x\\r\\nX-Evil: 1\"}");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/inject.log", g_dir);
    int fd = log_capture_start(path, AW_LOG_WARN);
    res = hook_call(&h, &bad_trace, 1, 1);
    log_capture_stop(fd);
    assert_true(res.ok);
    char *logged = slurp(path);
    assert_non_null(logged);
    assert_non_null(strstr(logged, "traceparent dropped"));
    assert_null(strstr(logged, "X-Evil")); /* the bad value itself is not echoed */
    free(logged);
    json_t *det = target_detail(t, 0);
    assert_null(detail_header(det, "traceparent"));
    assert_null(detail_header(det, "x-evil"));
    json_decref(det);

    test_action_clear(&bad_trace);
    test_action_clear(&ok_id);
    test_action_clear(&bad_id);
    hook_close(&h);
    target_stop(t);
}

static void test_webhook_never_logs_url_credentials(void **state)
{
    (void)state;
    const char *args[] = {"--fail-first", "1", NULL};
    target_proc *t = target_start(args);
    char url[128], path[PATH_MAX];
    snprintf(url, sizeof(url), "http://user:s3cr3t@127.0.0.1:%d/hook?token=t0k3n", t->port);
    snprintf(path, sizeof(path), "%s/cred.log", g_dir);
    int fd = log_capture_start(path, AW_LOG_DEBUG);
    hook h;
    hook_open(&h, url, 5000);
    test_action ta;
    test_action_init(&ta, ACTION_JSON);
    aw_provider_result res = hook_call(&h, &ta, 1, 1); /* a failure: logged at debug */
    log_capture_stop(fd);
    assert_false(res.ok);
    assert_null(strstr(res.error, "s3cr3t"));

    char *logged = slurp(path);
    assert_non_null(logged);
    assert_non_null(strstr(logged, "user:***@127.0.0.1"));
    assert_null(strstr(logged, "s3cr3t"));
    assert_null(strstr(logged, "t0k3n"));
    free(logged);

    /* The credentials themselves were used (basic auth). */
    json_t *det = target_detail(t, 0);
    const char *auth = detail_header(det, "authorization");
    assert_non_null(auth);
    assert_int_equal(strncmp(auth, "Basic ", 6), 0);
    assert_string_equal(json_string_value(json_object_get(det, "url")), "/hook");
    json_decref(det);

    test_action_clear(&ta);
    hook_close(&h);
    target_stop(t);
}

static void test_webhook_large_body(void **state)
{
    (void)state;
    target_proc *t = target_start(NULL);
    char url[64];
    hook h;
    hook_open(&h, target_url(t, url, sizeof(url)), 5000);

    /* 200 KB payload: beyond curl's 100-continue threshold and several
     * socket buffers. */
    aw_buf text = {0};
    assert_int_equal(aw_buf_puts(&text, "{\"id\":\"big\",\"namespace\":\"n\",\"tenant\":\"t\","
                                        "\"provider\":\"hook\",\"action_type\":\"x\","
                                        "\"payload\":{\"blob\":\""),
                     0);
    for (int i = 0; i < 200 * 1024 / 8; i++)
        assert_int_equal(aw_buf_puts(&text, "abcdefgh"), 0);
    assert_int_equal(aw_buf_puts(&text, "\"}}"), 0);
    test_action ta;
    test_action_init(&ta, text.data);

    aw_provider_result res = hook_call(&h, &ta, 1, 1);
    assert_true(res.ok);
    json_t *det = target_detail(t, 0);
    assert_int_equal(json_integer_value(json_object_get(det, "body_len")), (json_int_t)text.len);
    assert_string_equal(json_string_value(json_object_get(det, "body")), text.data);
    assert_null(detail_header(det, "expect"));
    json_decref(det);

    aw_buf_free(&text);
    test_action_clear(&ta);
    hook_close(&h);
    target_stop(t);
}

/* ---- webhook: execute_many ----------------------------------------------- */

#define MANY_MAX 32

/* n actions "m-0".."m-<n-1>" (identity n:t:m-i) and their calls. */
typedef struct many {
    size_t n;
    test_action ta[MANY_MAX];
    aw_provider_call calls[MANY_MAX];
    aw_provider_result res[MANY_MAX];
} many;

static void many_init(many *m, size_t n)
{
    assert_true(n <= MANY_MAX);
    memset(m, 0, sizeof(*m));
    m->n = n;
    for (size_t i = 0; i < n; i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"id\":\"m-%zu\",\"namespace\":\"n\",\"tenant\":\"t\",\"provider\":\"hook\","
                 "\"action_type\":\"x\",\"payload\":{\"i\":%zu}}",
                 i, i);
        test_action_init(&m->ta[i], text);
        m->calls[i] = make_call(&m->ta[i], 100 + i, 1);
    }
}

static void many_clear(many *m)
{
    for (size_t i = 0; i < m->n; i++)
        test_action_clear(&m->ta[i]);
}

static void hook_many(hook *h, many *m, const aw_provider_stop *stop)
{
    aw_error err = {0};
    assert_non_null(h->d->execute_many);
    /* Garbage first: every result must be written. */
    memset(m->res, 0x5a, sizeof(m->res));
    assert_int_equal(h->d->execute_many(h->session, m->calls, m->res, m->n, stop, &err), AW_OK);
}

/* The target holds every request until 16 are in flight: all 16 answered
 * means they ran together (one after the other, the first would wait at the
 * barrier until its 5 s timeout). Each went out with its own headers. */
static void test_webhook_many_runs_calls_together(void **state)
{
    (void)state;
    const char *args[] = {"--barrier", "16", NULL};
    target_proc *t = target_start(args);
    char url[64];
    hook h;
    hook_open_n(&h, target_url(t, url, sizeof(url)), 5000, 16);
    many m;
    many_init(&m, 16);
    hook_many(&h, &m, NULL);
    for (size_t i = 0; i < m.n; i++) {
        assert_true(m.res[i].ok);
        assert_false(m.res[i].not_started);
        assert_int_equal(m.res[i].http_status, 200);
        assert_string_equal(m.res[i].error_code, "");
        assert_true(m.res[i].elapsed_us > 0);
    }
    long requests, connections, max_in_flight;
    target_stats_all(t, &requests, &connections, &max_in_flight);
    assert_int_equal(requests, 16);
    assert_int_equal(max_in_flight, 16);
    assert_int_equal(connections, 16 + 1);

    /* Every call's own headers: one log line per id, token 100 + i. */
    char *log = slurp(t->log);
    assert_int_equal(count_lines(log), 16);
    for (size_t i = 0; i < m.n; i++) {
        char line[128];
        snprintf(line, sizeof(line), "m-%zu\t%zu\tn:t:m-%zu\t1\t200\n", i, 100 + i, i);
        assert_non_null(strstr(log, line));
    }
    free(log);

    /* A second batch reuses the pool's 16 connections. */
    for (size_t i = 0; i < m.n; i++)
        m.calls[i].attempt = 2;
    hook_many(&h, &m, NULL);
    for (size_t i = 0; i < m.n; i++)
        assert_true(m.res[i].ok);
    target_stats_all(t, &requests, &connections, &max_in_flight);
    assert_int_equal(requests, 32);
    assert_int_equal(connections, 16 + 2);

    many_clear(&m);
    hook_close(&h);
    target_stop(t);
}

/* More calls than max_concurrency: never more in flight, all answered. */
static void test_webhook_many_bounded(void **state)
{
    (void)state;
    const char *args[] = {"--delay-ms", "20", NULL};
    target_proc *t = target_start(args);
    char url[64];
    hook h;
    hook_open_n(&h, target_url(t, url, sizeof(url)), 5000, 4);
    many m;
    many_init(&m, 13);
    hook_many(&h, &m, NULL);
    for (size_t i = 0; i < m.n; i++)
        assert_true(m.res[i].ok);
    long requests, connections, max_in_flight;
    target_stats_all(t, &requests, &connections, &max_in_flight);
    assert_int_equal(requests, 13);
    assert_true(max_in_flight >= 1 && max_in_flight <= 4);
    assert_true(connections <= 4 + 1); /* a freed handle reuses its connection */
    many_clear(&m);
    hook_close(&h);
    target_stop(t);
}

/* One batch, four kinds of answer, each in its own result. */
static void test_webhook_many_mixed_results(void **state)
{
    (void)state;
    char ids[PATH_MAX];
    snprintf(ids, sizeof(ids), "%s/many-fail-ids", g_dir);
    FILE *f = fopen(ids, "w");
    assert_non_null(f);
    fputs("m-1\nm-4\n", f);
    fclose(f);
    const char *args[] = {"--fail-ids-file", ids, "--fail-status", "503", NULL};
    target_proc *t = target_start(args);
    char url[64];
    hook h;
    hook_open_n(&h, target_url(t, url, sizeof(url)), 5000, 8);
    many m;
    many_init(&m, 6);
    /* m-2 cannot be sent: a newline in its identity. */
    snprintf(m.ta[2].identity, sizeof(m.ta[2].identity), "n:t:\nX-Evil: 1");
    hook_many(&h, &m, NULL);

    static const struct {
        bool ok, retriable;
        int status;
        const char *code;
    } want[] = {
        {true, false, 200, ""},           {false, true, 503, "http_503"},
        {false, false, 0, "invalid_header"}, {true, false, 200, ""},
        {false, true, 503, "http_503"},   {true, false, 200, ""},
    };
    for (size_t i = 0; i < m.n; i++) {
        assert_false(m.res[i].not_started);
        assert_int_equal(m.res[i].ok, want[i].ok);
        assert_int_equal(m.res[i].retriable, want[i].retriable);
        assert_int_equal(m.res[i].http_status, want[i].status);
        assert_string_equal(m.res[i].error_code, want[i].code);
    }
    assert_non_null(strstr(m.res[1].error, "injected failure"));
    long requests, connections;
    target_stats(t, &requests, &connections);
    assert_int_equal(requests, 5); /* not m-2 */
    many_clear(&m);
    hook_close(&h);
    target_stop(t);
}

static void test_webhook_many_timeouts(void **state)
{
    (void)state;
    const char *args[] = {"--delay-ms", "3000", NULL};
    target_proc *t = target_start(args);
    char url[64];
    hook h;
    hook_open_n(&h, target_url(t, url, sizeof(url)), 200, 8);
    many m;
    many_init(&m, 5);
    hook_many(&h, &m, NULL);
    for (size_t i = 0; i < m.n; i++) {
        assert_false(m.res[i].ok);
        assert_true(m.res[i].retriable);
        assert_int_equal(m.res[i].http_status, 0);
        assert_string_equal(m.res[i].error_code, "timeout");
    }
    hook_close(&h);
    many_clear(&m);
    target_stop(t);
}

static void test_webhook_many_connection_refused(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", unused_port());
    hook h;
    hook_open_n(&h, url, 2000, 8);
    many m;
    many_init(&m, 4);
    hook_many(&h, &m, NULL);
    for (size_t i = 0; i < m.n; i++) {
        assert_false(m.res[i].ok);
        assert_true(m.res[i].retriable);
        assert_string_equal(m.res[i].error_code, "connect");
        assert_true(m.res[i].error[0] != '\0');
    }
    many_clear(&m);
    hook_close(&h);
}

/* The stop flag starts nothing; a passed start deadline starts the first
 * call only (each batch makes progress). */
static void test_webhook_many_stop(void **state)
{
    (void)state;
    target_proc *t = target_start(NULL);
    char url[64];
    hook h;
    hook_open_n(&h, target_url(t, url, sizeof(url)), 5000, 1);
    many m;
    many_init(&m, 3);

    atomic_bool flag = true;
    aw_provider_stop stop = {.flag = &flag};
    hook_many(&h, &m, &stop);
    for (size_t i = 0; i < m.n; i++)
        assert_true(m.res[i].not_started);
    long requests, connections;
    target_stats(t, &requests, &connections);
    assert_int_equal(requests, 0);

    atomic_store(&flag, false);
    stop.start_until_ms = aw_mono_now_ms() - 1;
    hook_many(&h, &m, &stop);
    assert_false(m.res[0].not_started);
    assert_true(m.res[0].ok);
    assert_true(m.res[1].not_started);
    assert_true(m.res[2].not_started);
    target_stats(t, &requests, &connections);
    assert_int_equal(requests, 1);

    many_clear(&m);
    hook_close(&h);
    target_stop(t);
}

/* A driver without execute_many (noop) runs through the one-at-a-time path
 * of aw_provider_execute_many, honouring the stop flag and the deadline. */
static void test_execute_many_fallback(void **state)
{
    (void)state;
    aw_provider_config pc = {.name = "noop", .type = "noop", .timeout_ms = 1000,
                             .max_attempts = 1, .max_concurrency = 1};
    aw_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.providers = &pc;
    cfg.n_providers = 1;
    aw_provider_set *ps = NULL;
    aw_provider_sessions *ss = NULL;
    aw_error err = {0};
    assert_int_equal(aw_provider_set_new(&cfg, &ps, &err), AW_OK);
    assert_int_equal(aw_provider_sessions_open(ps, &ss, &err), AW_OK);
    assert_null(aw_provider_driver_find("noop")->execute_many);
    many m;
    many_init(&m, 3);

    memset(m.res, 0x5a, sizeof(m.res));
    aw_provider_execute_many(ss, 0, m.calls, m.res, m.n, NULL);
    for (size_t i = 0; i < m.n; i++) {
        assert_true(m.res[i].ok);
        assert_false(m.res[i].not_started);
    }
    atomic_bool flag = true;
    aw_provider_stop stop = {.flag = &flag};
    aw_provider_execute_many(ss, 0, m.calls, m.res, m.n, &stop);
    for (size_t i = 0; i < m.n; i++)
        assert_true(m.res[i].not_started);
    atomic_store(&flag, false);
    stop.start_until_ms = aw_mono_now_ms() - 1;
    aw_provider_execute_many(ss, 0, m.calls, m.res, m.n, &stop);
    assert_true(m.res[0].ok);
    assert_true(m.res[1].not_started);
    assert_true(m.res[2].not_started);

    many_clear(&m);
    aw_provider_sessions_close(ss);
    aw_provider_set_destroy(ps);
}

/* ---- fixtures ------------------------------------------------------------ */

static int stop_leftover_targets(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_TARGETS; i++) {
        if (g_targets[i].pid) {
            kill(g_targets[i].pid, SIGKILL);
            waitpid(g_targets[i].pid, NULL, 0);
            g_targets[i].pid = 0;
        }
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    aw_http_global_init();
    aw_log_init(AW_LOG_WARN, AW_LOG_TEXT, 2);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/aw-test-webhook-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    stop_leftover_targets(state);
    if (g_dir[0])
        rm_dir(g_dir);
    aw_http_global_cleanup();
    return 0;
}

#define T(f) cmocka_unit_test_teardown(f, stop_leftover_targets)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_http_status_retriable),
        T(test_curl_code_mapping),
        T(test_registry),
        T(test_noop_provider),
        T(test_log_provider),
        T(test_webhook_create_rejects_bad_config),
        T(test_webhook_success_sends_headers_and_body),
        T(test_webhook_without_trace_headers),
        T(test_webhook_status_classes),
        T(test_webhook_fail_ids_file),
        T(test_webhook_timeout_is_retriable),
        T(test_webhook_connection_refused_is_retriable),
        T(test_webhook_reuses_connection_per_session),
        T(test_webhook_refuses_header_injection),
        T(test_webhook_never_logs_url_credentials),
        T(test_webhook_large_body),
        T(test_webhook_many_runs_calls_together),
        T(test_webhook_many_bounded),
        T(test_webhook_many_mixed_results),
        T(test_webhook_many_timeouts),
        T(test_webhook_many_connection_refused),
        T(test_webhook_many_stop),
        T(test_execute_many_fallback),
    };
    return cmocka_run_group_tests_name("providers", tests, group_setup, group_teardown);
}
