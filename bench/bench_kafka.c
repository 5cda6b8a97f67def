#include "bench/bench_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

rd_kafka_t *aw_bench_consumer_new(const char *brokers)
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
