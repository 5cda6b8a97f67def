/* A librdkafka mock cluster as a separate process, for integration tests:
 * real Kafka protocol on 127.0.0.1, so the worker, kcat and our tools talk to
 * it over TCP like to any broker.
 *
 *   mock_cluster --bootstrap-file F [--brokers N] [--topic NAME:PARTITIONS]...
 *                [--control FIFO]
 *
 * Writes the bootstrap address to F (atomically) once the topics exist, then
 * runs until SIGTERM/SIGINT. Committed offsets live as long as the process.
 * AW_MOCK_DEBUG=CONTEXTS (librdkafka debug contexts, e.g. "mock") logs the
 * cluster's own work on stderr.
 *
 * --control FIFO: fault injection while the cluster runs. The process makes
 * the named pipe FIFO (or uses an existing one) and reads lines from it:
 *
 *   TAG COMMAND ARGS...
 *
 * TAG is any word the writer picks; once the command is applied, the line
 * "TAG ok [DETAIL]" or "TAG error REASON" is appended to FIFO.ack, so a test
 * knows when the fault is in place (tests/integration/lib.sh: mock_ctl).
 * Lines of at most PIPE_BUF bytes are written atomically, so concurrent
 * writers never interleave. Commands (broker ids are 1..N, ERR is a Kafka
 * error name such as NOT_LEADER_FOR_PARTITION or its number, APIKEY a request
 * name such as Fetch or its number):
 *
 *   ping                                  answers ok
 *   broker-down BROKER | broker-up BROKER close a broker's connections and
 *                                         refuse new ones / accept again (-1:
 *                                         all); leaders do not move
 *   rtt BROKER MS                         delay every response of BROKER
 *   leader TOPIC PARTITION BROKER         move the partition leader (-1: none)
 *   coordinator group|transaction KEY BROKER
 *   request-errors APIKEY ERR COUNT       the next COUNT requests of APIKEY,
 *                                         to any broker, fail with ERR
 *   broker-errors BROKER APIKEY ERR COUNT [RTT_MS]
 *                                         same, only requests to BROKER
 *                                         (taken before the cluster-wide ones)
 *   error-count BROKER APIKEY             ok N: broker-errors not yet used up
 *   clear-errors APIKEY                   drop the cluster-wide ones
 *   topic-error TOPIC ERR                 Metadata answers ERR for TOPIC
 *                                         (NO_ERROR clears it)
 *
 * A malformed or failing command is answered with an error (and logged to
 * stderr); it never stops the cluster. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- control channel ---------------------------------------------------- */

#define MAX_ARGS 8
#define MAX_ERRORS 100000 /* bounds one request-errors/broker-errors command */

typedef struct control {
    rd_kafka_mock_cluster_t *mc;
    int fd;       /* the FIFO, opened read-write: never EOF between writers */
    int ack_fd;   /* FIFO.ack, O_APPEND */
    char buf[8192];
    size_t len;   /* bytes of an incomplete line kept in buf */
} control;

/* Parse a whole decimal integer within [min, max]. */
static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* The request types a test is likely to fault (Kafka protocol ApiKeys). */
static bool parse_apikey(const char *s, int16_t *out)
{
    static const struct { const char *name; int16_t key; } keys[] = {
        {"Produce", 0},         {"Fetch", 1},           {"ListOffsets", 2},
        {"Metadata", 3},        {"OffsetCommit", 8},    {"OffsetFetch", 9},
        {"FindCoordinator", 10}, {"JoinGroup", 11},     {"Heartbeat", 12},
        {"LeaveGroup", 13},     {"SyncGroup", 14},      {"ApiVersions", 18},
        {"InitProducerId", 22}, {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25},
        {"EndTxn", 26},         {"TxnOffsetCommit", 28},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcasecmp(s, keys[i].name) == 0) {
            *out = keys[i].key;
            return true;
        }
    long v;
    if (!parse_long(s, 0, 100, &v))
        return false;
    *out = (int16_t)v;
    return true;
}

/* A Kafka error by librdkafka's name (with or without RD_KAFKA_RESP_ERR_)
 * or by number. */
static bool parse_err(const char *s, rd_kafka_resp_err_t *out)
{
    const char *name = strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0 ? s + 18 : s;
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++)
        if (descs[i].name && strcasecmp(descs[i].name, name) == 0) {
            *out = descs[i].code;
            return true;
        }
    long v;
    if (!parse_long(s, -200, 1000, &v))
        return false;
    *out = (rd_kafka_resp_err_t)v;
    return true;
}

static void reply(control *c, const char *tag, const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s ", tag);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* One write of the whole line, so a reader never sees half of it. */
    if (write(c->ack_fd, line, (size_t)n) != n)
        perror("mock_cluster: control ack");
    if (strncmp(line + strlen(tag) + 1, "error", 5) == 0)
        fprintf(stderr, "mock_cluster: control: %.*s", n, line);
}

