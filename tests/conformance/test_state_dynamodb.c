/* The state conformance suite against DynamoDB (dynalite in CI), plus what
 * only the DynamoDB backend can be asked.
 *
 * Needs AW_TEST_DYNAMODB_URL (scripts/test-servers.sh start DIR writes it to
 * DIR/env); without it the program says why and exits 77 (skipped).
 *
 *  1. migrate (the driver's migrate slot, as `acteon-worker migrate` calls
 *     it), then the suite with the cross-process group (3 forked processes);
 *  2. specifics: a missing table names the migrate command; migrate twice
 *     applies nothing the second time; throttling and 5xx are AW_TRANSIENT
 *     (a tiny local HTTP responder plays the server), throttled requests
 *     are resent inside (fault hook), other 4xx are AW_PERMANENT with the
 *     server's message; the Authorization header sent is the SigV4
 *     signature of exactly that request as it went out (recomputed from the
 *     captured bytes by the reference path of our signer, which
 *     test_dynamodb_sign checks against AWS's vectors), session token
 *     included and signed, secret never sent; an expired lease is taken
 *     over by exactly one of 16 concurrent claimers, with a higher token;
 *     and the claim_batch(64) and sequential claim rates are PRINTED (no
 *     timing asserts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#ifndef AW_WITH_STATE_DYNAMODB

int main(void)
{
    printf("SKIP: the dynamodb state backend is not compiled in (cmake -DWITH_STATE_DYNAMODB=ON)\n");
    return 77;
}

#else

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/state/dynamodb/ddb_http.h"
#include "backends/state/dynamodb/ddb_sign.h"
#include "backends/state/dynamodb/ddb_state.h"
#include "backends/state/state.h"
#include "common/aw_clock.h"
#include "suite_state.h"
#include "suite_util.h"

#define WAIT_MS 10000 /* bound on every wait for a condition */

static const char *g_url; /* AW_TEST_DYNAMODB_URL */
static char g_prefix[64]; /* per run, so reruns on one table never meet */

/* ---- helpers ------------------------------------------------------------- */

/* g_url with its table replaced by table. */
static void url_with_table(char *out, size_t outsz, const char *table)
{
    const char *auth = strstr(g_url, "://") + 3;
    const char *slash = strchr(auth, '/');
    const char *q = strchr(slash, '?');
    snprintf(out, outsz, "%.*s/%s%s", (int)(slash - g_url), g_url, table, q ? q : "");
}

static aw_state *new_ddb_url(const char *url)
{
    aw_state_options o = {.url = url, .key_prefix = g_prefix};
    return aw_ct_state_new("dynamodb", &o);
}

/* ---- a tiny local HTTP responder ------------------------------------------ */

/* Answers every request on 127.0.0.1:port with status/body (DescribeTable
 * with a valid table, so create() passes), one request per connection, and
 * keeps the last request it read. Fields under mu; the thread owns fd. */
typedef struct responder {
    int fd, port;
    pthread_t tid;
    atomic_bool stop;
    pthread_mutex_t mu;
    int status;          /* mu */
    const char *body;    /* mu */
    char last[8192];     /* mu: the last non-DescribeTable request, raw */
    unsigned requests;   /* mu: non-DescribeTable requests answered */
} responder;

static const char table_json[] =
    "{\"Table\":{\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"B\"},"
    "{\"AttributeName\":\"sk\",\"AttributeType\":\"B\"}],\"KeySchema\":[{\"AttributeName\":"
    "\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}],"
    "\"TableStatus\":\"ACTIVE\"}}";

/* Content-Length of a request head, 0 when absent. */
static size_t content_length(const char *head)
{
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, "content-length:", 15) == 0)
            return strtoul(p + 17, NULL, 10);
    return 0;
}

static void serve_one(responder *r, int c)
{
    char buf[8192];
    size_t n = 0;
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    const char *hend = NULL;
    size_t want = 0;
    while (n < sizeof(buf) - 1 && aw_mono_now_ms() < deadline) {
        struct pollfd p = {.fd = c, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t k = recv(c, buf + n, sizeof(buf) - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = '\0';
        if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
            want = (size_t)(hend + 4 - buf) + content_length(buf);
        }
        if (hend && n >= want)
            break;
    }
    buf[n] = '\0';
    bool describe = strstr(buf, "DynamoDB_20120810.DescribeTable") != NULL;
    pthread_mutex_lock(&r->mu);
    int status = describe ? 200 : r->status;
    const char *body = describe ? table_json : r->body;
    if (!describe) {
        memcpy(r->last, buf, n + 1);
        r->requests++;
    }
    pthread_mutex_unlock(&r->mu);
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d X\r\nContent-Type: application/x-amz-json-1.0\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      status, strlen(body));
    if (send(c, head, (size_t)hl, MSG_NOSIGNAL) == hl)
        (void)send(c, body, strlen(body), MSG_NOSIGNAL);
    close(c);
}

