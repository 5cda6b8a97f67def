#include "bench/bench_kafka.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker/backend_options.h"

int64_t aw_bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench: %s=%s: %s\n", k, v, errstr);
        exit(1);
    }
}

rd_kafka_t *aw_bench_consumer_new(const char *brokers, const char *const *props)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", brokers);
    /* group.id is required by the consumer API even with manual assignment;
     * nothing is committed. */
    set(conf, "group.id", "aw-bench-reader");
    set(conf, "enable.auto.commit", "false");
    set(conf, "enable.partition.eof", "false");
    set(conf, "log_level", "3");
    for (size_t i = 0; props && props[i] && props[i + 1]; i += 2)
        set(conf, props[i], props[i + 1]);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "bench: consumer: %s\n", errstr);
        exit(1);
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

int aw_bench_assign_all(rd_kafka_t *rk, const char *const *topics)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(64);
    for (size_t t = 0; topics[t]; t++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        if (e || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "bench: metadata of %s: %s\n", topics[t],
                    rd_kafka_err2str(e ? e : md->topics[0].err));
            exit(1);
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t], md->topics[0].partitions[p].id)
                ->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    int n = parts->cnt;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        fprintf(stderr, "bench: assign: %s\n", rd_kafka_err2str(e));
        exit(1);
    }
    return n;
}

void aw_bench_open_state(const char *path, aw_config **cfg, aw_state **st)
{
    aw_error err;
    if (aw_config_load_file(path, cfg, &err) != AW_OK) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        exit(1);
    }
    aw_state_options so = aw_state_options_from_config(*cfg);
    if (aw_state_new((*cfg)->state.backend, &so, st, &err) != AW_OK) {
        fprintf(stderr, "state: %s\n", err.msg);
        exit(1);
    }
}

aw_state_session *aw_bench_state_session(aw_state *st)
{
    aw_error err;
    aw_state_session *s = NULL;
    if (aw_state_session_open(st, &s, &err) != AW_OK) {
        fprintf(stderr, "state session: %s\n", err.msg);
        exit(1);
    }
    return s;
}

int aw_bench_args_parse(int argc, char **argv, const char *prog, aw_bench_args *out)
{
    static const struct option opts[] = {{"run-id", required_argument, NULL, 'r'},
                                         {"server-pid", required_argument, NULL, 'p'},
                                         {"events", required_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "c:n:", opts, NULL)) != -1) {
        if (ch == 'c')
            out->config = optarg;
        else if (ch == 'n')
            out->n = atol(optarg);
        else if (ch == 'r')
            out->run_id = optarg;
        else if (ch == 'p')
            out->server_pid = atol(optarg);
        else if (ch == 'e')
            out->events = atol(optarg);
        else
            out->n = -1;
    }
    if (!out->config || out->n <= 0 || out->events < 0) {
        fprintf(stderr,
                "usage: %s -c WORKER_CONFIG -n N [--run-id ID] [--server-pid PID] [--events M]\n",
                prog);
        return 2;
    }
    return 0;
}

double aw_bench_proc_cpu_s(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may contain spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

rd_kafka_t *aw_bench_consume_topic(const char *brokers, const char *topic,
                                   const char *const *props)
{
    rd_kafka_t *rk = aw_bench_consumer_new(brokers, props);
    const char *topics[] = {topic, NULL};
    aw_bench_assign_all(rk, topics);
    return rk;
}

bool aw_bench_kafka_opt(int c, const char *arg, const char **brokers, const char **topic,
                        long *n)
{
    if (c == 'b')
        *brokers = arg;
    else if (c == 't')
        *topic = arg;
    else if (c == 'n')
        *n = atol(arg);
    else
        return false;
    return true;
}

void aw_bench_die(const char *prog, const char *what, const aw_error *err)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, err->msg);
    exit(1);
}
