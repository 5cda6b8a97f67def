/* webhook_target: a real HTTP server standing in for a webhook receiver in
 * the tests (libmicrohttpd).
 *
 * usage: webhook_target --port-file F --log F [--port P] [--fail-first N]
 *                       [--fail-status S] [--delay-ms D|MIN-MAX] [--fail-ids-file F]
 *                       [--detail-log F] [--barrier N] [--bind ADDR]
 *                       [--peer-log F]
 *
 * Listens on 127.0.0.1 (or the IPv4 address --bind ADDR, e.g. a veth
 * address a worker in another network namespace can reach:
 * tests/partition/) on --port (default 0: an ephemeral port; a test that
 * stopped a target starts the next one on the same port, so clients see the
 * webhook go away and come back) and, once it accepts connections, writes
 * the port to --port-file atomically (temp file + rename), so a reader sees
 * either no file or the whole number.
 *
 * Every POST (any path) is answered and appended to --log as one flushed line
 *   <action_id>\t<fencing_token>\t<idempotency_key>\t<attempt>\t<status>
 * ("-" for an absent header). The status is 200 unless the request is one of
 * the first --fail-first N (counted from 1 across all connections) or its
 * action id is listed in --fail-ids-file (one id per line; the file is read
 * again for every request, so a test may change it while the target runs; a
 * missing file lists nothing): those get --fail-status (default 500).
 * A 2xx answer's body is {"ok":true,"id":<action_id>}.
 * --delay-ms waits before answering (cut short at shutdown): D ms, or with
 * MIN-MAX a delay drawn uniformly in [MIN, MAX] per request (a fixed-seed
 * generator), so the answers of calls made together spread out.
 * --barrier N holds every request until N POSTs have arrived (at most
 * 10 s; cut short at shutdown): N calls answered at all proves N were in
 * flight together, without any timing in the test.
 * --peer-log appends, per POST, the same five fields followed by
 *   \t<peer address>\t<realtime ms at arrival>\t<monotonic ms at arrival>
 *   \t<realtime ms at answer>\t<request path>
 * (the peer is the caller's IPv4/IPv6 address without port): which process
 * made the call, and when it arrived, for tests/partition/check_calls.py.
 * The answer time is read just before the lines are written, which is just
 * before the response is queued (so never later than the queueing); the
 * path lets a test give each worker its own webhook URL (any path is
 * answered) and tell their calls apart (tests/integration/kill9_body.sh).
 * A separate file so the five-field --log stays exactly as before.
 * --detail-log appends one JSON object per POST: method, url, headers (names
 * lower-cased), body (when valid UTF-8), body_len, status.
 *
 * GET /stats answers {"requests": <POSTs received>, "connections": <TCP
 * connections accepted>, "max_in_flight": <most POSTs being handled at
 * once>, "in_flight": <POSTs being handled now>, "in_flight_by_path":
 * {<path>: <POSTs to it being handled now>, ...}}; connections shows
 * keep-alive reuse, max_in_flight concurrency, in_flight_by_path which
 * worker has calls under way (tests/integration/kill9_body.sh kills one
 * only then). Paths are the request URLs without the query string (the
 * first TARGET_MAX_PATHS seen; paths are not escaped: tests use plain ones).
 *
 * Concurrency: one thread per connection (poll()-based, so descriptors above
 * FD_SETSIZE work), up to TARGET_MAX_CONNECTIONS at once: a delayed answer
 * holds only its own connection, so N concurrent clients see the delay
 * once, not N times (the webhook's execute_many and bench/run.sh
 * slow-webhook rely on it).
 *
 * SIGTERM or SIGINT: stop accepting, finish open requests, exit 0. A request
 * that was logged gets its whole answer written before the connections are
 * cut; one still waiting (--delay-ms) or arriving meanwhile is closed
 * unanswered and not logged. So a client saw an answer iff its line is in
 * the log, even when a test stops the target mid-run: the client's retry of
 * an unanswered call is not a second success. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/aw_buf.h"

#define TARGET_MAX_BODY (16 * 1024 * 1024)
/* Above workers.threads x max_concurrency of any test or benchmark. */
#define TARGET_MAX_CONNECTIONS 4096
#define TARGET_MAX_PATHS 16
/* Per connection thread: the handlers need little, and hundreds run. */
#define TARGET_THREAD_STACK (256 * 1024)
/* Longest a request waits at --barrier. */
#define TARGET_BARRIER_MAX_S 10