static void *responder_main(void *ud)
{
    responder *r = ud;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c >= 0)
            serve_one(r, c);
    }
    return NULL;
}

static void responder_start(responder *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    r->status = 200;
    r->body = "{}";
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(r->fd, 64), 0);
    assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &al), 0);
    r->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&r->tid, NULL, responder_main, r), 0);
}

static void responder_set(responder *r, int status, const char *body)
{
    pthread_mutex_lock(&r->mu);
    r->status = status;
    r->body = body;
    r->requests = 0;
    pthread_mutex_unlock(&r->mu);
}

static unsigned responder_requests(responder *r)
{
    pthread_mutex_lock(&r->mu);
    unsigned n = r->requests;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void responder_stop(responder *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->tid, NULL);
    close(r->fd);
    pthread_mutex_destroy(&r->mu);
}

/* ---- specifics -------------------------------------------------------------- */

/* create() on a table nobody migrated fails, naming the command. */
static void test_table_missing_names_migrate(void **state)
{
    (void)state;
    char table[48], url[512];
    aw_ct_random_hex(table, sizeof(table), "aw_missing_");
    url_with_table(url, sizeof(url), table);
    aw_state_options o = {.url = url};
    aw_state *st = NULL;
    aw_error err = {0};
    assert_int_equal(aw_state_new("dynamodb", &o, &st, &err), AW_CONFIG);
    assert_null(st);
    assert_non_null(strstr(err.msg, "acteon-worker migrate -c FILE"));
    assert_non_null(strstr(err.msg, table));
    printf("[   INFO   ] %s\n", err.msg);
}

/* migrate creates the table once; a second run applies nothing; the
 * backend then starts. */
static void test_migrate_twice(void **state)
{
    (void)state;
    char table[48], url[512];
    aw_ct_random_hex(table, sizeof(table), "aw_migrate_");
    url_with_table(url, sizeof(url), table);
    int applied = -1;
    aw_error err = {0};
    assert_int_equal(aw_ct_state_migrate("dynamodb", url, &applied, &err), AW_OK);
    assert_int_equal(applied, 1);
    assert_int_equal(aw_ct_state_migrate("dynamodb", url, &applied, &err), AW_OK);
    assert_int_equal(applied, 0);
    aw_state *st = new_ddb_url(url);
    aw_state_session *ss = aw_ct_state_session(st);
    bool written = false;
    aw_state_key k = aw_ct_key("m", "kv", "k");
    assert_int_equal(aw_state_check_and_set(ss, &k, "x", 1, 0, &written, &err), AW_OK);
    assert_true(written);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* The status mapping end to end, against a responder answering each case. */
static void test_error_mapping_over_http(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *body;
        aw_status want;
        unsigned requests; /* sent for one call: throttled ones are resent */
        const char *msg;   /* in err.msg */
    } cases[] = {
        {400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\","
              "\"message\":\"rate exceeded\"}",
         AW_TRANSIENT, 4, "ProvisionedThroughputExceededException"},
        {400, "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\"}", AW_TRANSIENT, 4,
         "ThrottlingException"},
        {400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#RequestLimitExceeded\"}", AW_TRANSIENT,
         4, "RequestLimitExceeded"},
        {500, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\"}", AW_TRANSIENT,
         1, "HTTP 500"},
        {503, "Service Unavailable", AW_TRANSIENT, 1, "HTTP 503"},
        {400, "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":"
              "\"Item size has exceeded the maximum allowed size\"}",
         AW_PERMANENT, 1, "Item size has exceeded"},
    };
    responder r;
    responder_start(&r);
    char url[256];
    snprintf(url, sizeof(url), "dynamodb://k:s@us-east-1/tbl?endpoint=http://127.0.0.1:%d", r.port);
    aw_state *st = new_ddb_url(url);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_state_key k = aw_ct_key("e", "kv", "k");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        responder_set(&r, cases[i].status, cases[i].body);
        aw_state_value v = {0};
        aw_error err = {0};
        aw_status rc = aw_state_get(ss, &k, &v, &err);
        if (rc != cases[i].want || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: %s (%s), want %s with \"%s\"", i, aw_status_name(rc), err.msg,
                     aw_status_name(cases[i].want), cases[i].msg);
        assert_int_equal(err.retriable, cases[i].want == AW_TRANSIENT);
        assert_int_equal(responder_requests(&r), cases[i].requests);
        /* A batch is refused as a whole the same way. */
        aw_claim c[3] = {{.key = aw_ct_key("e", "d", "a"), .lease_ms = 1000},
                         {.key = aw_ct_key("e", "d", "b"), .lease_ms = 1000},
                         {.key = aw_ct_key("e", "d", "c"), .lease_ms = 1000}};
        assert_int_equal(aw_state_claim_batch(ss, c, 3, &err), cases[i].want);
    }
    /* The normal "lost the race": not an error. */
    responder_set(&r, 400,
                  "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
                  "\"message\":\"The conditional request failed\"}");
    bool written = true;
    aw_error err = {0};
    assert_int_equal(aw_state_check_and_set(ss, &k, "x", 1, 0, &written, &err), AW_OK);
    assert_false(written);
    uint64_t tok = 0;
    assert_int_equal(aw_state_lock_acquire(ss, &k, 1000, &tok, &err), AW_CONFLICT);
    aw_state_session_close(ss);
    aw_state_destroy(st);
    responder_stop(&r);
}

