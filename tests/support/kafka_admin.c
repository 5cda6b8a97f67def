/* Create topics on a Kafka broker with the Admin API and wait until every
 * partition has a leader, for the integration tests (a JVM-based topic tool
 * costs seconds per call; this costs milliseconds).
 *
 *   kafka_admin -b BOOTSTRAP [--check] [--timeout-ms MS] -t NAME:PARTITIONS...
 *
 * An existing topic counts as created (TOPIC_ALREADY_EXISTS is success), but
 * its partition count must match. With --check nothing is created: it only
 * waits for the topics to exist as asked (librdkafka's mock cluster has no
 * CreateTopics API; its topics are made when it starts). Exit 0 when every
 * topic is ready, 1 on error or time-out, 2 on usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define MAX_TOPICS 64

struct topic {
    char name[250];
    int partitions;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int parse_topic(const char *arg, struct topic *t)
{
    const char *colon = strrchr(arg, ':');
    size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
    if (len == 0 || len >= sizeof(t->name))
        return -1;
    memcpy(t->name, arg, len);
    t->name[len] = '\0';
    t->partitions = 1;
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p < 1 || p > 10000)
            return -1;
        t->partitions = (int)p;
    }
    return 0;
}

/* One CreateTopics round trip. Returns 0 when every topic exists now,
 * 1 when some failed with a retriable error, -1 on a permanent error. */
static int create_topics(rd_kafka_t *rk, const struct topic *topics, int n, int timeout_ms)
{
    char errstr[512];
    rd_kafka_NewTopic_t *nt[MAX_TOPICS];
    for (int i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(topics[i].name, topics[i].partitions, 1, errstr,
                                      sizeof(errstr));
        if (!nt[i]) {
            fprintf(stderr, "kafka_admin: %s: %s\n", topics[i].name, errstr);
            for (int j = 0; j < i; j++)
                rd_kafka_NewTopic_destroy(nt[j]);
            return -1;
        }
    }
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
    int rc = 0;
    if (!ev) {
        fprintf(stderr, "kafka_admin: no CreateTopics result within %d ms\n", timeout_ms + 5000);
        rc = 1;
    } else if (rd_kafka_event_error(ev)) {
        rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
        fprintf(stderr, "kafka_admin: CreateTopics: %s\n", rd_kafka_event_error_string(ev));
        rc = (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT) ? 1 : -1;
    } else {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                continue;
            const char *msg = rd_kafka_topic_result_error_string(tr[i]);
            fprintf(stderr, "kafka_admin: %s: %s\n", rd_kafka_topic_result_name(tr[i]),
                    msg ? msg : rd_kafka_err2str(e));
            if (e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || e == RD_KAFKA_RESP_ERR_NOT_CONTROLLER ||
                e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT) {
                if (rc == 0)
                    rc = 1;
            } else {
                rc = -1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    for (int i = 0; i < n; i++)
        rd_kafka_NewTopic_destroy(nt[i]);
    return rc;
}

/* Returns 0 when every topic exists with its partition count and every
 * partition has a leader, 1 when not yet, -1 when a topic exists with a
 * different partition count. */
static int topics_ready(rd_kafka_t *rk, const struct topic *topics, int n, int timeout_ms,
                        int verbose)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (e) {
        if (verbose)
            fprintf(stderr, "kafka_admin: metadata: %s\n", rd_kafka_err2str(e));
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc >= 0; i++) {
        const rd_kafka_metadata_topic_t *mt = NULL;
        for (int j = 0; j < md->topic_cnt; j++)
            if (strcmp(md->topics[j].topic, topics[i].name) == 0)
                mt = &md->topics[j];
        if (!mt || mt->err || mt->partition_cnt == 0) {
            if (verbose)
                fprintf(stderr, "kafka_admin: %s: %s\n", topics[i].name,
                        mt ? rd_kafka_err2str(mt->err) : "not in metadata");
            rc = 1;
            continue;
        }
        if (mt->partition_cnt != topics[i].partitions) {
            fprintf(stderr, "kafka_admin: %s has %d partitions, want %d\n", topics[i].name,
                    mt->partition_cnt, topics[i].partitions);
            rc = -1;
            break;
        }
        for (int p = 0; p < mt->partition_cnt; p++) {
            if (mt->partitions[p].err || mt->partitions[p].leader < 0) {
                if (verbose)
                    fprintf(stderr, "kafka_admin: %s[%d]: no leader yet\n", topics[i].name,
                            mt->partitions[p].id);
                rc = 1;
                break;
            }
        }
    }
    rd_kafka_metadata_destroy(md);
    return rc;
}

int main(int argc, char **argv)
{
    const char *brokers = NULL;
    int check_only = 0;
    int timeout_ms = 30000;
    struct topic topics[MAX_TOPICS];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
            brokers = argv[++i];
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc && n < MAX_TOPICS) {
            if (parse_topic(argv[++i], &topics[n]) != 0) {
                fprintf(stderr, "kafka_admin: bad topic spec '%s' (NAME:PARTITIONS)\n", argv[i]);
                return 2;
            }
            n++;
        } else if (strcmp(argv[i], "--check") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
            timeout_ms = atoi(argv[++i]);
        } else {
            n = 0;
            break;
        }
    }
    if (!brokers || n == 0 || timeout_ms < 1000) {
        fprintf(stderr, "usage: kafka_admin -b BOOTSTRAP [--check] [--timeout-ms MS] "
                        "-t NAME:PARTITIONS...\n");
        return 2;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        fprintf(stderr, "kafka_admin: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kafka_admin: %s\n", errstr);
        return 1;
    }
    long long deadline = now_ms() + timeout_ms;
    int rc = 1;
    if (!check_only) {
        while ((rc = create_topics(rk, topics, n, timeout_ms)) > 0 && now_ms() < deadline)
            sleep_ms(200);
    } else {
        rc = 0;
    }
    if (rc == 0) {
        /* Created (or already there): wait for every partition's leader to be
         * known through metadata, as the worker and kcat will need it. */
        while ((rc = topics_ready(rk, topics, n, 5000, 0)) > 0 && now_ms() < deadline)
            sleep_ms(100);
        if (rc > 0)
            topics_ready(rk, topics, n, 5000, 1); /* say what is missing */
    }
    rd_kafka_destroy(rk);
    if (rc != 0) {
        fprintf(stderr, "kafka_admin: topics not ready%s\n", rc > 0 ? " before the deadline" : "");
        return 1;
    }
    for (int i = 0; i < n; i++)
        printf("%s %d\n", topics[i].name, topics[i].partitions);
    return 0;
}