static const char *broker_cmd(control *c, char **a, int n, char *detail, size_t dsz)
{
    (void)detail;
    (void)dsz;
    long broker, v;
    if (n != 2 && !(n == 3 && strcmp(a[0], "rtt") == 0))
        return "usage: broker-down|broker-up BROKER, rtt BROKER MS";
    if (!parse_long(a[1], -1, INT32_MAX, &broker))
        return "bad broker id";
    rd_kafka_resp_err_t e;
    if (strcmp(a[0], "broker-down") == 0)
        e = rd_kafka_mock_broker_set_down(c->mc, (int32_t)broker);
    else if (strcmp(a[0], "broker-up") == 0)
        e = rd_kafka_mock_broker_set_up(c->mc, (int32_t)broker);
    else if (n == 3 && parse_long(a[2], 0, 3600000, &v))
        e = rd_kafka_mock_broker_set_rtt(c->mc, (int32_t)broker, (int)v);
    else
        return "bad rtt";
    return e ? rd_kafka_err2str(e) : NULL;
}

static const char *errors_cmd(control *c, char **a, int n, char *detail, size_t dsz)
{
    /* request-errors APIKEY ERR COUNT | broker-errors BROKER APIKEY ERR COUNT [RTT] */
    bool per_broker = strcmp(a[0], "broker-errors") == 0;
    int i = per_broker ? 2 : 1;
    long broker = -1, count, rtt = 0;
    int16_t apikey;
    rd_kafka_resp_err_t err;
    if (n != i + 3 && !(per_broker && n == i + 4))
        return per_broker ? "usage: broker-errors BROKER APIKEY ERR COUNT [RTT_MS]"
                          : "usage: request-errors APIKEY ERR COUNT";
    if (per_broker && !parse_long(a[1], 0, INT32_MAX, &broker))
        return "bad broker id";
    if (!parse_apikey(a[i], &apikey))
        return "unknown request type";
    if (!parse_err(a[i + 1], &err))
        return "unknown error";
    if (!parse_long(a[i + 2], 1, MAX_ERRORS, &count))
        return "bad count (1..100000)";
    if (n == i + 4 && !parse_long(a[i + 3], 0, 3600000, &rtt))
        return "bad rtt";
    if (!per_broker) {
        rd_kafka_resp_err_t *errs = malloc((size_t)count * sizeof(*errs));
        if (!errs)
            return "out of memory";
        for (long k = 0; k < count; k++)
            errs[k] = err;
        rd_kafka_mock_push_request_errors_array(c->mc, apikey, (size_t)count, errs);
        free(errs);
        snprintf(detail, dsz, "%ld x %s on ApiKey %d", count, rd_kafka_err2name(err), apikey);
        return NULL;
    }
    for (long k = 0; k < count; k++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_broker_push_request_error_rtts(
            c->mc, (int32_t)broker, apikey, 1, err, (int)rtt);
        if (e)
            return rd_kafka_err2str(e);
    }
    snprintf(detail, dsz, "%ld x %s on ApiKey %d to broker %ld", count, rd_kafka_err2name(err),
             apikey, broker);
    return NULL;
}

/* Apply one command (a[0..n-1]); NULL on success, else why not. */
static const char *apply(control *c, char **a, int n, char *detail, size_t dsz)
{
    long v1, v2;
    int16_t apikey;
    rd_kafka_resp_err_t err;
    if (strcmp(a[0], "ping") == 0)
        return NULL;
    if (strcmp(a[0], "broker-down") == 0 || strcmp(a[0], "broker-up") == 0 ||
        strcmp(a[0], "rtt") == 0)
        return broker_cmd(c, a, n, detail, dsz);
    if (strcmp(a[0], "request-errors") == 0 || strcmp(a[0], "broker-errors") == 0)
        return errors_cmd(c, a, n, detail, dsz);
    if (strcmp(a[0], "leader") == 0) {
        if (n != 4 || !parse_long(a[2], 0, INT32_MAX, &v1) ||
            !parse_long(a[3], -1, INT32_MAX, &v2))
            return "usage: leader TOPIC PARTITION BROKER";
        rd_kafka_resp_err_t e =
            rd_kafka_mock_partition_set_leader(c->mc, a[1], (int32_t)v1, (int32_t)v2);
        return e ? rd_kafka_err2str(e) : NULL;
    }
    if (strcmp(a[0], "coordinator") == 0) {
        if (n != 4 || (strcmp(a[1], "group") != 0 && strcmp(a[1], "transaction") != 0) ||
            !parse_long(a[3], 0, INT32_MAX, &v1))
            return "usage: coordinator group|transaction KEY BROKER";
        rd_kafka_resp_err_t e = rd_kafka_mock_coordinator_set(c->mc, a[1], a[2], (int32_t)v1);
        return e ? rd_kafka_err2str(e) : NULL;
    }
    if (strcmp(a[0], "error-count") == 0) {
        size_t cnt = 0;
        if (n != 3 || !parse_long(a[1], 0, INT32_MAX, &v1) || !parse_apikey(a[2], &apikey))
            return "usage: error-count BROKER APIKEY";
        rd_kafka_resp_err_t e =
            rd_kafka_mock_broker_error_stack_cnt(c->mc, (int32_t)v1, apikey, &cnt);
        if (e)
            return rd_kafka_err2str(e);
        snprintf(detail, dsz, "%zu", cnt);
        return NULL;
    }
    if (strcmp(a[0], "clear-errors") == 0) {
        if (n != 2 || !parse_apikey(a[1], &apikey))
            return "usage: clear-errors APIKEY";
        rd_kafka_mock_clear_request_errors(c->mc, apikey);
        return NULL;
    }
    if (strcmp(a[0], "topic-error") == 0) {
        if (n != 3 || !parse_err(a[2], &err))
            return "usage: topic-error TOPIC ERR";
        rd_kafka_mock_topic_set_error(c->mc, a[1], err);
        return NULL;
    }
    return "unknown command";
}