/* Throttled answers are resent inside the call (a fault hook throttles the
 * first two claims sent to the real server): the claim succeeds. */
static atomic_int g_throttle_left;

static int throttle_hook(const char *op, long *status, const char **body)
{
    if (strcmp(op, "UpdateItem") != 0 || atomic_fetch_sub(&g_throttle_left, 1) <= 0)
        return 0;
    *status = 400;
    *body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\"}";
    return 1;
}

static void test_throttle_resent_inside(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "thr-");
    aw_state *st = new_ddb_url(g_url);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    atomic_store(&g_throttle_left, 2);
    aw_ddb_fault_hook = throttle_hook;
    aw_claim c = {.key = aw_ct_key(ns, "d", "x"), .lease_ms = 60000};
    aw_status rc = aw_state_claim_batch(ss, &c, 1, &err);
    aw_ddb_fault_hook = NULL;
    assert_int_equal(rc, AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    assert_int_equal(aw_state_dynamodb_session_conn(ss->session)->retries, 2);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* Header value of name in a raw request (case-insensitive), into out. */
static bool header_of(const char *req, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(req, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2, *end = strstr(line, "\r\n");
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outsz, "%.*s", (int)(end - v), v);
            return true;
        }
    }
    return false;
}

/* The Authorization header sent (by the session's cached-key signer) is
 * SigV4 of what went out: recompute it from the captured request with the
 * reference signer (AWS vectors: test_dynamodb_sign). */