typedef struct target_opts {
    const char *port_file;
    const char *log_path;
    const char *detail_path;
    const char *fail_ids_file;
    const char *peer_path;
    const char *bind_addr; /* NULL: 127.0.0.1 */
    long fail_first;
    int fail_status;
    long delay_ms;
    long delay_max_ms; /* > delay_ms: uniform in [delay_ms, delay_max_ms] */
    long barrier;
    long port; /* 0: ephemeral */
} target_opts;

/* Shared by MHD's connection threads. opts is read-only once the daemon
 * runs; mu guards every other field. */
typedef struct target {
    target_opts opts;
    pthread_mutex_t mu;
    pthread_cond_t stop_cv; /* signalled at shutdown and on every POST
                               arrival: wakes delayed and held requests */
    bool stopping;
    pthread_cond_t idle_cv; /* signalled when `answering` drops */
    long answering;         /* logged, answer not yet completely sent */
    FILE *log;
    FILE *detail;          /* NULL without --detail-log */
    FILE *peer;            /* NULL without --peer-log */
    long requests;
    long connections;
    long in_flight, max_in_flight; /* POSTs between arrival and answer */
    struct {
        char path[64];
        long in_flight;
    } paths[TARGET_MAX_PATHS];     /* in_flight per request path, the first
                                      TARGET_MAX_PATHS paths seen */
    size_t n_paths;
    unsigned long long rng;        /* --delay-ms MIN-MAX (xorshift64) */
} target;

/* The in-flight count of a request path (NULL when the table is full).
 * Caller holds t->mu. */
static long *path_in_flight(target *t, const char *url)
{
    for (size_t i = 0; i < t->n_paths; i++)
        if (strcmp(t->paths[i].path, url) == 0)
            return &t->paths[i].in_flight;
    if (t->n_paths == TARGET_MAX_PATHS || strlen(url) >= sizeof(t->paths[0].path))
        return NULL;
    snprintf(t->paths[t->n_paths].path, sizeof(t->paths[0].path), "%s", url);
    return &t->paths[t->n_paths++].in_flight;
}

/* One HTTP request in flight (MHD's per-request con_cls). */
typedef struct request_ctx {
    aw_buf body;
    bool too_large;
    bool answering; /* counted in target.answering */
} request_ctx;

/* ---- helpers ------------------------------------------------------------- */

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static const char *header_or_dash(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v && *v ? v : "-";
}

/* Write s with tabs and control bytes replaced, so one request stays one
 * line of five fields. */
static void put_field(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static bool id_listed(const char *path, const char *id)
{
    if (!path)
        return false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        found = line[0] && strcmp(line, id) == 0;
    }
    fclose(f);
    return found;
}

static long long clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The caller's address without port ("?" when MHD cannot say). */
static void peer_address(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)len);
}

static struct timespec deadline_in_ms(long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return until;
}

/* This request's --delay-ms. Called with t->mu held. */
static long draw_delay(target *t)
{
    long lo = t->opts.delay_ms, hi = t->opts.delay_max_ms;
    if (hi <= lo)
        return lo;
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return lo + (long)(t->rng % (unsigned long long)(hi - lo + 1));
}

