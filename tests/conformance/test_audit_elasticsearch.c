/* The audit conformance suite against the Elasticsearch backend, plus what
 * only that backend can be asked.
 *
 *  1. spawns tests/es_fake (from AW_BUILD_DIR; a protocol-faithful in-memory
 *     Elasticsearch that validates request shapes and injects faults) with
 *     basic auth, runs `migrate` through the driver slot, then the whole
 *     audit conformance suite;
 *  2. Elasticsearch specifics against the fake: migrate is idempotent and
 *     follows option changes; create refuses a missing template; per-item
 *     429/500 answers are retried for the failed items only and every record
 *     ends up stored exactly once; bounded retries end transient; a
 *     permanent per-item error is reported with its reason; a whole-request
 *     429 is transient; refused connections are transient, 401 permanent;
 *     OpenSearch has no ILM; the fake saw zero badly shaped requests;
 *  3. prints the write rate for 20,000 records in batches of 500 (no
 *     assertion on time);
 *  4. the suite again against a real cluster: ACTEON_TEST_ES_URL
 *     (http(s)://user:pass@host:9200) or else AW_TEST_OPENSEARCH_URL (the
 *     OpenSearch 2.19 node scripts/test.sh starts); said skipped otherwise.
 *
 * CI runs OpenSearch, not Elasticsearch itself. The fake is stopped at the
 * end (SIGTERM, then SIGKILL after a bound). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "backends/audit/audit.h"
#include "backends/http/http.h"
#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "suite_audit.h"

#define DAY_MS (24 * 3600 * 1000LL)
#define RETENTION_MS (7 * DAY_MS)
#define FAKE_USER "elastic"
#define FAKE_PASS "s3cr%40t" /* URL-encoded "s3cr@t": decoding is exercised too */
#define FAKE_PASS_PLAIN "s3cr@t"

typedef struct fake_proc {
    pid_t pid;
    int port;
} fake_proc;

/* ---- the fake process ---------------------------------------------------- */

