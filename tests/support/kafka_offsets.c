/* Print a consumer group's committed offset and the high watermark of every
 * partition of a topic, one line each: "<partition> <committed> <high>".
 * A committed offset of -1001 means none. Used by integration tests to
 * assert "committed at the end of every partition".
 *
 *   kafka_offsets -b BOOTSTRAP -g GROUP -t TOPIC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

int main(int argc, char **argv)
{
    const char *brokers = NULL, *group = NULL, *topic = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-b") == 0)
            brokers = argv[i + 1];
        else if (strcmp(argv[i], "-g") == 0)
            group = argv[i + 1];
        else if (strcmp(argv[i], "-t") == 0)
            topic = argv[i + 1];
    }
    if (!brokers || !group || !topic) {
        fprintf(stderr, "usage: kafka_offsets -b BOOTSTRAP -g GROUP -t TOPIC\n");
        return 2;
    }
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr))) {
        fprintf(stderr, "kafka_offsets: %s\n", errstr);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kafka_offsets: %s\n", errstr);
        return 1;
    }
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "kafka_offsets: metadata: %s\n",
                rd_kafka_err2str(e ? e : md->topics[0].err));
        return 1;
    }
    int n = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++)
        rd_kafka_topic_partition_list_add(list, topic, md->topics[0].partitions[p].id);
    e = rd_kafka_committed(rk, list, 10000);
    if (e) {
        fprintf(stderr, "kafka_offsets: committed: %s\n", rd_kafka_err2str(e));
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < list->cnt; i++) {
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(rk, topic, list->elems[i].partition, &lo, &hi, 10000);
        if (e) {
            fprintf(stderr, "kafka_offsets: watermarks: %s\n", rd_kafka_err2str(e));
            rc = 1;
            continue;
        }
        printf("%d %lld %lld\n", list->elems[i].partition, (long long)list->elems[i].offset,
               (long long)hi);
    }
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return rc;
}