/* Wait for --barrier, then the delay, or less if the target is stopping. */
static void delay_answer(target *t)
{
    pthread_mutex_lock(&t->mu);
    struct timespec until = deadline_in_ms(TARGET_BARRIER_MAX_S * 1000L);
    while (!t->stopping && t->requests < t->opts.barrier)
        if (pthread_cond_timedwait(&t->stop_cv, &t->mu, &until) == ETIMEDOUT)
            break;
    long delay_ms = draw_delay(t);
    until = deadline_in_ms(delay_ms);
    while (!t->stopping && delay_ms > 0)
        if (pthread_cond_timedwait(&t->stop_cv, &t->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&t->mu);
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the detail log ------------------------------------------------------ */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    json_t *headers = cls;
    char name[128];
    size_t i = 0;
    for (; key[i] && i + 1 < sizeof(name); i++)
        name[i] = (char)tolower((unsigned char)key[i]);
    name[i] = '\0';
    json_object_set_new(headers, name, json_string(value ? value : ""));
    return MHD_YES;
}

/* Called with t->mu held. */
static void write_detail(target *t, struct MHD_Connection *c, const char *method,
                         const char *url, const request_ctx *rq, int status)
{
    if (!t->detail)
        return;
    json_t *headers = json_object();
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, headers);
    json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:i}", "method", method, "url", url, "headers",
                          headers, "body_len", (json_int_t)rq->body.len, "status", status);
    if (!o)
        return;
    json_t *body = json_stringn(rq->body.data ? rq->body.data : "", rq->body.len);
    if (body) /* NULL when not valid UTF-8: body_len still says what came */
        json_object_set_new(o, "body", body);
    char *line = json_dumps(o, JSON_COMPACT);
    if (line) {
        fprintf(t->detail, "%s\n", line);
        fflush(t->detail);
        free(line);
    }
    json_decref(o);
}

/* ---- requests ------------------------------------------------------------ */

static enum MHD_Result handle_hook(target *t, struct MHD_Connection *c, const char *method,
                                   const char *url, request_ctx *rq)
{
    const char *id = header_or_dash(c, "X-Acteon-Action-Id");
    /* Arrival, before any --delay-ms or --barrier: when the call was made. */
    long long arrived_real = clock_ms(CLOCK_REALTIME), arrived_mono = clock_ms(CLOCK_MONOTONIC);
    char peer[INET6_ADDRSTRLEN + 1];
    peer_address(c, peer, sizeof(peer));
    pthread_mutex_lock(&t->mu);
    long n = ++t->requests;
    if (++t->in_flight > t->max_in_flight)
        t->max_in_flight = t->in_flight;
    long *on_path = path_in_flight(t, url);
    if (on_path)
        ++*on_path;
    /* Requests held at --barrier may go. Only then: every broadcast wakes
     * every delayed request too (hundreds in a benchmark). */
    if (n <= t->opts.barrier)
        pthread_cond_broadcast(&t->stop_cv);
    pthread_mutex_unlock(&t->mu);

    int status = 200;
    if (rq->too_large)
        status = 413;
    else if (n <= t->opts.fail_first || id_listed(t->opts.fail_ids_file, id))
        status = t->opts.fail_status;
    delay_answer(t);

    /* Logged before the answer is queued: a client holding its response
     * knows the line is already in the file. Once stopping, nothing more
     * is logged or answered (see the top of the file). */
    pthread_mutex_lock(&t->mu);
    if (on_path)
        --*on_path;
    if (t->stopping) {
        pthread_mutex_unlock(&t->mu);
        return MHD_NO;
    }
    rq->answering = true;
    t->answering++;
    put_field(t->log, id);
    fputc('\t', t->log);
    put_field(t->log, header_or_dash(c, "X-Acteon-Fencing-Token"));
    fputc('\t', t->log);
    put_field(t->log, header_or_dash(c, "Idempotency-Key"));
    fputc('\t', t->log);
    put_field(t->log, header_or_dash(c, "X-Acteon-Attempt"));
    fprintf(t->log, "\t%d\n", status);
    fflush(t->log);
    if (t->peer) {
        long long answered_real = clock_ms(CLOCK_REALTIME);
        put_field(t->peer, id);
        fputc('\t', t->peer);
        put_field(t->peer, header_or_dash(c, "X-Acteon-Fencing-Token"));
        fputc('\t', t->peer);
        put_field(t->peer, header_or_dash(c, "Idempotency-Key"));
        fputc('\t', t->peer);
        put_field(t->peer, header_or_dash(c, "X-Acteon-Attempt"));
        fprintf(t->peer, "\t%d\t%s\t%lld\t%lld\t%lld\t", status, peer, arrived_real,
                arrived_mono, answered_real);
        put_field(t->peer, url);
        fputc('\n', t->peer);
        fflush(t->peer);
    }
    write_detail(t, c, method, url, rq, status);
    t->in_flight--;
    pthread_mutex_unlock(&t->mu);

    char body[96];
    if (status >= 200 && status <= 299) {
        /* The id answered back: a result later calls can use (chain steps'
         * templates, tests/integration/rules_chain_body.sh). */
        json_t *ok = json_pack("{s:b, s:s}", "ok", 1, "id", id);
        char *text = ok ? json_dumps(ok, JSON_COMPACT) : NULL;
        json_decref(ok);
        enum MHD_Result ret = respond(c, (unsigned)status, text ? text : "{\"ok\":true}");
        free(text);
        return ret;
    }
    snprintf(body, sizeof(body), "{\"error\":\"injected failure\",\"status\":%d}", status);
    return respond(c, (unsigned)status, body);
}

