#include "ingest/kafka_conf.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

aw_status aw_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                            aw_error *err)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        return aw_error_set(err, AW_CONFIG, "kafka property %s: %s", key, errstr);
    return AW_OK;
}

/* Consumer-only properties librdkafka would warn about on a producer. */
static bool consumer_only(const char *key)
{
    static const char *const prefixes[] = {
        "group.", "session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy",
        "max.poll.interval.ms", "enable.auto.", "auto.commit.", "auto.offset.reset",
        "fetch.", "queued.", "isolation.level", "check.crcs", "enable.partition.eof",
        "coordinator.query.interval.ms", "consume.callback.max.messages",
        "allow.auto.create.topics", "offset.store.",
    };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

aw_status aw_kafka_conf_apply(rd_kafka_conf_t *conf, char *const *props, size_t n,
                              aw_kafka_role role, aw_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(props[i], '=');
        if (!eq || eq == props[i])
            return aw_error_set(err, AW_CONFIG, "kafka.properties[%zu]: expected key=value", i);
        char key[256];
        size_t kl = (size_t)(eq - props[i]);
        if (kl >= sizeof(key))
            return aw_error_set(err, AW_CONFIG, "kafka.properties[%zu]: key too long", i);
        memcpy(key, props[i], kl);
        key[kl] = '\0';
        const char *k = key;
        if (strncmp(k, "consumer.", 9) == 0) {
            if (role != AW_KAFKA_CONSUMER)
                continue;
            k += 9;
        } else if (strncmp(k, "producer.", 9) == 0) {
            if (role != AW_KAFKA_PRODUCER)
                continue;
            k += 9;
        } else if (role == AW_KAFKA_PRODUCER && consumer_only(k)) {
            continue;
        }
        aw_status rc = aw_kafka_conf_set(conf, k, eq + 1, err);
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

struct aw_embedded_kafka {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
};

aw_status aw_embedded_kafka_start(int brokers, aw_embedded_kafka **out, aw_error *err)
{
    *out = NULL;
    aw_embedded_kafka *ek = calloc(1, sizeof(*ek));
    if (!ek)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only hosts the cluster; silence its own logging. */
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    ek->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!ek->rk) {
        rd_kafka_conf_destroy(conf);
        free(ek);
        return aw_error_set(err, AW_INTERNAL, "embedded kafka: %s", errstr);
    }
    ek->mc = rd_kafka_mock_cluster_new(ek->rk, brokers);
    if (!ek->mc) {
        rd_kafka_destroy(ek->rk);
        free(ek);
        return aw_error_set(err, AW_INTERNAL, "embedded kafka: cannot create mock cluster");
    }
    *out = ek;
    return AW_OK;
}

aw_status aw_embedded_kafka_create_topic(aw_embedded_kafka *ek, const char *topic,
                                         int partitions, aw_error *err)
{
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(ek->mc, topic, partitions, 1);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        return aw_error_set(err, AW_INTERNAL, "embedded kafka: create topic %s: %s", topic,
                            rd_kafka_err2str(e));
    return AW_OK;
}

const char *aw_embedded_kafka_bootstraps(const aw_embedded_kafka *ek)
{
    return rd_kafka_mock_cluster_bootstraps(ek->mc);
}

void aw_embedded_kafka_stop(aw_embedded_kafka *ek)
{
    if (!ek)
        return;
    rd_kafka_mock_cluster_destroy(ek->mc);
    rd_kafka_destroy(ek->rk);
    free(ek);
}

aw_log_level aw_kafka_log_level(int syslog_level, aw_log_level notice_and_info)
{
    if (syslog_level <= 3)
        return AW_LOG_ERROR;
    if (syslog_level <= 4)
        return AW_LOG_WARN;
    return syslog_level <= 6 ? notice_and_info : AW_LOG_DEBUG;
}