/* Start es_fake with extra args; read its port from stdout within 10 s. */
static int fake_start(fake_proc *fp, const char *const *extra)
{
    const char *dir = getenv("AW_BUILD_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/es_fake", dir ? dir : ".");
    const char *argv[16] = {path, "--auth", FAKE_USER ":" FAKE_PASS_PLAIN};
    size_t argc = 3;
    for (size_t i = 0; extra && extra[i] && argc < 15; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char line[32] = "";
    size_t n = 0;
    int64_t deadline = aw_mono_now_ms() + 10000;
    while (n < sizeof(line) - 1 && !memchr(line, '\n', n)) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int64_t left = deadline - aw_mono_now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = read(pfd[0], line + n, sizeof(line) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        line[n] = '\0';
    }
    close(pfd[0]);
    fp->pid = pid;
    fp->port = atoi(line);
    if (fp->port <= 0) {
        fprintf(stderr, "es_fake (%s) did not report a port\n", path);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fp->pid = 0;
        return -1;
    }
    return 0;
}

/* SIGTERM, wait up to 5 s for the exit, then SIGKILL. */
static void fake_stop(fake_proc *fp)
{
    if (fp->pid <= 0)
        return;
    kill(fp->pid, SIGTERM);
    int64_t deadline = aw_mono_now_ms() + 5000;
    while (waitpid(fp->pid, NULL, WNOHANG) == 0) {
        if (aw_mono_now_ms() > deadline) {
            kill(fp->pid, SIGKILL);
            waitpid(fp->pid, NULL, 0);
            break;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fp->pid = 0;
}

/* An HTTP call to the fake, as the operator (with the credentials). */
static long fake_call(const fake_proc *fp, const char *method, const char *path,
                      const char *body, aw_buf *resp)
{
    CURL *h;
    aw_error err = {0};
    if (aw_http_easy_new(2000, 10000, &h, &err) != AW_OK)
        return -1;
    curl_easy_setopt(h, CURLOPT_USERPWD, FAKE_USER ":" FAKE_PASS_PLAIN);
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fp->port, path);
    long status = -1;
    aw_http_perform(h, "es_fake", method, url, body ? "application/json" : NULL, body,
                    body ? strlen(body) : 0, 1 << 20, &status, resp, &err);
    curl_easy_cleanup(h);
    return status;
}

static json_int_t stat_of(const fake_proc *fp, const char *key)
{
    aw_buf b = {0};
    assert_int_equal(fake_call(fp, "GET", "/_fake/stats", NULL, &b), 200);
    json_t *j = json_loads(b.data, 0, NULL);
    aw_buf_free(&b);
    assert_non_null(j);
    json_int_t v = json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

static void set_faults(const fake_proc *fp, const char *json)
{
    aw_buf b = {0};
    assert_int_equal(fake_call(fp, "POST", "/_fake/faults", json, &b), 200);
    aw_buf_free(&b);
}

static void fake_url(char *out, size_t outsz, int port, const char *index, const char *more)
{
    snprintf(out, outsz,
             "http://%s:%s@127.0.0.1:%d/?index=%s&refresh=wait_for&replicas=0&backoff_ms=5%s%s",
             FAKE_USER, FAKE_PASS, port, index, more && *more ? "&" : "", more ? more : "");
}

/* ---- records --------------------------------------------------------------- */

static void make_rec(aw_audit_record *r, const char *topic, const char *ns, int64_t off,
                     int64_t completed_ms)
{
    memset(r, 0, sizeof(*r));
    char id[200], buf[256];
    aw_audit_record_id(id, sizeof(id), topic, 0, off);
    r->record_id = strdup(id);
    snprintf(buf, sizeof(buf), "act-%" PRId64, off);
    r->action_id = strdup(buf);
    r->ns = strdup(ns);
    r->tenant = strdup("acme");
    r->provider = strdup("log");
    r->action_type = strdup("notify");
    snprintf(buf, sizeof(buf), "%s:acme:act-%" PRId64, ns, off);
    r->dedup_identity = strdup(buf);
    r->outcome = AW_OUTCOME_EXECUTED;
    r->details = strdup("{\"provider_status\":200}");
    snprintf(buf, sizeof(buf), "{\"offset\":%" PRId64 ",\"body\":\"0123456789abcdef\"}", off);
    r->payload = strdup(buf);
    r->metadata = strdup("{\"source\":\"es-test\"}");
    r->source_topic = strdup(topic);
    r->source_offset = off;
    r->worker_id = strdup("es-test");
    r->fencing_token = 1;
    r->attempts = 1;
    r->completed_at_ms = completed_ms;
    r->dispatched_at_ms = completed_ms - 3;
    r->duration_ms = 3;
    r->expires_at_ms = completed_ms + 365 * DAY_MS;
}

static aw_audit_record *recs_make(const char *tag, const char *run, size_t n, int64_t base_ms,
                                  char *ns_out, size_t nssz)
{
    char topic[128];
    snprintf(topic, sizeof(topic), "es.%s.%s", run, tag);
    snprintf(ns_out, nssz, "es-%s-%s", run, tag);
    aw_audit_record *r = calloc(n, sizeof(*r));
    assert_non_null(r);
    for (size_t i = 0; i < n; i++)
        make_rec(&r[i], topic, ns_out, (int64_t)i, base_ms - (int64_t)(i % 97) * 1000);
    return r;
}

static void recs_free(aw_audit_record *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        aw_audit_record_clear(&r[i]);
    free(r);
}

/* "<prefix>-YYYY.MM.DD" of ms (UTC), computed here independently of the
 * backend. */
static void es_day_name(char *out, size_t outsz, const char *prefix, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, outsz, "%s-%04d.%02d.%02d", prefix, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
}

/* ---- specifics ------------------------------------------------------------- */

typedef struct es_ctx {
    fake_proc fake;
    char url[512];
    char run[17];
    aw_audit *audit;
    aw_audit_session *s;
} es_ctx;

/* Rows of namespace ns, paging through with the maximum limit; checks that
 * no record id comes twice. */
static size_t count_ns(es_ctx *c, const char *ns)
{
    aw_audit_query q = {.ns = ns, .outcome = -1, .limit = AW_AUDIT_MAX_LIMIT};
    size_t n = 0;
    char *cursor = NULL;
    char last[256] = "";
    do {
        q.cursor = cursor;
        aw_audit_page p;
        aw_error err = {0};
        aw_status rc = aw_audit_query_run(c->s, &q, &p, &err);
        if (rc != AW_OK)
            fail_msg("query: %s", err.msg);
        for (size_t i = 0; i < p.count; i++) {
            assert_string_not_equal(last, p.records[i].record_id); /* sorted: dups adjacent */
            snprintf(last, sizeof(last), "%s", p.records[i].record_id);
        }
        n += p.count;
        free(cursor);
        cursor = p.next_cursor;
        p.next_cursor = NULL;
        aw_audit_page_clear(&p);
    } while (cursor);
    return n;
}

static void test_migrate_idempotent(void **state)
{
    es_ctx *c = *state;
    aw_audit_options o = {.url = c->url, .retention_ms = RETENTION_MS};
    const aw_audit_driver *d = aw_audit_driver_find("elasticsearch");
    aw_error err = {0};
    int applied = -1;
    assert_int_equal(d->migrate(&o, &applied, &err), AW_OK);
    assert_int_equal(applied, 0); /* main() already migrated */
    char other[512];
    fake_url(other, sizeof(other), c->fake.port, "awt-mig", "ilm=on");
    o.url = other;
    assert_int_equal(d->migrate(&o, &applied, &err), AW_OK);
    assert_int_equal(applied, 2); /* policy + template */
    fake_url(other, sizeof(other), c->fake.port, "awt-mig", "ilm=on&shards=2");
    assert_int_equal(d->migrate(&o, &applied, &err), AW_OK);
    assert_int_equal(applied, 1); /* only the template changed */
    o.retention_ms = 2 * RETENTION_MS;
    assert_int_equal(d->migrate(&o, &applied, &err), AW_OK);
    assert_int_equal(applied, 1); /* only the policy changed */
}

static void test_create_needs_migrate(void **state)
{
    es_ctx *c = *state;
    char url[512];
    fake_url(url, sizeof(url), c->fake.port, "awt-never-migrated", NULL);
    aw_audit_options o = {.url = url, .retention_ms = RETENTION_MS};
    aw_audit *a = NULL;
    aw_error err = {0};
    assert_int_equal(aw_audit_new("elasticsearch", &o, &a, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "migrate"));
    assert_null(a);
}

static void test_url_errors(void **state)
{
    es_ctx *c = *state;
    static const char *const bad[] = {
        "", "ftp://h:1/", "http://u:" FAKE_PASS "@h:1/?index=UPPER",
        "http://u:" FAKE_PASS "@h:1/?refresh=soon", "http://u:" FAKE_PASS "@h:1/?nope=1",
        "http://h:1/?retries=99", "http://h:1/?index=-x", "http://h:1/?ilm=maybe",
        "http://h:1/?index",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aw_audit_options o = {.url = bad[i], .retention_ms = RETENTION_MS};
        aw_audit *a = NULL;
        aw_error err = {0};
        if (aw_audit_new("elasticsearch", &o, &a, &err) != AW_CONFIG)
            fail_msg("url %zu: want a config error, got \"%s\"", i, err.msg);
        assert_null(strstr(err.msg, FAKE_PASS_PLAIN));
        assert_null(strstr(err.msg, FAKE_PASS));
    }
    (void)c;
}

static void test_transport_and_auth_errors(void **state)
{
    es_ctx *c = *state;
    /* a port nobody listens on: bind, read the port, close */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    char url[512];
    fake_url(url, sizeof(url), ntohs(sa.sin_port), "awt", NULL);
    aw_audit_options o = {.url = url, .retention_ms = RETENTION_MS, .connect_timeout_ms = 2000};
    aw_audit *a = NULL;
    aw_error err = {0};
    assert_int_equal(aw_audit_new("elasticsearch", &o, &a, &err), AW_TRANSIENT);
    assert_true(err.retriable);
    /* wrong password: 401 is permanent, with the server's reason */
    snprintf(url, sizeof(url), "http://" FAKE_USER ":wrong@127.0.0.1:%d/?index=x",
             c->fake.port);
    o.url = url;
    assert_int_equal(aw_audit_new("elasticsearch", &o, &a, &err), AW_PERMANENT);
    assert_false(err.retriable);
    assert_non_null(strstr(err.msg, "401"));
    assert_non_null(strstr(err.msg, "security_exception"));
}

/* 200 answers carrying per-item 429/500: only the failed items are sent
 * again, and every record ends up stored exactly once. */
static void test_item_failures_retried(void **state)
{
    es_ctx *c = *state;
    enum { N = 300 };
    char ns[160];
    aw_audit_record *r = recs_make("retry", c->run, N, aw_time_now_ms() - 3600000, ns,
                                   sizeof(ns));
    json_int_t items0 = stat_of(&c->fake, "bulk_items");
    json_int_t req0 = stat_of(&c->fake, "bulk_requests");
    json_int_t created0 = stat_of(&c->fake, "created");
    set_faults(&c->fake, "{\"item_429_every\":10,\"item_500_every\":13}");
    size_t inserted = 0;
    aw_error err = {0};
    aw_status rc = aw_audit_append_batch(c->s, r, N, &inserted, &err);
    set_faults(&c->fake, "{\"item_429_every\":0,\"item_500_every\":0}");
    if (rc != AW_OK)
        fail_msg("append: %s", err.msg);
    assert_int_equal(inserted, N);
    json_int_t items = stat_of(&c->fake, "bulk_items") - items0;
    json_int_t reqs = stat_of(&c->fake, "bulk_requests") - req0;
    assert_int_equal(stat_of(&c->fake, "created") - created0, N);
    /* round 1 sends N items, later rounds only the failed ones (~1/6, then
     * ~1/6 of those ...): far fewer than resending the batch */
    assert_true(reqs >= 2 && reqs <= 4);
    assert_true(items > N && items < 2 * N);
    fprintf(stderr, "  per-item faults: %d records, %lld bulk requests, %lld items sent\n", N,
            (long long)reqs, (long long)items);
    assert_int_equal(count_ns(c, ns), N);
    /* the whole batch again: all 409, nothing counted, nothing stored twice */
    assert_int_equal(aw_audit_append_batch(c->s, r, N, &inserted, &err), AW_OK);
    assert_int_equal(inserted, 0);
    assert_int_equal(count_ns(c, ns), N);
    recs_free(r, N);
}

static void test_item_retries_bounded(void **state)
{
    es_ctx *c = *state;
    enum { N = 10 };
    char ns[160];
    aw_audit_record *r = recs_make("bounded", c->run, N, aw_time_now_ms() - 3600000, ns,
                                   sizeof(ns));
    set_faults(&c->fake, "{\"item_500_every\":1}");
    json_int_t req0 = stat_of(&c->fake, "bulk_requests");
    size_t inserted = 99;
    aw_error err = {0};
    aw_status rc = aw_audit_append_batch(c->s, r, N, &inserted, &err);
    set_faults(&c->fake, "{\"item_500_every\":0}");
    assert_int_equal(rc, AW_TRANSIENT);
    assert_true(err.retriable);
    assert_int_equal(inserted, 0);
    assert_int_equal(stat_of(&c->fake, "bulk_requests") - req0, 4); /* 1 + retries=3 */
    assert_non_null(strstr(err.msg, "still failing"));
    /* the caller's retry then stores them all */
    assert_int_equal(aw_audit_append_batch(c->s, r, N, &inserted, &err), AW_OK);
    assert_int_equal(inserted, N);
    recs_free(r, N);
}

static void test_item_permanent(void **state)
{
    es_ctx *c = *state;
    enum { N = 6 };
    char ns[160];
    aw_audit_record *r = recs_make("perm", c->run, N, aw_time_now_ms() - 3600000, ns,
                                   sizeof(ns));
    free(r[3].record_id);
    r[3].record_id = strdup("es.poison-pill:0:3");
    set_faults(&c->fake, "{\"reject_id_containing\":\"poison-pill\"}");
    size_t inserted = 0;
    aw_error err = {0};
    aw_status rc = aw_audit_append_batch(c->s, r, N, &inserted, &err);
    set_faults(&c->fake, "{\"reject_id_containing\":null}");
    assert_int_equal(rc, AW_PERMANENT);
    assert_false(err.retriable);
    assert_int_equal(inserted, N - 1); /* the others are stored */
    assert_non_null(strstr(err.msg, "mapper_parsing_exception"));
    assert_non_null(strstr(err.msg, "poison-pill"));
    fprintf(stderr, "  permanent item error: %s\n", err.msg);
    recs_free(r, N);
}

static void open_backend(es_ctx *c, const char *index, const char *more, aw_audit **a,
                         aw_audit_session **s);

static void test_request_429_transient(void **state)
{
    es_ctx *c = *state;
    enum { N = 5 };
    char ns[160];
    aw_audit_record *r = recs_make("req429", c->run, N, aw_time_now_ms() - 3600000, ns,
                                   sizeof(ns));
    /* without the ids search, the first request of an append is the _bulk */
    aw_audit *a;
    aw_audit_session *s1;
    open_backend(c, "awt-conf", "dedup_across_days=off", &a, &s1);
    set_faults(&c->fake, "{\"request_429_next\":1}");
    json_int_t bulks0 = stat_of(&c->fake, "bulk_requests");
    size_t inserted = 99;
    aw_error err = {0};
    assert_int_equal(aw_audit_append_batch(s1, r, N, &inserted, &err), AW_TRANSIENT);
    assert_int_equal(stat_of(&c->fake, "bulk_requests"), bulks0); /* refused whole */
    aw_audit_session_close(s1);
    aw_audit_destroy(a);
    assert_true(err.retriable);
    assert_int_equal(inserted, 0);
    assert_non_null(strstr(err.msg, "429"));
    assert_non_null(strstr(err.msg, "es_rejected_execution_exception"));
    assert_int_equal(aw_audit_append_batch(c->s, r, N, &inserted, &err), AW_OK);
    assert_int_equal(inserted, N);
    /* the same answer to a search */
    set_faults(&c->fake, "{\"request_429_next\":1}");
    aw_audit_query q = {.ns = ns, .outcome = -1};
    aw_audit_page p;
    assert_int_equal(aw_audit_query_run(c->s, &q, &p, &err), AW_TRANSIENT);
    assert_int_equal(p.count, 0);
    assert_int_equal(count_ns(c, ns), N);
    recs_free(r, N);
}

/* The documents are flat and the JSON members are text: a payload of any
 * shape (here a different type per record for the same key) never
 * conflicts with the mapping. */
static void test_payload_shapes(void **state)
{
    es_ctx *c = *state;
    enum { N = 4 };
    char ns[160];
    aw_audit_record *r = recs_make("shapes", c->run, N, aw_time_now_ms() - 3600000, ns,
                                   sizeof(ns));
    static const char *const payloads[] = {"{\"x\":1}", "{\"x\":\"one\"}",
                                           "{\"x\":{\"deep\":[1,2,{\"y\":null}]}}", "[\"x\"]"};
    for (int i = 0; i < N; i++) {
        free(r[i].payload);
        r[i].payload = strdup(payloads[i]);
    }
    size_t inserted = 0;
    aw_error err = {0};
    if (aw_audit_append_batch(c->s, r, N, &inserted, &err) != AW_OK)
        fail_msg("append: %s", err.msg);
    assert_int_equal(inserted, N);
    assert_int_equal(count_ns(c, ns), N);
    recs_free(r, N);
}

/* A backend of its own on prefix `index` (migrated first). */
static void open_backend(es_ctx *c, const char *index, const char *more, aw_audit **a,
                         aw_audit_session **s)
{
    char url[512];
    fake_url(url, sizeof(url), c->fake.port, index, more);
    aw_audit_options o = {.url = url, .retention_ms = RETENTION_MS};
    aw_error err = {0};
    int applied;
    assert_int_equal(aw_audit_driver_find("elasticsearch")->migrate(&o, &applied, &err), AW_OK);
    if (aw_audit_new("elasticsearch", &o, a, &err) != AW_OK ||
        aw_audit_session_open(*a, s, &err) != AW_OK)
        fail_msg("open %s: %s", index, err.msg);
}

static bool index_exists(es_ctx *c, const char *name)
{
    aw_buf b = {0};
    char path[300];
    snprintf(path, sizeof(path), "/_cat/indices/%s?format=json&h=index", name);
    assert_int_equal(fake_call(&c->fake, "GET", path, NULL, &b), 200);
    bool found = b.data && strstr(b.data, name) != NULL;
    aw_buf_free(&b);
    return found;
}

/* A redelivery whose completed_at moved past UTC midnight targets the next
 * day's index, where create cannot see the first copy: dedup_across_days
 * finds it by _id first. With the check off the gap shows (two copies). */
static void test_redelivery_across_midnight(void **state)
{
    es_ctx *c = *state;
    const int64_t midnight = aw_time_now_ms() / DAY_MS * DAY_MS;
    char ns[160];
    aw_audit_record *r = recs_make("midnight", c->run, 4, midnight - 100, ns, sizeof(ns));
    /* r[0], r[1]: first delivery just before midnight; r[2], r[3]: the same
     * record ids redelivered just after it */
    for (int i = 0; i < 2; i++) {
        r[i].completed_at_ms = midnight - 100;
        aw_audit_record_clear(&r[i + 2]);
        assert_int_equal(aw_audit_record_copy(&r[i + 2], &r[i], NULL), AW_OK);
        r[i + 2].completed_at_ms = midnight + 100;
    }
    size_t ins;
    aw_error err = {0};
    assert_int_equal(aw_audit_append_batch(c->s, r, 1, &ins, &err), AW_OK);
    assert_int_equal(ins, 1);
    assert_int_equal(aw_audit_append_batch(c->s, &r[2], 1, &ins, &err), AW_OK);
    assert_int_equal(ins, 0); /* found in yesterday's index: not stored again */
    assert_int_equal(count_ns(c, ns), 1);
    aw_audit *a;
    aw_audit_session *s1;
    open_backend(c, "awt-conf", "dedup_across_days=off", &a, &s1);
    assert_int_equal(aw_audit_append_batch(s1, &r[1], 1, &ins, &err), AW_OK);
    assert_int_equal(aw_audit_append_batch(s1, &r[3], 1, &ins, &err), AW_OK);
    assert_int_equal(ins, 1); /* the documented gap without the check */
    aw_audit_query q = {.ns = ns, .outcome = -1};
    aw_audit_page p;
    assert_int_equal(aw_audit_query_run(c->s, &q, &p, &err), AW_OK);
    assert_int_equal(p.count, 3); /* r[1]'s record id twice */
    aw_audit_page_clear(&p);
    aw_audit_session_close(s1);
    aw_audit_destroy(a);
    recs_free(r, 4);
}

/* cleanup deletes expired rows (bounded), then drops dated indices that
 * are empty and entirely past the retention; not with drop_indices=off,
 * and never today's. (Prefixes that overlap, like x and x-y, cannot both be
 * migrated: Elasticsearch refuses two templates of equal priority with
 * overlapping patterns, and so does the fake; aw_es_index_day's guard is
 * covered by the unit test.) */
static void test_cleanup_drops_empty_old_indices(void **state)
{
    es_ctx *c = *state;
    const int64_t now = aw_time_now_ms(), old = now - 40 * DAY_MS;
    aw_audit *a1, *a2;
    aw_audit_session *s1, *s2;
    open_backend(c, "awt-drop", NULL, &a1, &s1);
    open_backend(c, "awt-keep", "drop_indices=off", &a2, &s2);
    char ns[160];
    enum { N = 5 };
    aw_audit_record *r = recs_make("drop", c->run, N + 1, old, ns, sizeof(ns));
    for (int i = 0; i < N; i++) {
        r[i].completed_at_ms = old; /* one dated index, all expired */
        r[i].expires_at_ms = now - DAY_MS;
    }
    r[N].completed_at_ms = now; /* today's index, live */
    size_t ins, del;
    aw_error err = {0};
    assert_int_equal(aw_audit_append_batch(s1, r, N + 1, &ins, &err), AW_OK);
    assert_int_equal(aw_audit_append_batch(s2, r, N, &ins, &err), AW_OK);
    char old1[64], old2[64], today1[64];
    es_day_name(old1, sizeof(old1), "awt-drop", old);
    es_day_name(old2, sizeof(old2), "awt-keep", old);
    es_day_name(today1, sizeof(today1), "awt-drop", now);
    assert_true(index_exists(c, old1));
    json_int_t dropped0 = stat_of(&c->fake, "indices_deleted");
    /* the budget used up: rows go, the index stays for a later call */
    assert_int_equal(aw_audit_cleanup(s1, now, N, &del, &err), AW_OK);
    assert_int_equal(del, N);
    assert_int_equal(stat_of(&c->fake, "indices_deleted"), dropped0);
    /* backlog drained: the empty old index goes, today's stays */
    assert_int_equal(aw_audit_cleanup(s1, now, 100, &del, &err), AW_OK);
    assert_int_equal(del, 0);
    assert_int_equal(stat_of(&c->fake, "indices_deleted"), dropped0 + 1);
    assert_false(index_exists(c, old1));
    assert_true(index_exists(c, today1));
    aw_audit_query q = {.ns = ns, .outcome = -1};
    aw_audit_page p;
    assert_int_equal(aw_audit_query_run(s1, &q, &p, &err), AW_OK);
    assert_int_equal(p.count, 1); /* the live record */
    assert_string_equal(p.records[0].record_id, r[N].record_id);
    aw_audit_page_clear(&p);
    /* drop_indices=off: emptied, kept */
    assert_int_equal(aw_audit_cleanup(s2, now, 100, &del, &err), AW_OK);
    assert_int_equal(del, N);
    assert_int_equal(aw_audit_cleanup(s2, now, 100, &del, &err), AW_OK);
    assert_true(index_exists(c, old2));
    assert_int_equal(stat_of(&c->fake, "indices_deleted"), dropped0 + 1);
    recs_free(r, N + 1);
    aw_audit_session_close(s2);
    aw_audit_destroy(a2);
    aw_audit_session_close(s1);
    aw_audit_destroy(a1);
}

static void test_opensearch_has_no_ilm(void **state)
{
    (void)state;
    fake_proc os = {0};
    const char *args[] = {"--opensearch", NULL};
    assert_int_equal(fake_start(&os, args), 0);
    char url[512];
    fake_url(url, sizeof(url), os.port, "awt-os", "ilm=on");
    aw_audit_options o = {.url = url, .retention_ms = RETENTION_MS};
    const aw_audit_driver *d = aw_audit_driver_find("elasticsearch");
    aw_error err = {0};
    int applied = 0;
    aw_status rc = d->migrate(&o, &applied, &err);
    fake_url(url, sizeof(url), os.port, "awt-os", "ilm=off");
    aw_status rc2 = d->migrate(&o, &applied, &err);
    int applied2 = applied;
    fake_stop(&os);
    assert_int_equal(rc, AW_PERMANENT);
    assert_int_equal(rc2, AW_OK);
    assert_int_equal(applied2, 1);
}

/* Runs after everything else against the main fake. */
static void test_no_rejected_shapes(void **state)
{
    es_ctx *c = *state;
    aw_buf b = {0};
    fake_call(&c->fake, "GET", "/_fake/stats", NULL, &b);
    fprintf(stderr, "  es_fake stats: %s\n", b.data ? b.data : "?");
    aw_buf_free(&b);
    assert_int_equal(stat_of(&c->fake, "rejected_shapes"), 0);
    assert_int_equal(stat_of(&c->fake, "item_mapping_errors"), 0);
}

/* ---- write rate -------------------------------------------------------------- */

static void measure_write_rate(aw_audit_session *s, const char *run, const char *label)
{
    enum { N = 20000, BATCH = 500 };
    char ns[160];
    aw_audit_record *r = recs_make("rate", run, N, aw_time_now_ms() - 3600000, ns,
                                   sizeof(ns));
    int64_t t0 = aw_mono_now_us();
    size_t total = 0;
    for (size_t i = 0; i < N; i += BATCH) {
        size_t inserted = 0;
        aw_error err = {0};
        if (aw_audit_append_batch(s, r + i, BATCH, &inserted, &err) != AW_OK) {
            fprintf(stderr, "write rate: append failed: %s\n", err.msg);
            break;
        }
        total += inserted;
    }
    int64_t us = aw_mono_now_us() - t0;
    printf("elasticsearch (%s): %zu records in batches of %d: "
           "%.0f records/s (%.2f s)\n",
           label, total, BATCH, us > 0 ? (double)total * 1e6 / (double)us : 0.0, (double)us / 1e6);
    recs_free(r, N);
}

/* ---- runner ------------------------------------------------------------------ */

static void random_hex(char out[17])
{
    uint64_t v = (uint64_t)aw_time_now_ms() * 1000003u ^ (uint64_t)getpid();
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
            v ^= (uint64_t)aw_mono_now_us();
        close(fd);
    }
    snprintf(out, 17, "%016" PRIx64, v);
}

static int migrate_url(const char *url)
{
    aw_audit_options o = {.url = url, .retention_ms = RETENTION_MS};
    aw_error err = {0};
    int applied = 0;
    aw_status rc = aw_audit_driver_find("elasticsearch")->migrate(&o, &applied, &err);
    if (rc != AW_OK)
        fprintf(stderr, "migrate: %s (%s)\n", aw_status_name(rc), err.msg);
    return rc == AW_OK ? 0 : 1;
}

/* A real cluster: ACTEON_TEST_ES_URL (any Elasticsearch or OpenSearch the
 * tester points at), else AW_TEST_OPENSEARCH_URL (the OpenSearch node
 * scripts/test.sh starts from Maven Central jars). ILM stays off: OpenSearch
 * has ISM instead, and the ILM calls are checked against the fake. */
static int run_real_cluster(const char *run)
{
    const char *env = getenv("ACTEON_TEST_ES_URL");
    if (!env || !*env)
        env = getenv("AW_TEST_OPENSEARCH_URL");
    if (!env || !*env) {
        printf("SKIP: real cluster part: neither ACTEON_TEST_ES_URL nor AW_TEST_OPENSEARCH_URL "
               "is set (scripts/test.sh starts an OpenSearch node; or e.g. "
               "ACTEON_TEST_ES_URL=http://elastic:pw@127.0.0.1:9200)\n");
        return 0;
    }
    char url[2048];
    snprintf(url, sizeof(url), "%s%sindex=acteon-awconf&refresh=wait_for&replicas=0", env,
             strchr(env, '?') ? "&" : (env[strlen(env) - 1] == '/' ? "?" : "/?"));
    if (migrate_url(url))
        return 1;
    aw_audit_options o = {.url = url, .retention_ms = RETENTION_MS};
    int failed = aw_audit_conformance_run("elasticsearch", &o);
    aw_audit *a = NULL;
    aw_audit_session *s = NULL;
    aw_error err = {0};
    /* The rate with the production setting: refresh=wait_for holds every
     * bulk until the next refresh (about 1 s), which is for tests only. */
    char fast[2048];
    snprintf(fast, sizeof(fast), "%s%sindex=acteon-awconf&refresh=false&replicas=0", env,
             strchr(env, '?') ? "&" : (env[strlen(env) - 1] == '/' ? "?" : "/?"));
    aw_audit_options fo = {.url = fast, .retention_ms = RETENTION_MS};
    if (failed == 0 && aw_audit_new("elasticsearch", &fo, &a, &err) == AW_OK &&
        aw_audit_session_open(a, &s, &err) == AW_OK)
        measure_write_rate(s, run, "real cluster, refresh=false");
    aw_audit_session_close(s);
    aw_audit_destroy(a);
    return failed;
}

int main(void)
{
    aw_http_global_init();
    es_ctx c;
    memset(&c, 0, sizeof(c));
    random_hex(c.run);
    if (fake_start(&c.fake, NULL) != 0)
        return 1;
    int failed = 0;
    fake_url(c.url, sizeof(c.url), c.fake.port, "awt-conf", "ilm=on");
    if (migrate_url(c.url)) {
        failed = 1;
        goto out;
    }
    aw_audit_options opts = {.url = c.url, .retention_ms = RETENTION_MS};
    failed += aw_audit_conformance_run("elasticsearch", &opts);

    aw_error err = {0};
    if (aw_audit_new("elasticsearch", &opts, &c.audit, &err) != AW_OK ||
        aw_audit_session_open(c.audit, &c.s, &err) != AW_OK) {
        fprintf(stderr, "cannot open the backend: %s\n", err.msg);
        failed++;
        goto out;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_migrate_idempotent, &c),
        cmocka_unit_test_prestate(test_create_needs_migrate, &c),
        cmocka_unit_test_prestate(test_url_errors, &c),
        cmocka_unit_test_prestate(test_transport_and_auth_errors, &c),
        cmocka_unit_test_prestate(test_item_failures_retried, &c),
        cmocka_unit_test_prestate(test_item_retries_bounded, &c),
        cmocka_unit_test_prestate(test_item_permanent, &c),
        cmocka_unit_test_prestate(test_request_429_transient, &c),
        cmocka_unit_test_prestate(test_payload_shapes, &c),
        cmocka_unit_test_prestate(test_redelivery_across_midnight, &c),
        cmocka_unit_test_prestate(test_cleanup_drops_empty_old_indices, &c),
        cmocka_unit_test_prestate(test_opensearch_has_no_ilm, &c),
        cmocka_unit_test_prestate(test_no_rejected_shapes, &c),
    };
    failed += cmocka_run_group_tests_name("elasticsearch_specifics", tests, NULL, NULL);
    if (failed == 0)
        measure_write_rate(c.s, c.run, "es_fake, refresh=wait_for");
    failed += run_real_cluster(c.run);
out:
    aw_audit_session_close(c.s);
    aw_audit_destroy(c.audit);
    fake_stop(&c.fake);
    aw_http_global_cleanup();
    return failed ? 1 : 0;
}
