/* librdkafka configuration helpers and the embedded mock cluster. */
#ifndef AW_KAFKA_CONF_H
#define AW_KAFKA_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "common/aw_error.h"
#include "common/aw_log.h"

typedef enum aw_kafka_role { AW_KAFKA_CONSUMER, AW_KAFKA_PRODUCER } aw_kafka_role;

/* Apply the user's "key=value" properties to a client of the given role,
 * as librdkafka would read them from a file. Keys prefixed "consumer." or
 * "producer." apply to that role only (prefix removed); well-known
 * consumer-only keys (group.*, session.timeout.ms, fetch.*, ...) are not
 * given to the producer, so both clients start without warnings. Everything
 * else (TLS, SASL, client tuning) reaches both unchanged.
 * Error AW_CONFIG names the property and librdkafka's complaint. */
aw_status aw_kafka_conf_apply(rd_kafka_conf_t *conf, char *const *props, size_t n,
                              aw_kafka_role role, aw_error *err);

/* Set one property; AW_CONFIG naming it on failure. */
aw_status aw_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                            aw_error *err);

/* Our log level for a librdkafka log line. librdkafka's levels are syslog's
 * (0 emergency .. 7 debug): up to 3 is an error, 4 a warning, 7 debug.
 * Notice and info (5, 6) become `notice_and_info`: the consumer shows its
 * group and rebalance notices (AW_LOG_INFO), which an operator follows; the
 * producer's are chatter about connections (AW_LOG_DEBUG). Any thread. */
aw_log_level aw_kafka_log_level(int syslog_level, aw_log_level notice_and_info);

/* An in-process Kafka-protocol mock cluster (librdkafka's), for `dev` and
 * tests. Owns a private rd_kafka_t that keeps the cluster alive. */
typedef struct aw_embedded_kafka aw_embedded_kafka;

aw_status aw_embedded_kafka_start(int brokers, aw_embedded_kafka **out, aw_error *err);
/* Create a topic (idempotent: an existing topic is fine). */
aw_status aw_embedded_kafka_create_topic(aw_embedded_kafka *ek, const char *topic,
                                         int partitions, aw_error *err);
/* "127.0.0.1:port,..." owned by ek. */
const char *aw_embedded_kafka_bootstraps(const aw_embedded_kafka *ek);
void aw_embedded_kafka_stop(aw_embedded_kafka *ek);

#endif