static enum MHD_Result handle_stats(target *t, struct MHD_Connection *c)
{
    char body[256 + TARGET_MAX_PATHS * 96];
    pthread_mutex_lock(&t->mu);
    int len = snprintf(body, sizeof(body),
                       "{\"requests\": %ld, \"connections\": %ld, \"max_in_flight\": %ld, "
                       "\"in_flight\": %ld, \"in_flight_by_path\": {",
                       t->requests, t->connections, t->max_in_flight, t->in_flight);
    for (size_t i = 0; i < t->n_paths; i++)
        len += snprintf(body + len, sizeof(body) - (size_t)len, "%s\"%s\": %ld",
                        i ? ", " : "", t->paths[i].path, t->paths[i].in_flight);
    pthread_mutex_unlock(&t->mu);
    snprintf(body + len, sizeof(body) - (size_t)len, "}}");
    return respond(c, 200, body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    target *t = cls;
    request_ctx *rq = *con_cls;
    if (!rq) { /* first call: headers only */
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (rq->body.len + *upload_data_size > TARGET_MAX_BODY ||
            aw_buf_append(&rq->body, upload_data, *upload_data_size))
            rq->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") == 0)
        return handle_hook(t, c, method, url, rq);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/stats") == 0)
        return handle_stats(t, c);
    return respond(c, 404, "{\"error\":\"not found\"}");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c, (void)toe;
    target *t = cls;
    request_ctx *rq = *con_cls;
    if (!rq)
        return;
    if (rq->answering) {
        pthread_mutex_lock(&t->mu);
        t->answering--;
        pthread_cond_broadcast(&t->idle_cv);
        pthread_mutex_unlock(&t->mu);
    }
    aw_buf_free(&rq->body);
    free(rq);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c, (void)socket_context;
    target *t = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&t->mu);
    t->connections++;
    pthread_mutex_unlock(&t->mu);
}

/* ---- main ---------------------------------------------------------------- */

/* --delay-ms D or MIN-MAX. */
static int parse_delay(const char *v, target_opts *o)
{
    char lo[32];
    const char *dash = strchr(v, '-');
    long a, b;
    if (!dash)
        return parse_long(v, 0, 3600 * 1000L, &o->delay_ms);
    if ((size_t)(dash - v) >= sizeof(lo))
        return -1;
    memcpy(lo, v, (size_t)(dash - v));
    lo[dash - v] = '\0';
    if (parse_long(lo, 0, 3600 * 1000L, &a) || parse_long(dash + 1, a, 3600 * 1000L, &b))
        return -1;
    o->delay_ms = a;
    o->delay_max_ms = b;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: webhook_target --port-file F --log F [--port P] [--fail-first N] "
                    "[--fail-status S] [--delay-ms D|MIN-MAX] [--fail-ids-file F] [--detail-log F] "
                    "[--barrier N] [--bind ADDR] [--peer-log F]\n");
}