static void test_sigv4_of_captured_request(void **state)
{
    (void)state;
    static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    responder r;
    responder_start(&r);
    char url[512];
    snprintf(url, sizeof(url),
             "dynamodb://AKIDEXAMPLE:wJalrXUtnFEMI%%2FK7MDENG%%2BbPxRfiCYEXAMPLEKEY@eu-west-1/tbl"
             "?endpoint=http://127.0.0.1:%d&token=FQoGZXIvYXdzEXAMPLETOKEN%%2F%%2B%%3D",
             r.port);
    aw_state *st = new_ddb_url(url);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_state_value v = {0};
    aw_error err = {0};
    aw_state_key k = aw_ct_key("s", "kv", "k");
    assert_int_equal(aw_state_get(ss, &k, &v, &err), AW_NOT_FOUND);
    aw_state_session_close(ss);
    aw_state_destroy(st);
    responder_stop(&r);

    const char *req = r.last;
    assert_null(strstr(req, secret));
    assert_null(strstr(req, "wJalrXUtnFEMI%2F"));
    char auth[512], date[32], names[256];
    assert_true(header_of(req, "Authorization", auth, sizeof(auth)));
    assert_true(header_of(req, "X-Amz-Date", date, sizeof(date)));
    char tok[128];
    assert_true(header_of(req, "X-Amz-Security-Token", tok, sizeof(tok)));
    assert_string_equal(tok, "FQoGZXIvYXdzEXAMPLETOKEN/+=");
    const char *sh = strstr(auth, "SignedHeaders=");
    assert_non_null(sh);
    sh += strlen("SignedHeaders=");
    snprintf(names, sizeof(names), "%.*s", (int)strcspn(sh, ","), sh);
    /* What must be covered by the signature. */
    static const char *const must[] = {"host", "x-amz-date", "x-amz-security-token",
                                       "x-amz-target"};
    for (size_t i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof(want), ";%s;", must[i]);
        char padded[260];
        snprintf(padded, sizeof(padded), ";%s;", names);
        if (!strstr(padded, want))
            fail_msg("%s is not signed (SignedHeaders=%s)", must[i], names);
    }
    aw_sigv4_header hs[16];
    char values[16][512];
    size_t nh = 0;
    char *save = NULL;
    char list[256];
    snprintf(list, sizeof(list), "%s", names);
    for (char *n = strtok_r(list, ";", &save); n && nh < 16; n = strtok_r(NULL, ";", &save)) {
        assert_true(header_of(req, n, values[nh], sizeof(values[nh])));
        hs[nh] = (aw_sigv4_header){n, values[nh]};
        nh++;
    }
    const char *body = strstr(req, "\r\n\r\n") + 4;
    aw_sigv4_input in = {.method = "POST", .path = "/", .query = "", .headers = hs,
                         .nheaders = nh, .payload = body, .payload_len = strlen(body),
                         .amz_date = date, .region = "eu-west-1", .service = "dynamodb",
                         .access_key_id = "AKIDEXAMPLE", .secret_access_key = secret};
    aw_sigv4_output out;
    assert_int_equal(aw_sigv4_sign(&in, &out), 0);
    if (strcmp(out.authorization.data, auth) != 0)
        fail_msg("sent\n  %s\nSigV4 of that request is\n  %s\ncanonical request:\n%s",
                 auth, out.authorization.data, out.canonical_request.data);
    printf("[   INFO   ] SignedHeaders=%s; signature verified\n", names);
    aw_sigv4_output_clear(&out);
}

/* An expired lease, 16 concurrent claimers: exactly one takes it over, with
 * a higher token; the others see BUSY with the winner's token. 10 rounds. */
#define TAKEOVER_THREADS 16
#define TAKEOVER_ROUNDS 10

typedef struct takeover {
    aw_state *st;
    const char *ns, *id;
    pthread_barrier_t *start;
    aw_claim_result result;
    uint64_t token;
    aw_status rc;
    char msg[256];
} takeover;

static void *takeover_main(void *ud)
{
    takeover *t = ud;
    aw_state_session *ss = NULL;
    aw_error err = {0};
    t->rc = aw_state_session_open(t->st, &ss, &err);
    pthread_barrier_wait(t->start);
    if (t->rc == AW_OK) {
        aw_claim c = {.key = aw_ct_key(t->ns, "dedup", t->id), .lease_ms = 60000};
        t->rc = aw_state_claim_batch(ss, &c, 1, &err);
        t->result = c.result;
        t->token = c.token;
        aw_claim_clear(&c);
    }
    if (t->rc != AW_OK)
        snprintf(t->msg, sizeof(t->msg), "%s", err.msg);
    aw_state_session_close(ss);
    return NULL;
}

static void test_expired_takeover_one_winner(void **state)
{
    (void)state;
    char ns[48], id[32];
    aw_ct_random_hex(ns, sizeof(ns), "takeover-");
    aw_state *st = new_ddb_url(g_url);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    for (int round = 0; round < TAKEOVER_ROUNDS; round++) {
        snprintf(id, sizeof(id), "id-%d", round);
        aw_claim c = {.key = aw_ct_key(ns, "dedup", id), .lease_ms = 100};
        assert_int_equal(aw_state_claim_batch(ss, &c, 1, &err), AW_OK);
        assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
        uint64_t old = c.token;
        /* Past the lease on this clock (the one the conditions use). */
        int64_t until = aw_time_now_ms() + 101;
        while (aw_time_now_ms() <= until)
            aw_sleep_ms(5);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, TAKEOVER_THREADS);
        takeover t[TAKEOVER_THREADS];
        pthread_t tid[TAKEOVER_THREADS];
        for (int i = 0; i < TAKEOVER_THREADS; i++) {
            t[i] = (takeover){.st = st, .ns = ns, .id = id, .start = &start};
            assert_int_equal(pthread_create(&tid[i], NULL, takeover_main, &t[i]), 0);
        }
        for (int i = 0; i < TAKEOVER_THREADS; i++)
            pthread_join(tid[i], NULL);
        pthread_barrier_destroy(&start);
        int winners = 0;
        uint64_t wtok = 0;
        for (int i = 0; i < TAKEOVER_THREADS; i++) {
            if (t[i].rc != AW_OK)
                fail_msg("claimer %d: %s (%s)", i, aw_status_name(t[i].rc), t[i].msg);
            if (t[i].result == AW_CLAIM_ACQUIRED) {
                winners++;
                wtok = t[i].token;
            }
        }
        assert_int_equal(winners, 1);
        assert_true(wtok > old);
        for (int i = 0; i < TAKEOVER_THREADS; i++) {
            if (t[i].result != AW_CLAIM_ACQUIRED) {
                assert_int_equal(t[i].result, AW_CLAIM_BUSY);
                assert_int_equal(t[i].token, wtok);
            }
        }
    }
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* Printed, not asserted: claims per second in batches of 64 (concurrent
 * requests on one session) and one by one. */