static void handle_line(control *c, char *line)
{
    char *a[MAX_ARGS + 1];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == MAX_ARGS + 1) {
            reply(c, a[0], "error too many arguments");
            return;
        }
        a[n++] = t;
    }
    if (n == 0)
        return; /* blank line */
    if (n == 1) {
        reply(c, a[0], "error no command after the tag");
        return;
    }
    char detail[256] = "";
    const char *why = apply(c, a + 1, n - 1, detail, sizeof(detail));
    if (why)
        reply(c, a[0], "error %s", why);
    else
        reply(c, a[0], "ok%s%s", detail[0] ? " " : "", detail);
}

/* Read what is there and run every complete line. */
static void control_read(control *c)
{
    for (;;) {
        if (c->len == sizeof(c->buf) - 1) {
            fprintf(stderr, "mock_cluster: control line too long: dropped\n");
            c->len = 0;
        }
        ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        if (r <= 0)
            return; /* EAGAIN (nothing more), EINTR (a signal): back to poll */
        c->len += (size_t)r;
        c->buf[c->len] = '\0';
        char *start = c->buf, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = '\0';
            handle_line(c, start);
            start = nl + 1;
        }
        c->len -= (size_t)(start - c->buf);
        memmove(c->buf, start, c->len);
    }
}

static int control_open(control *c, const char *path)
{
    if (mkfifo(path, 0600) && errno != EEXIST) {
        perror("mock_cluster: mkfifo");
        return -1;
    }
    char ack[4096];
    snprintf(ack, sizeof(ack), "%s.ack", path);
    c->ack_fd = open(ack, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
    c->fd = open(path, O_RDWR | O_NONBLOCK);
    if (c->fd < 0 || c->ack_fd < 0) {
        perror("mock_cluster: control channel");
        return -1;
    }
    return 0;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *bootstrap_file = NULL, *control_path = NULL;
    int brokers = 1;
    const char *topics[64];
    int n_topics = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bootstrap-file") == 0 && i + 1 < argc)
            bootstrap_file = argv[++i];
        else if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            brokers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc && n_topics < 64)
            topics[n_topics++] = argv[++i];
        else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc)
            control_path = argv[++i];
        else {
            fprintf(stderr, "usage: mock_cluster --bootstrap-file F [--brokers N] "
                            "[--topic NAME:PARTITIONS]... [--control FIFO]\n");
            return 2;
        }
    }
    if (!bootstrap_file || brokers < 1)
        return 2;
    control ctl = {.fd = -1, .ack_fd = -1};
    if (control_path && control_open(&ctl, control_path))
        return 1;
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    /* AW_MOCK_DEBUG=mock (any librdkafka debug contexts): the cluster's own
     * log on stderr, e.g. which Produce requests it acknowledged without
     * writing them (duplicates of a producer's last five). */
    const char *debug = getenv("AW_MOCK_DEBUG");
    if (debug && *debug &&
        (rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
         rd_kafka_conf_set(conf, "log_level", "7", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)) {
        fprintf(stderr, "mock_cluster: AW_MOCK_DEBUG=%s: %s\n", debug, errstr);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "mock_cluster: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "mock_cluster: cannot create the cluster\n");
        return 1;
    }
    ctl.mc = mc;
    for (int i = 0; i < n_topics; i++) {
        char name[256];
        snprintf(name, sizeof(name), "%s", topics[i]);
        char *colon = strrchr(name, ':');
        int parts = 1;
        if (colon) {
            *colon = '\0';
            parts = atoi(colon + 1);
        }
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, 1);
        if (e) {
            fprintf(stderr, "mock_cluster: topic %s: %s\n", name, rd_kafka_err2str(e));
            return 1;
        }
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", bootstrap_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 || fclose(f) ||
        rename(tmp, bootstrap_file)) {
        perror("mock_cluster: bootstrap file");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!g_stop) {
        if (ctl.fd < 0) {
            pause();
            continue;
        }
        /* A signal interrupts poll (EINTR) and the loop sees g_stop. */
        struct pollfd p = {.fd = ctl.fd, .events = POLLIN};
        if (poll(&p, 1, 1000) > 0)
            control_read(&ctl);
    }
    if (ctl.fd >= 0)
        close(ctl.fd);
    if (ctl.ack_fd >= 0)
        close(ctl.ack_fd);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