static int parse_args(int argc, char **argv, target_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->fail_status = 500;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!v)
            return -1;
        i++;
        if (strcmp(a, "--port-file") == 0)
            o->port_file = v;
        else if (strcmp(a, "--log") == 0)
            o->log_path = v;
        else if (strcmp(a, "--detail-log") == 0)
            o->detail_path = v;
        else if (strcmp(a, "--fail-ids-file") == 0)
            o->fail_ids_file = v;
        else if (strcmp(a, "--peer-log") == 0)
            o->peer_path = v;
        else if (strcmp(a, "--bind") == 0)
            o->bind_addr = v;
        else if (strcmp(a, "--fail-first") == 0 && !parse_long(v, 0, LONG_MAX, &n))
            o->fail_first = n;
        else if (strcmp(a, "--fail-status") == 0 && !parse_long(v, 100, 599, &n))
            o->fail_status = (int)n;
        else if (strcmp(a, "--delay-ms") == 0 && !parse_delay(v, o))
            ;
        else if (strcmp(a, "--barrier") == 0 && !parse_long(v, 0, LONG_MAX, &n))
            o->barrier = n;
        else if (strcmp(a, "--port") == 0 && !parse_long(v, 0, 65535, &n))
            o->port = n;
        else
            return -1;
    }
    return o->port_file && o->log_path ? 0 : -1;
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fprintf(f, "%u\n", port) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static struct MHD_Daemon *start_daemon(target *t)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)t->opts.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (t->opts.bind_addr && inet_pton(AF_INET, t->opts.bind_addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "webhook_target: --bind %s is not an IPv4 address\n", t->opts.bind_addr);
        return NULL;
    }
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, t, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, t, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, t, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)TARGET_MAX_CONNECTIONS,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)TARGET_THREAD_STACK, MHD_OPTION_END);
}

static void wait_for_stop_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig;
    while (sigwait(&set, &sig) != 0)
        ;
}

int main(int argc, char **argv)
{
    target t;
    memset(&t, 0, sizeof(t));
    t.rng = 0x9e3779b97f4a7c15ULL;
    if (parse_args(argc, argv, &t.opts)) {
        usage();
        return 2;
    }
    /* Block the stop signals before MHD starts its threads so they inherit
     * the mask and only sigwait() in main sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    struct MHD_Daemon *d = NULL;
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.stop_cv, NULL);
    pthread_cond_init(&t.idle_cv, NULL);
    t.log = fopen(t.opts.log_path, "a");
    if (!t.log) {
        perror(t.opts.log_path);
        goto out;
    }
    if (t.opts.detail_path && !(t.detail = fopen(t.opts.detail_path, "a"))) {
        perror(t.opts.detail_path);
        goto out;
    }
    if (t.opts.peer_path && !(t.peer = fopen(t.opts.peer_path, "a"))) {
        perror(t.opts.peer_path);
        goto out;
    }
    d = start_daemon(&t);
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info || !info->port) {
        fprintf(stderr, "webhook_target: cannot start the HTTP daemon\n");
        goto out;
    }
    if (write_port_file(t.opts.port_file, info->port)) {
        perror(t.opts.port_file);
        goto out;
    }
    wait_for_stop_signal();
    rc = 0;
out:
    if (d) {
        /* Let the answers of logged requests go out (bounded) before
         * MHD_stop_daemon cuts every connection. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        pthread_mutex_lock(&t.mu);
        t.stopping = true;
        pthread_cond_broadcast(&t.stop_cv);
        while (t.answering > 0)
            if (pthread_cond_timedwait(&t.idle_cv, &t.mu, &until) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&t.mu);
        MHD_stop_daemon(d);
    }
    if (t.detail)
        fclose(t.detail);
    if (t.peer)
        fclose(t.peer);
    if (t.log)
        fclose(t.log);
    pthread_cond_destroy(&t.stop_cv);
    pthread_cond_destroy(&t.idle_cv);
    pthread_mutex_destroy(&t.mu);
    return rc;
}