static void test_claim_rates(void **state)
{
    (void)state;
    enum { B = 64, BATCHES = 20, SEQ = 300 };
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "rate-");
    aw_state *st = new_ddb_url(g_url);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    aw_claim *c = calloc(B, sizeof(*c));
    char(*ids)[24] = calloc(B * BATCHES + SEQ, sizeof(*ids));
    assert_non_null(c);
    assert_non_null(ids);
    int64_t t0 = aw_mono_now_us();
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < B; i++) {
            snprintf(ids[b * B + i], sizeof(ids[0]), "b%05d", b * B + i);
            c[i] = (aw_claim){.key = aw_ct_key(ns, "dedup", ids[b * B + i]), .lease_ms = 60000};
        }
        assert_int_equal(aw_state_claim_batch(ss, c, B, &err), AW_OK);
        for (int i = 0; i < B; i++)
            assert_int_equal(c[i].result, AW_CLAIM_ACQUIRED);
    }
    double batched = (double)(B * BATCHES) / ((double)(aw_mono_now_us() - t0) / 1e6);
    t0 = aw_mono_now_us();
    for (int i = 0; i < SEQ; i++) {
        snprintf(ids[B * BATCHES + i], sizeof(ids[0]), "s%05d", i);
        aw_claim one = {.key = aw_ct_key(ns, "dedup", ids[B * BATCHES + i]), .lease_ms = 60000};
        assert_int_equal(aw_state_claim_batch(ss, &one, 1, &err), AW_OK);
        assert_int_equal(one.result, AW_CLAIM_ACQUIRED);
    }
    double seq = (double)SEQ / ((double)(aw_mono_now_us() - t0) / 1e6);
    printf("[   INFO   ] RATE claim_batch(%d): %.0f claims/s; sequential claims: %.0f claims/s "
           "(one session)\n",
           B, batched, seq);
    free(ids);
    free(c);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

int main(void)
{
    g_url = aw_ct_server_url("AW_TEST_DYNAMODB_URL");
    if (!g_url)
        return 77;
    aw_ct_run_prefix(g_prefix, sizeof(g_prefix));

    int applied = -1;
    aw_error err = {0};
    aw_status rc = aw_ct_state_migrate("dynamodb", g_url, &applied, &err);
    if (rc != AW_OK) {
        printf("migrate failed: %s (%s)\n", aw_status_name(rc), err.msg);
        return 1;
    }
    printf("migrate: %d step(s) applied\n", applied);

    aw_state_options opts = {.url = g_url, .key_prefix = g_prefix};
    aw_state_conformance_options copts = {.cross_process = true};
    int failed = aw_state_conformance_run_with("dynamodb", NULL, &opts, &copts, NULL);

    const struct CMUnitTest specifics[] = {
        cmocka_unit_test(test_table_missing_names_migrate),
        cmocka_unit_test(test_migrate_twice),
        cmocka_unit_test(test_error_mapping_over_http),
        cmocka_unit_test(test_throttle_resent_inside),
        cmocka_unit_test(test_sigv4_of_captured_request),
        cmocka_unit_test(test_expired_takeover_one_winner),
        cmocka_unit_test(test_claim_rates),
    };
    failed += cmocka_run_group_tests_name("state[dynamodb] specifics", specifics, NULL, NULL);
    return failed ? 1 : 0;
}

#endif
